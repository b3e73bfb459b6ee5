#include "trend/floors.h"

#include <algorithm>
#include <cmath>

namespace leakwatch::trend {

FloorTracker::FloorTracker(double window_seconds) : window_(window_seconds) {}

std::optional<Floor> FloorTracker::Add(double t, double value) {
  const int64_t bucket = static_cast<int64_t>(std::floor(t / window_));
  if (!open_) {
    open_ = true;
    bucket_ = bucket;
    min_ = value;
    return std::nullopt;
  }
  if (bucket <= bucket_) {
    min_ = std::min(min_, value);
    return std::nullopt;
  }
  const Floor closed{static_cast<double>(bucket_) * window_, min_};
  bucket_ = bucket;
  min_ = value;
  return closed;
}

void FloorTracker::Reset() { open_ = false; }

}  // namespace leakwatch::trend
