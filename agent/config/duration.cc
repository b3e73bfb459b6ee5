#include "duration.h"

#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "quote.h"

namespace leakwatch::config {
namespace {

struct Unit {
  absl::string_view name;
  absl::Duration length;
};

constexpr absl::string_view kMicroSign = "\xC2\xB5s";  // µs (U+00B5)
constexpr absl::string_view kMuSign = "\xCE\xBCs";     // μs (U+03BC)

// The unit `text` starts with; the longest name wins, so "ms" is not read as
// "m" followed by junk.
const Unit* FindUnit(absl::string_view text, size_t* length) {
  static const Unit kUnits[] = {
      {"ns", absl::Nanoseconds(1)},
      {"us", absl::Microseconds(1)},
      {kMicroSign, absl::Microseconds(1)},
      {kMuSign, absl::Microseconds(1)},
      {"ms", absl::Milliseconds(1)},
      {"s", absl::Seconds(1)},
      {"m", absl::Minutes(1)},
      {"h", absl::Hours(1)},
      {"d", absl::Hours(24)},
  };
  const Unit* best = nullptr;
  for (const Unit& unit : kUnits) {
    if (absl::StartsWith(text, unit.name) &&
        (best == nullptr || unit.name.size() > best->name.size())) {
      best = &unit;
    }
  }
  if (best != nullptr) *length = best->name.size();
  return best;
}

absl::Status NotADuration(absl::string_view text) {
  return absl::InvalidArgumentError(
      absl::StrCat(Quote(text), " is not a duration (use 500ms, 15s, 2m, 1h)"));
}

absl::Status TooLarge(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat(Quote(text), " is too large a duration"));
}

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("the duration is empty (use 500ms, 15s, 2m, 1h)");
  }
  if (text.front() == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat(Quote(text), " is negative; durations must not be"));
  }
  bool only_number = true;
  bool has_digit = false;
  for (char c : text) {
    only_number = only_number && (absl::ascii_isdigit(c) || c == '.');
    has_digit = has_digit || absl::ascii_isdigit(c);
  }
  if (only_number && has_digit) {
    return absl::InvalidArgumentError(absl::StrCat(Quote(text), " has no unit (use ", text, "s, ",
                                                   text, "ms, ", text, "m, ...)"));
  }

  // Each component is digits[.digits] followed by a unit, as in Go's
  // time.ParseDuration; the fraction is kept to nanosecond precision.
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    int64_t whole = 0;
    size_t whole_digits = 0;
    for (; i < text.size() && absl::ascii_isdigit(text[i]); ++i, ++whole_digits) {
      if (whole_digits >= 18) return TooLarge(text);  // keeps `whole` below 1e18
      whole = whole * 10 + (text[i] - '0');
    }
    int64_t fraction = 0;
    double fraction_scale = 1;
    size_t fraction_digits = 0;
    if (i < text.size() && text[i] == '.') {
      for (++i; i < text.size() && absl::ascii_isdigit(text[i]); ++i, ++fraction_digits) {
        if (fraction_digits >= 18) continue;  // beyond any clock's precision
        fraction = fraction * 10 + (text[i] - '0');
        fraction_scale *= 10;
      }
    }
    if (whole_digits == 0 && fraction_digits == 0) return NotADuration(text);
    size_t unit_length = 0;
    const Unit* unit = FindUnit(text.substr(i), &unit_length);
    if (unit == nullptr) return NotADuration(text);
    i += unit_length;

    const double unit_nanos = absl::ToDoubleNanoseconds(unit->length);
    total += unit->length * whole;
    total += absl::Nanoseconds(
        std::llround(static_cast<double>(fraction) * unit_nanos / fraction_scale));
    // absl::Duration saturates at +infinity rather than wrapping.
    if (total == absl::InfiniteDuration()) return TooLarge(text);
  }
  return total;
}

std::string DurationText(absl::Duration d) {
  if (d == absl::ZeroDuration()) return "0s";
  const absl::Duration day = absl::Hours(24);
  absl::Duration remainder;
  const int64_t days = absl::IDivDuration(d, day, &remainder);
  if (days > 0 && remainder == absl::ZeroDuration()) return absl::StrCat(days, "d");
  return absl::FormatDuration(d);
}

}  // namespace leakwatch::config
