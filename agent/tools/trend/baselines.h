// tools/trend/baselines.h — the alert rules leakwatch's detector is scored
// against by `leakwatch-trend --eval`, evaluated in C++ over the same series.
//
// Each is fed every row (t, value, process_start) like a Prometheus rule
// evaluated once per sample, and answers "firing?" after that row.
//
//  * OlsBaseline — baseline (a), the predict_linear/deriv style used by the
//    node and kubernetes mixins, applied to the raw value:
//      predict_linear(v[1h], 6h) - v > max(min_growth, min_growth_ratio * avg_over_time(v[1h]))
//      for: 1h
//    (the 6h horizon and thresholds are the detector's trend_window and growth
//    keys, so both sides are asked the same question).
//  * PromqlFallbackBaseline — baseline (b), the floor-offset rule of
//    research/C_ops_anchors.md §5 step 8 that alerts/ ships:
//      (min_over_time(min15m[1h]) - min_over_time(min15m[1h] offset 6h) > 20)
//      and deriv(min15m[6h]) > 0 and changes(process_start_time_seconds[7h]) == 0
//      for: 1h
//    where min15m = min_over_time(v[15m]) recorded at every evaluation.
//
// Not thread-safe; one object per series.

#ifndef LEAKWATCH_TOOLS_TREND_BASELINES_H_
#define LEAKWATCH_TOOLS_TREND_BASELINES_H_

#include <cstddef>
#include <deque>
#include <utility>

namespace leakwatch::trendtool {

// Least-squares slope over a sliding time window, with O(1) updates.
class SlidingRegression {
 public:
  explicit SlidingRegression(double window_seconds) : window_(window_seconds) {}
  void Add(double t, double v);
  // Points in (t_last - window, t_last].
  int size() const { return static_cast<int>(points_.size()); }
  double Slope() const;  // per second; 0 with fewer than two distinct times
  double Mean() const;

 private:
  void Recompute();
  double window_;
  double origin_ = 0;
  bool have_origin_ = false;
  std::deque<std::pair<double, double>> points_;  // (t - origin, v)
  double st_ = 0, sv_ = 0, stt_ = 0, stv_ = 0;
  int updates_ = 0;
};

// Minimum over a sliding time window (t - window, t], O(1) amortized.
class SlidingMin {
 public:
  explicit SlidingMin(double window_seconds) : window_(window_seconds) {}
  void Add(double t, double v);
  // Drops points at or before `t - window`; call before Min() at time t.
  void Expire(double t);
  bool empty() const { return mins_.empty(); }
  double Min() const { return mins_.front().second; }

 private:
  double window_;
  std::deque<std::pair<double, double>> mins_;  // increasing values
};

// "for:" semantics: fires once the condition has held continuously for `hold`.
class ForClause {
 public:
  explicit ForClause(double hold_seconds) : hold_(hold_seconds) {}
  bool Update(double t, bool condition);

 private:
  double hold_;
  bool pending_ = false;
  double since_ = 0;
};

class OlsBaseline {
 public:
  OlsBaseline(double horizon_seconds, double min_growth, double min_growth_ratio);
  bool Add(double t, double value, double process_start);

 private:
  SlidingRegression regression_;
  double horizon_;
  double min_growth_;
  double min_growth_ratio_;
  ForClause for_;
};

class PromqlFallbackBaseline {
 public:
  PromqlFallbackBaseline();
  bool Add(double t, double value, double process_start);

 private:
  SlidingMin raw_min15m_;                           // min_over_time(v[15m])
  SlidingMin recent_;                               // min_over_time(min15m[1h])
  std::deque<std::pair<double, double>> recorded_;  // min15m over the last 7h
  size_t offset_inserted_ = 0;                      // recorded_ points already in offset_
  SlidingMin offset_;                               // min_over_time(min15m[1h] offset 6h)
  SlidingRegression deriv_;                         // deriv(min15m[6h])
  double process_start_ = 0;
  bool have_process_start_ = false;
  double last_change_ = -1e300;  // time process_start last changed
  ForClause for_;
};

}  // namespace leakwatch::trendtool

#endif  // LEAKWATCH_TOOLS_TREND_BASELINES_H_
