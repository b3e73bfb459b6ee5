#include "trend/floors.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace leakwatch::trend {

FloorTracker::FloorTracker(double window_seconds, int parts)
    : window_(window_seconds), slice_(parts > 0 ? window_seconds / parts : 0) {}

void FloorTracker::CloseSlice() {
  if (count_ > 0) min_ = std::min(min_, sum_ / static_cast<double>(count_));
  sum_ = 0;
  count_ = 0;
}

std::optional<Floor> FloorTracker::Add(double t, double value) {
  const int64_t bucket = static_cast<int64_t>(std::floor(t / window_));
  std::optional<Floor> closed;
  if (open_ && bucket > bucket_) {
    if (slice_ > 0) CloseSlice();
    closed = Floor{static_cast<double>(bucket_) * window_, min_};
    open_ = false;
  }
  if (!open_) {
    open_ = true;
    bucket_ = bucket;
    min_ = std::numeric_limits<double>::infinity();
    sum_ = 0;
    count_ = 0;
    slice_index_ = slice_ > 0 ? static_cast<int64_t>(std::floor(t / slice_)) : 0;
  }
  if (slice_ > 0) {
    // A sample older than the open slice is folded into it.
    const int64_t slice = std::max(slice_index_, static_cast<int64_t>(std::floor(t / slice_)));
    if (slice != slice_index_) {
      CloseSlice();
      slice_index_ = slice;
    }
    sum_ += value;
    ++count_;
  } else {
    min_ = std::min(min_, value);
  }
  return closed;
}

void FloorTracker::Reset() { open_ = false; }

}  // namespace leakwatch::trend
