// The table of interned task kinds. Kinds are few (label values of
// leakwatch_tasks{kind}); ids are small integers used to index per-thread
// counter arrays, so the table has a fixed capacity.

#ifndef LEAKWATCH_CORE_KINDS_H_
#define LEAKWATCH_CORE_KINDS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace leakwatch::core {

inline constexpr int kMaxKinds = 64;
inline constexpr size_t kMaxKindNameBytes = 64;
inline constexpr uint16_t kThreadKind = 0;  // "thread"
inline constexpr uint16_t kOtherKind = 1;   // "other": kinds beyond the cap

// Returns the id of `name`, interning it first. Lock-free when already interned.
uint16_t InternKind(std::string_view name) noexcept;

// Number of kinds interned so far (ids are 0..KindCount()-1).
int KindCount() noexcept;

// Name of an interned kind.
std::string KindName(uint16_t id);

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_KINDS_H_
