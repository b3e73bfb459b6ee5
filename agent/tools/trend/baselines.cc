#include "baselines.h"

#include <algorithm>

namespace leakwatch::trendtool {
namespace {

constexpr double kMinute = 60;
constexpr double kHour = 3600;

}  // namespace

void SlidingRegression::Add(double t, double v) {
  if (!have_origin_) {
    origin_ = t;
    have_origin_ = true;
  }
  const double x = t - origin_;
  points_.emplace_back(x, v);
  st_ += x;
  sv_ += v;
  stt_ += x * x;
  stv_ += x * v;
  while (!points_.empty() && points_.front().first <= x - window_) {
    const auto [ox, ov] = points_.front();
    st_ -= ox;
    sv_ -= ov;
    stt_ -= ox * ox;
    stv_ -= ox * ov;
    points_.pop_front();
  }
  // Running sums drift with non-integer data; start afresh now and then.
  if (++updates_ % 256 == 0) Recompute();
}

void SlidingRegression::Recompute() {
  st_ = sv_ = stt_ = stv_ = 0;
  for (const auto& [x, v] : points_) {
    st_ += x;
    sv_ += v;
    stt_ += x * x;
    stv_ += x * v;
  }
}

double SlidingRegression::Slope() const {
  const double n = static_cast<double>(points_.size());
  if (n < 2) return 0;
  const double denominator = n * stt_ - st_ * st_;
  if (denominator <= 0) return 0;
  return (n * stv_ - st_ * sv_) / denominator;
}

double SlidingRegression::Mean() const {
  return points_.empty() ? 0 : sv_ / static_cast<double>(points_.size());
}

void SlidingMin::Add(double t, double v) {
  while (!mins_.empty() && mins_.back().second >= v) mins_.pop_back();
  mins_.emplace_back(t, v);
  Expire(t);
}

void SlidingMin::Expire(double t) {
  while (!mins_.empty() && mins_.front().first <= t - window_) mins_.pop_front();
}

bool ForClause::Update(double t, bool condition) {
  if (!condition) {
    pending_ = false;
    return false;
  }
  if (!pending_) {
    pending_ = true;
    since_ = t;
  }
  return t - since_ >= hold_;
}

OlsBaseline::OlsBaseline(double horizon_seconds, double min_growth, double min_growth_ratio)
    : regression_(kHour),
      horizon_(horizon_seconds),
      min_growth_(min_growth),
      min_growth_ratio_(min_growth_ratio),
      for_(kHour) {}

bool OlsBaseline::Add(double t, double value, double /*process_start*/) {
  regression_.Add(t, value);
  const bool condition =
      regression_.size() >= 2 && regression_.Slope() * horizon_ >
                                     std::max(min_growth_, min_growth_ratio_ * regression_.Mean());
  return for_.Update(t, condition);
}

PromqlFallbackBaseline::PromqlFallbackBaseline()
    : raw_min15m_(15 * kMinute), recent_(kHour), offset_(kHour), deriv_(6 * kHour), for_(kHour) {}

bool PromqlFallbackBaseline::Add(double t, double value, double process_start) {
  if (have_process_start_ && process_start != process_start_) last_change_ = t;
  process_start_ = process_start;
  have_process_start_ = true;

  // Recording rule: min15m = min_over_time(v[15m]).
  raw_min15m_.Add(t, value);
  const double min15m = raw_min15m_.Min();
  recorded_.emplace_back(t, min15m);
  recent_.Add(t, min15m);
  deriv_.Add(t, min15m);

  // The offset window (t-7h, t-6h] of the recorded series.
  while (offset_inserted_ < recorded_.size() &&
         recorded_[offset_inserted_].first <= t - 6 * kHour) {
    offset_.Add(recorded_[offset_inserted_].first, recorded_[offset_inserted_].second);
    ++offset_inserted_;
  }
  offset_.Expire(t - 6 * kHour);
  while (!recorded_.empty() && recorded_.front().first <= t - 7 * kHour) {
    recorded_.pop_front();
    if (offset_inserted_ > 0) --offset_inserted_;
  }

  const bool has_offset = !offset_.empty();
  const bool risen = has_offset && recent_.Min() - offset_.Min() > 20;
  const bool rising = deriv_.size() >= 2 && deriv_.Slope() > 0;
  const bool no_restart = t - last_change_ > 7 * kHour;
  return for_.Update(t, risen && rising && no_restart);
}

}  // namespace leakwatch::trendtool
