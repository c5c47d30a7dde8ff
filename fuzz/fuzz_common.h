// fuzz/fuzz_common.h — what every libFuzzer harness of APEX shares.
//
// The contract a harness checks: any input either parses or ends in a UserError (bad input is an
// expected outcome, exit code 2 in `apex`). Anything else — an InternalError, a std::exception from
// a library (nlohmann, the standard library), a sanitizer report, a hang — is a crash.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "core/error.h"

namespace apex::fuzz {

inline std::string text_of(const std::uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs `f`; a UserError is a normal outcome, everything else propagates (libFuzzer reports an
// uncaught exception as a crash).
template <class F>
void expect_user_errors(F&& f) {
  try {
    f();
  } catch (const UserError& e) {
    // Touch the message: a UserError with a dangling or unterminated message is a bug too.
    const std::string message = e.what();
    if (message.empty()) throw InternalError("UserError with an empty message");
  }
}

// A per-process scratch file for loaders that only take a path.
class ScratchFile {
 public:
  // In /dev/shm where there is one: rewriting a file on a disk file system flushes it on every
  // close (ext4 auto_da_alloc), which made this harness a thousand times slower than its parser.
  explicit ScratchFile(const std::string& suffix)
      : path_((::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + std::string("/apex-fuzz-") +
              std::to_string(::getpid()) + suffix) {}
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() { ::unlink(path_.c_str()); }
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) throw InternalError("fuzz: cannot write the scratch file " + path_);
    return path_;
  }

 private:
  std::string path_;
};

// Keeps a computed value alive so the optimizer cannot drop the computation.
template <class T>
void keep(const T& value) {
  asm volatile("" : : "g"(&value) : "memory");
}

}  // namespace apex::fuzz
