// api/output.cpp — checked output (see output.h).
#include "api/output.h"

#include "core/text.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"

namespace apex::api {
namespace {

std::string reason(int err) {
  return err != 0 ? std::string(std::strerror(err)) : std::string("I/O error");
}

[[noreturn]] void stdout_failed(int err) {
  throw OutputError(fmt::format("could not write to standard output: {}", reason(err)));
}

}  // namespace

OutputFile::OutputFile(std::string path) : path_(std::move(path)) {
  errno = 0;
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) throw UserError(fmt::format("could not write {}: {}", path_, reason(errno)));
}

OutputFile::~OutputFile() {
  if (file_ != nullptr) (void)std::fclose(file_);
}

void OutputFile::fail(int err) {
  if (file_ != nullptr) (void)std::fclose(file_);
  file_ = nullptr;
  throw OutputError(fmt::format("could not write {}: {}", path_, reason(err)));
}

void OutputFile::write(std::string_view text) {
  APEX_ASSERT(file_ != nullptr, "write to a closed OutputFile");
  if (text.empty()) return;
  errno = 0;
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) fail(errno);
}

void OutputFile::close() {
  if (file_ == nullptr) return;
  errno = 0;
  if (std::fflush(file_) != 0 || std::ferror(file_) != 0) fail(errno);
  std::FILE* f = std::exchange(file_, nullptr);
  errno = 0;
  if (std::fclose(f) != 0) {
    throw OutputError(fmt::format("could not write {}: {}", path_, reason(errno)));
  }
}

void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& files) {
  namespace fs = std::filesystem;
  // /dev/null and friends may be named twice: they are not files one output could clobber.
  auto key = [](const std::string& path) {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(fs::path(path), ec);
    return ec ? path : canonical.string();
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (files[i].second.empty() || files[i].second.rfind("/dev/", 0) == 0) continue;
    for (std::size_t j = i + 1; j < files.size(); ++j) {
      if (files[j].second.empty() || key(files[i].second) != key(files[j].second)) continue;
      throw UserError(fmt::format("{} and {} name the same file, {}: one would overwrite the other",
                                  files[i].first, files[j].first, quote_value(files[i].second)));
    }
  }
}

void check_writable(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path p(path);
  const bool exists = fs::exists(p, ec);
  if (exists && fs::is_directory(p, ec))
    throw UserError(fmt::format("could not write {}: {}", path, std::strerror(EISDIR)));
  std::string probe = path;
  if (!exists) {
    const fs::path parent = p.parent_path();
    probe = parent.empty() ? std::string(".") : parent.string();
  }
  errno = 0;
  if (::access(probe.c_str(), exists ? W_OK : (W_OK | X_OK)) != 0)
    throw UserError(fmt::format("could not write {}: {}", path, reason(errno)));
}

void write_file(const std::string& path, std::string_view text) {
  OutputFile f(path);
  f.write(text);
  f.close();
}

void write_stdout(std::string_view text) {
  std::cout.flush();  // keep the order of what was written through std::cout
  if (!std::cout) stdout_failed(0);
  errno = 0;
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) stdout_failed(errno);
  errno = 0;
  if (std::fflush(stdout) != 0) stdout_failed(errno);
}

void finish_stdout() {
  errno = 0;
  std::cout.flush();
  const bool cout_ok = static_cast<bool>(std::cout);
  if (std::fflush(stdout) != 0) stdout_failed(errno);
  if (!cout_ok || std::ferror(stdout) != 0) stdout_failed(0);
}

}  // namespace apex::api
