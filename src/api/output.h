// api/output.h — the one checked writer of every output APEX produces: stdout, -o, --per-request,
// calibrate -o, validate serving -o. Every write, the flush and the close are checked:
//   - a file that cannot be opened is the user's path: UserError "could not write FILE: reason";
//   - a write, flush or close that fails once open (full disk, /dev/full, closed pipe):
//     OutputError "could not write FILE: reason" (`apex` exits 1), never a silent exit 0.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apex::api {

class OutputFile {
 public:
  // Opens `path` for writing (truncates it).
  explicit OutputFile(std::string path);
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // closes without reporting (an exception is already on its way); call close()

  void write(std::string_view text);
  // Flushes and closes; OutputError when the data did not reach the file.
  void close();
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(int err);
  std::string path_;
  std::FILE* file_ = nullptr;
};

// UserError "could not write FILE: reason" unless `path` could be opened for writing (the file is
// writable, or it does not exist and its folder is). Checked before a long run, without creating
// or truncating anything.
void check_writable(const std::string& path);
// UserError when two of these (flag, path) name the same file (an output over the input trace, or
// two outputs over each other); empty paths are skipped.
void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& files);
// Writes `text` to `path` (open, write, close, each checked).
void write_file(const std::string& path, std::string_view text);
// Writes `text` to standard output and flushes it; OutputError "could not write to standard
// output: reason" when it fails.
void write_stdout(std::string_view text);
// Flushes standard output (what other code, e.g. --help, wrote through std::cout) and checks
// that nothing written to it was lost. A front end calls it before exiting 0.
void finish_stdout();

}  // namespace apex::api
