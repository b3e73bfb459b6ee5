// trend/floors.h — per-bucket minima ("floors") of a sampled series.
//
// The detector never looks at raw samples: it looks at the minimum of each
// `floor_window` bucket. A burst shorter than a bucket, or a queue that drains at
// least once per bucket, leaves no trace in the floors, while tasks that never
// finish raise every floor after them.
//
//   leakwatch::trend::FloorTracker floors(/*window_seconds=*/900);
//   if (std::optional<leakwatch::trend::Floor> f = floors.Add(t, value)) Use(*f);
//
// Buckets are aligned to multiples of the window on the absolute time axis, so
// series sampled together close their buckets together. A bucket closes when the
// first sample of a later bucket arrives; buckets without samples yield no floor.
// A FloorTracker is a small value; not thread-safe (one per series).

#ifndef LEAKWATCH_TREND_FLOORS_H_
#define LEAKWATCH_TREND_FLOORS_H_

#include <cstdint>
#include <optional>

namespace leakwatch::trend {

// The minimum of one bucket.
struct Floor {
  double start = 0;  // start time of the bucket, seconds
  double value = 0;  // minimum of the samples in [start, start + window)
};

class FloorTracker {
 public:
  // `window_seconds` must be positive.
  explicit FloorTracker(double window_seconds);

  // Adds a sample. Returns the floor of the previous bucket when `t` is the first
  // sample of a later bucket, and nothing otherwise. Samples are expected in
  // increasing time; a sample older than the open bucket is folded into it.
  std::optional<Floor> Add(double t, double value);

  // Forgets the open bucket (after a process restart).
  void Reset();

  double window_seconds() const { return window_; }

 private:
  double window_;
  bool open_ = false;
  int64_t bucket_ = 0;
  double min_ = 0;
};

}  // namespace leakwatch::trend

#endif  // LEAKWATCH_TREND_FLOORS_H_
