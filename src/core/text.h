// core/text.h — small, strict text helpers for the file readers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace apex {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);

// Splits one CSV record on commas. Quoted fields ("a,b") are supported; no embedded newlines.
std::vector<std::string_view> split_csv(std::string_view line);

// Strict numeric parsing: the whole field must be a number.
std::optional<double> parse_double(std::string_view s);
std::optional<std::int64_t> parse_int(std::string_view s);

// A user-supplied value quoted for an error message: 'value'. A value longer than `max_chars`
// bytes is cut (at a UTF-8 boundary) and its full size given: 'abc...' (5242880 bytes); control
// bytes are shown as \xNN. Every reader quotes what it echoes back through this.
std::string quote_value(std::string_view value, std::size_t max_chars = 80);

// The largest config or cluster file read_file accepts by default: real ones are a few KB.
constexpr std::size_t kMaxConfigFileBytes = 8u << 20;  // 8 MiB

// The largest measured table (reference CSV, kernel measurements) the readers accept: the biggest
// real ones are a few MB; /dev/zero or a runaway file stops here instead of exhausting memory.
constexpr std::size_t kMaxTableFileBytes = 64u << 20;  // 64 MiB

// Reads a whole file; UserError naming the path when missing, unreadable or larger than
// `max_bytes` (read in chunks, so /dev/zero or a huge file stops at the limit).
std::string read_file(const std::string& path, std::string_view what,
                      std::size_t max_bytes = kMaxConfigFileBytes);

}  // namespace apex
