#include "core/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"

namespace apex {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i < line.size() && line[i] == '"') quoted = !quoted;
    if (i == line.size() || (line[i] == ',' && !quoted)) {
      std::string_view f = trim(line.substr(start, i - start));
      if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
      out.push_back(f);
      start = i + 1;
    }
  }
  return out;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || ptr != s.data() + s.size()) {
    // Accept integral floats written as "12.0" (common in exported traces).
    if (auto d = parse_double(s); d && std::floor(*d) == *d && std::fabs(*d) < 9e15) {
      return static_cast<std::int64_t>(*d);
    }
    return std::nullopt;
  }
  return v;
}

std::string quote_value(std::string_view value, std::size_t max_chars) {
  std::size_t cut = std::min(value.size(), max_chars);
  // Never split a UTF-8 sequence: back off over continuation bytes (10xxxxxx).
  if (cut < value.size()) {
    while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80)
      --cut;
  }
  std::string out = "'";
  for (std::size_t i = 0; i < cut; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '\'';
  if (cut < value.size()) {
    out.insert(out.size() - 1, "...");
    out += fmt::format(" ({} bytes)", value.size());
  }
  return out;
}

std::string read_file(const std::string& path, std::string_view what, std::size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    throw UserError(fmt::format("{} '{}' does not exist", what, path));
  }
  if (std::filesystem::is_directory(path, ec)) {
    throw UserError(fmt::format("{} '{}' is a directory, expected a file", what, path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(fmt::format("{} '{}' cannot be read (permission denied?)", what, path));
  std::string text;
  char chunk[1 << 16];
  while (in) {
    in.read(chunk, sizeof chunk);
    const auto n = static_cast<std::size_t>(in.gcount());
    if (text.size() + n > max_bytes) {
      const std::string limit = max_bytes % (1u << 20) == 0 ? fmt::format("{} MiB", max_bytes >> 20)
                                                            : fmt::format("{} bytes", max_bytes);
      throw UserError(fmt::format("{} '{}' is larger than the limit of {}", what, path, limit));
    }
    text.append(chunk, n);
  }
  if (in.bad()) throw UserError(fmt::format("{} '{}' could not be read", what, path));
  return text;
}

}  // namespace apex
