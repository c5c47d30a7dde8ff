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

// Reads a whole file; UserError naming the path when missing or unreadable.
std::string read_file(const std::string& path, std::string_view what);

}  // namespace apex
