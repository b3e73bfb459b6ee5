// Object files the symbolizer keeps open, after fork().
//
// absl::Symbolize keeps the program's object files (the executable, shared
// libraries) open between calls and reads them with lseek() then read(). A fork
// child inherits those descriptors sharing their file offsets with the parent,
// so a child that symbolizes while its parent does moves the parent's offsets
// under it: one of them reads the wrong bytes, and absl aborts the process.
// Before its first symbolization, a process other than the one that symbolized
// last gives itself open files of its own (symbolize.cc calls this).
//
// Thread-safety: symbolize.cc serializes calls with its mutex, but nothing stops the host's threads
// from reading, closing or reusing a descriptor while it is checked and replaced (dup3).

#ifndef LEAKWATCH_CORE_SYMBOLIZER_FILES_H_
#define LEAKWATCH_CORE_SYMBOLIZER_FILES_H_

namespace leakwatch::core {

// Reopens, at the same descriptor number and with the same flags and offset,
// every descriptor of a regular file opened read-only that is also mapped into
// the process (/proc/self/maps): the files a symbolizer reads. Other
// descriptors are left alone. Best effort: a descriptor that cannot be reopened
// stays as it is. Returns how many were reopened, or -1 if /proc is unreadable.
int ReopenInheritedObjectFiles() noexcept;

}  // namespace leakwatch::core

#endif  // LEAKWATCH_CORE_SYMBOLIZER_FILES_H_
