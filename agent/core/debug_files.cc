#include "core/debug_files.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace leakwatch::core {
namespace {

// libdwfl's default search path (DebugInfoSearchPath without extra directories).
constexpr char kDefaultSearchPath[] = ":.debug:/usr/lib/debug";

std::vector<std::string> SplitSearchPath(const char* path) {
  if (path == nullptr) path = kDefaultSearchPath;
  std::vector<std::string> entries;
  const char* start = path;
  for (const char* p = path;; ++p) {
    if (*p != ':' && *p != '\0') continue;
    std::string entry(start, p);
    // libdwfl's "+DIR"/"-DIR" (always/never check the CRC): the checks here
    // do not depend on the entry.
    if (!entry.empty() && (entry[0] == '+' || entry[0] == '-')) entry.erase(0, 1);
    entries.push_back(std::move(entry));
    if (*p == '\0') break;
    start = p + 1;
  }
  return entries;
}

// The directory part of `path` ("." for a bare name).
std::string DirName(const char* path) {
  const char* slash = std::strrchr(path, '/');
  if (slash == nullptr) return ".";
  if (slash == path) return "/";
  return std::string(path, slash);
}

std::string Hex(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", c);
    out += byte;
  }
  return out;
}

// The build-id note of the ELF file open on `fd`, as raw bytes; "" if none.
std::string BuildIdOfFile(int fd) {
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  if (elf == nullptr) return "";
  const void* bits = nullptr;
  const ssize_t n = dwelf_elf_gnu_build_id(elf, &bits);
  std::string id = n > 0 ? std::string(static_cast<const char*>(bits), static_cast<size_t>(n)) : "";
  elf_end(elf);
  return id;
}

// The CRC-32 GNU .gnu_debuglink carries (zlib's): of the whole file.
bool CrcOfFile(int fd, uint32_t* crc) {
  uLong sum = crc32(0, nullptr, 0);
  unsigned char buffer[64 * 1024];
  off_t at = 0;
  for (;;) {
    const ssize_t n = pread(fd, buffer, sizeof buffer, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    sum = crc32(sum, buffer, static_cast<uInt>(n));
    at += n;
  }
  *crc = static_cast<uint32_t>(sum);
  return true;
}

bool SameFile(const std::string& path, const char* other) {
  struct stat a;
  struct stat b;
  return other != nullptr && stat(path.c_str(), &a) == 0 && stat(other, &b) == 0 &&
         a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// What makes a candidate the right file.
struct Wanted {
  std::string build_id;            // raw bytes; "" when the module has none
  bool check_crc = false;          // a debuglink's CRC is known
  uint32_t crc = 0;                //   and is this
  const char* not_this = nullptr;  // the module's own file
};

// Opens `path` if it is the file `wanted` describes: the same build-id when
// both have one, else the debuglink's CRC. -1 otherwise.
int OpenIfWanted(const std::string& path, const Wanted& wanted, char** name_out) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  bool right = false;
  if (!SameFile(path, wanted.not_this)) {
    const std::string id = BuildIdOfFile(fd);
    uint32_t crc = 0;
    if (!wanted.build_id.empty() && !id.empty()) {
      right = id == wanted.build_id;
    } else if (wanted.check_crc) {
      right = CrcOfFile(fd, &crc) && crc == wanted.crc;
    }
  }
  if (!right) {
    close(fd);
    return -1;
  }
  *name_out = strdup(path.c_str());
  return fd;
}

// The .gnu_debugaltlink of the ELF file `path` if it names `altname`: its
// build-id bytes in *alt_build_id.
bool AltLinkNames(const char* path, const char* altname, std::string* alt_build_id) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool names = false;
  if (Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr); elf != nullptr) {
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) == 0) {
      for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn != nullptr; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        if (gelf_getshdr(scn, &shdr) == nullptr) continue;
        const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
        if (name == nullptr || std::strcmp(name, ".gnu_debugaltlink") != 0) continue;
        Elf_Data* data = elf_getdata(scn, nullptr);
        if (data == nullptr || data->d_buf == nullptr) break;
        const char* bytes = static_cast<const char*>(data->d_buf);
        const size_t len = strnlen(bytes, data->d_size);
        if (len < data->d_size && std::strcmp(bytes, altname) == 0) {
          alt_build_id->assign(bytes + len + 1, data->d_size - len - 1);
          names = !alt_build_id->empty();
        }
        break;
      }
    }
    elf_end(elf);
  }
  close(fd);
  return names;
}

