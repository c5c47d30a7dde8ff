// core/error.h — the error policy of APEX.
//
// UserError: anything a user can cause (bad flag, file, value, impossible plan). It carries one
// message that names where (file:line, key, flag) and what, with the valid choices where there
// are some. `apex` prints it and exits with code 2. Library code never calls exit().
// OutputError: output that could not be written after it was opened (a full disk, a closed pipe,
// /dev/full): "could not write FILE: reason". Not the user's input, so `apex` exits with code 1.
// Programming errors are assertions (APEX_ASSERT) and end as exit code 1.
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace apex {

class UserError : public std::runtime_error {
 public:
  explicit UserError(const std::string& message) : std::runtime_error(message) {}
};

class OutputError : public std::runtime_error {
 public:
  explicit OutputError(const std::string& message) : std::runtime_error(message) {}
};

class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

// Edit distance (insert/delete/substitute, each cost 1), case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate to `name` if it is close enough to be a plausible typo, else "".
std::string closest_match(std::string_view name, std::span<const std::string> candidates);

// "unknown <what> '<name>'; did you mean '<x>'? valid: a, b, c" — the one message shape used for
// every unknown name. `hint` (e.g. "see `apex list gpus`") is appended when not empty.
std::string unknown_name_message(std::string_view what, std::string_view name,
                                 std::span<const std::string> candidates, std::string_view hint = {});

std::string join(std::span<const std::string> items, std::string_view sep);

// `file` (a __FILE__, absolute or relative to the build folder) relative to the source tree:
// "/home/me/apex/src/core/error.cpp" and "../src/core/error.cpp" both become "src/core/error.cpp".
std::string_view source_relative_path(std::string_view file);

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace apex

// Checks a programming invariant; never use it for user input.
#define APEX_ASSERT(cond, msg)                                             \
  do {                                                                     \
    if (!(cond)) ::apex::assertion_failed(#cond, __FILE__, __LINE__, msg); \
  } while (0)
