#include "core/dwarf_lookup.h"

#include <elfutils/libdwfl.h>
#include <gelf.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/debugging/internal/demangle.h"
#include "core/debug_files.h"

namespace leakwatch::core {
namespace {

// Demangled as absl::Symbolize does (parameter types left out: "ns::f()"), so
// a frame gets the same name whichever way it was symbolized.
std::string Demangle(const char* name) {
  if (name == nullptr) return "";
  char out[1024];
  if (absl::debugging_internal::Demangle(name, out, sizeof out)) return out;
  return name;
}

std::string BaseName(const char* path) {
  if (path == nullptr) return "";
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A character that can be part of a module's file name.
bool IsNameChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c == '-' || c == '.' || c == '+';
}

}  // namespace

std::string FrameInfoLabel(const FrameInfo& info) {
  char offset[32];
  if (!info.function.empty()) {
    std::snprintf(offset, sizeof offset, "+0x%llx",
                  static_cast<unsigned long long>(info.function_offset));
    std::string out = info.function + offset;
    if (!info.file.empty() && info.line > 0) {
      out += " (" + info.file + ":" + std::to_string(info.line) + ")";
    }
    return out;
  }
  if (info.module.empty()) return "";
  std::snprintf(offset, sizeof offset, "+0x%llx",
                static_cast<unsigned long long>(info.module_offset));
  return info.module + offset;
}

std::string DebugInfoSearchPath(const std::vector<std::string>& dirs) {
  // libdwfl's default, then the configured directories. An absolute entry is
  // searched by build-id (DIR/.build-id/xx/yyyy.debug) and by debuglink name
  // (DIR/<the module's directory>/NAME and DIR/NAME).
  std::string path = ":.debug:/usr/lib/debug";
  for (const std::string& dir : dirs) {
    if (dir.empty()) continue;
    path += ":" + dir;
  }
  return path;
}

namespace {

// One set of callbacks per kind of Dwfl; each find_debuginfo reads its own
// search path (libdwfl passes the callbacks' debuginfo_path to no callback).
Dwfl_Callbacks g_live_callbacks;
Dwfl_Callbacks g_offline_callbacks;

// find_debuginfo for the Dwfls begun with `callbacks`: searches its path.
template <Dwfl_Callbacks* callbacks>
int FindDebugFileOf(Dwfl_Module* mod, void** userdata, const char* modname, Dwarf_Addr base,
                    const char* file_name, const char* debuglink_file, GElf_Word debuglink_crc,
                    char** debuginfo_file_name) {
  return FindDebugFile(*callbacks->debuginfo_path, mod, userdata, modname, base, file_name,
                       debuglink_file, debuglink_crc, debuginfo_file_name);
}

Dwfl* BeginDwfl(Dwfl_Callbacks& callbacks, decltype(Dwfl_Callbacks::find_elf) find_elf,
                decltype(Dwfl_Callbacks::find_debuginfo) find_debuginfo, char** search_path) {
  callbacks.find_elf = find_elf;
  callbacks.find_debuginfo = find_debuginfo;
  callbacks.section_address = dwfl_offline_section_address;
  callbacks.debuginfo_path = search_path;
  return dwfl_begin(&callbacks);
}

}  // namespace

Dwfl* NewLiveDwfl(char** search_path) {
  return BeginDwfl(g_live_callbacks, dwfl_linux_proc_find_elf, FindDebugFileOf<&g_live_callbacks>,
                   search_path);
}

Dwfl* NewOfflineDwfl(char** search_path) {
  // find_elf runs only for modules reported without their file;
  // leakwatch-symbolize reports its one module by path.
  return BeginDwfl(g_offline_callbacks, dwfl_build_id_find_elf,
                   FindDebugFileOf<&g_offline_callbacks>, search_path);
}

std::string ModuleBuildId(Dwfl_Module* module) {
  const unsigned char* bits = nullptr;
  GElf_Addr vaddr = 0;
  const int n = dwfl_module_build_id(module, &bits, &vaddr);
  std::string out;
  for (int i = 0; i < n; ++i) {
    char byte[3];
    std::snprintf(byte, sizeof byte, "%02x", bits[i]);
    out += byte;
  }
  return out;
}

bool ModuleFileBase(Dwfl_Module* module, uint64_t* base, uint64_t* bias) {
  GElf_Addr b = 0;
  Elf* elf = dwfl_module_getelf(module, &b);
  if (elf == nullptr) return false;
  size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0) return false;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr phdr;
    if (gelf_getphdr(elf, static_cast<int>(i), &phdr) == nullptr) continue;
    if (phdr.p_type != PT_LOAD) continue;
    *base = phdr.p_vaddr & ~static_cast<uint64_t>(0xfff);
    *bias = b;
    return true;
  }
  return false;
}

void DescribeInModule(Dwfl_Module* module, uint64_t ra, uint64_t module_base, FrameInfo* out) {
  const uint64_t pc = ra - 1;
  const char* path = nullptr;
  const char* name =
      dwfl_module_info(module, nullptr, nullptr, nullptr, nullptr, nullptr, &path, nullptr);
  out->module = BaseName(path != nullptr ? path : name);
  out->module_offset = ra - module_base;
  out->build_id = ModuleBuildId(module);
  GElf_Off offset = 0;
  GElf_Sym sym;
  if (const char* symbol =
          dwfl_module_addrinfo(module, pc, &offset, &sym, nullptr, nullptr, nullptr);
      symbol != nullptr && GELF_ST_TYPE(sym.st_info) == STT_FUNC) {
    out->function = Demangle(symbol);
    out->function_offset = offset + 1;
  }
  if (Dwfl_Line* line = dwfl_module_getsrc(module, pc); line != nullptr) {
    int lineno = 0;
    const char* file = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr);
    if (file != nullptr && lineno > 0) {
      out->file = BaseName(file);
      out->line = lineno;
    }
  }
}

size_t ResolveLabels(Dwfl_Module* module, const std::string& module_name, std::string* text) {
  uint64_t base = 0;
  uint64_t bias = 0;
  if (!ModuleFileBase(module, &base, &bias)) return 0;
  const std::string needle = module_name + "+0x";
  std::string out;
  size_t replaced = 0;
  size_t from = 0;
  for (size_t at = text->find(needle); at != std::string::npos; at = text->find(needle, at + 1)) {
    if (at < from) continue;
    if (at > 0 && IsNameChar((*text)[at - 1])) continue;  // a longer module name
    size_t end = at + needle.size();
    while (end < text->size() && IsHex((*text)[end])) ++end;
    if (end == at + needle.size()) continue;
    const uint64_t offset = std::strtoull(
        text->substr(at + needle.size(), end - at - needle.size()).c_str(), nullptr, 16);
    FrameInfo info;
    DescribeInModule(module, bias + base + offset, bias + base, &info);
    if (info.function.empty()) continue;
    out.append(*text, from, at - from);
    out += FrameInfoLabel(info);
    from = end;
    ++replaced;
  }
  out.append(*text, from, std::string::npos);
  *text = std::move(out);
  return replaced;
}

}  // namespace leakwatch::core