// DIR/.build-id/xx/yyyy.debug for each absolute DIR.
int FindByBuildId(const std::vector<std::string>& entries, const Wanted& wanted, char** name_out) {
  if (wanted.build_id.size() < 2) return -1;
  const std::string hex = Hex(wanted.build_id);
  for (const std::string& entry : entries) {
    if (entry.empty() || entry[0] != '/') continue;
    const std::string path =
        entry + "/.build-id/" + hex.substr(0, 2) + "/" + hex.substr(2) + ".debug";
    if (const int fd = OpenIfWanted(path, wanted, name_out); fd >= 0) return fd;
  }
  return -1;
}

int FindModuleDebugFile(Dwfl_Module* mod, const std::vector<std::string>& entries,
                        const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                        char** name_out) {
  Wanted wanted;
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  if (const int n = dwfl_module_build_id(mod, &bits, &vaddr); n > 0) {
    wanted.build_id.assign(reinterpret_cast<const char*>(bits), static_cast<size_t>(n));
  }
  wanted.check_crc = debuglink_file != nullptr;
  wanted.crc = debuglink_crc;
  wanted.not_this = file_name;
  if (const int fd = FindByBuildId(entries, wanted, name_out); fd >= 0) return fd;
  if (debuglink_file == nullptr || debuglink_file[0] == '\0') return -1;
  if (debuglink_file[0] == '/') return OpenIfWanted(debuglink_file, wanted, name_out);
  if (file_name == nullptr) return -1;
  const std::string dir = DirName(file_name);
  for (const std::string& entry : entries) {
    std::vector<std::string> candidates;
    if (entry.empty()) {
      candidates.push_back(dir + "/" + debuglink_file);
    } else if (entry[0] != '/') {
      candidates.push_back(dir + "/" + entry + "/" + debuglink_file);
    } else {
      if (dir[0] == '/') candidates.push_back(entry + dir + "/" + debuglink_file);
      candidates.push_back(entry + "/" + debuglink_file);
    }
    for (const std::string& path : candidates) {
      if (const int fd = OpenIfWanted(path, wanted, name_out); fd >= 0) return fd;
    }
  }
  return -1;
}

int FindAltFile(const std::vector<std::string>& entries, const char* file_name, const char* altname,
                const std::string& alt_build_id, char** name_out) {
  Wanted wanted;
  wanted.build_id = alt_build_id;
  if (const int fd = FindByBuildId(entries, wanted, name_out); fd >= 0) return fd;
  const std::string path =
      altname[0] == '/' ? std::string(altname) : DirName(file_name) + "/" + altname;
  return OpenIfWanted(path, wanted, name_out);
}

}  // namespace

bool DebuginfodRequested() {
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  return urls != nullptr && urls[0] != '\0';
}

int FindDebugFile(const char* search_path, Dwfl_Module* mod, void** userdata, const char* modname,
                  Dwarf_Addr base, const char* file_name, const char* debuglink_file,
                  GElf_Word debuglink_crc, char** debuginfo_file_name) {
  elf_version(EV_CURRENT);
  int fd = -1;
  try {
    const std::vector<std::string> entries = SplitSearchPath(search_path);
    std::string alt_build_id;
    // libdwfl asks for a dwz file with the file whose DWARF links to it, the
    // link's name and no CRC (dwfl_module_getdwarf.c, find_debug_altlink).
    if (debuglink_crc == 0 && debuglink_file != nullptr && file_name != nullptr &&
        AltLinkNames(file_name, debuglink_file, &alt_build_id)) {
      fd = FindAltFile(entries, file_name, debuglink_file, alt_build_id, debuginfo_file_name);
    } else {
      fd = FindModuleDebugFile(mod, entries, file_name, debuglink_file, debuglink_crc,
                               debuginfo_file_name);
    }
  } catch (...) {
    fd = -1;  // out of memory: no debug file
  }
  if (fd >= 0) return fd;
  if (DebuginfodRequested()) {
    return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  }
  errno = ENOENT;
  return -1;
}

}  // namespace leakwatch::core
