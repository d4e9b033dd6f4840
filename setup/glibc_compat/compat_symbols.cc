// The six symbols that the ml-metadata and tensorflow-data-validation 1.21 wheels
// take from glibc >= 2.38 / libstdc++ >= 13, defined on top of what older
// runtimes already have. Loaded only on machines whose glibc is older than 2.39
// (see setup/glibc_compat/README.md).
#include <cstdlib>
#include <exception>
#include <ios>

extern "C" {
// C23 variants differ only in also accepting a "0b" prefix, which these
// libraries never parse.
long __isoc23_strtol(const char* s, char** end, int base) { return std::strtol(s, end, base); }
unsigned long __isoc23_strtoul(const char* s, char** end, int base) { return std::strtoul(s, end, base); }
long long __isoc23_strtoll(const char* s, char** end, int base) { return std::strtoll(s, end, base); }
unsigned long long __isoc23_strtoull(const char* s, char** end, int base) { return std::strtoull(s, end, base); }

// Called by GCC 14 code when an exception leaves a noexcept function.
void __cxa_call_terminate(void*) noexcept { std::terminate(); }
}

namespace std {
// GCC 13 <iostream> calls this instead of holding a static ios_base::Init.
void ios_base_library_init() { static ios_base::Init init; }
}
