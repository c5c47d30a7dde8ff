// validate/csv_table.cpp — reads a reference CSV by header name (csv_table.h).
#include "validate/csv_table.h"

#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace apex {

std::size_t for_each_csv_row(const std::string& path, const std::string& what,
                             std::initializer_list<const char*> required,
                             const std::function<void(std::size_t line, const CsvGet& get)>& row) {
  // Bounded like every other file APEX reads whole (core/text.h): a missing file, a directory and
  // /dev/zero are one-line errors, not a bad_alloc.
  const std::string text = read_file(path, what, kMaxTableFileBytes);
  std::string_view rest(text);
  if (rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);  // a UTF-8 byte-order mark
  // The next line without its '\n' and a trailing '\r'.
  auto next_line = [&rest](std::string_view& line) {
    if (rest.empty()) return false;
    const std::size_t end = rest.find('\n');
    line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    return true;
  };
  std::string_view line;
  if (!next_line(line) || trim(line).empty())
    throw UserError(fmt::format("{} '{}' is empty: expected a CSV header line", what, path));
  const auto header = split_csv(line);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (!col.emplace(std::string(header[i]), i).second)
      throw UserError(fmt::format("{}:1: column {} appears twice", path, quote_value(header[i])));
  }
  for (const char* need : required) {
    if (!col.count(need)) throw UserError(fmt::format("{}:1: missing column '{}'", path, need));
  }
  std::size_t lineno = 1, rows = 0;
  while (next_line(line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    const auto f = split_csv(line);
    if (f.size() > header.size()) {
      throw UserError(fmt::format("{}:{}: {} fields, more than the header's {} (an unquoted comma?)", path,
                                  lineno, f.size(), header.size()));
    }
    const CsvGet get = [&](const char* name) -> std::string {
      const auto it = col.find(name);
      return it != col.end() && it->second < f.size() ? std::string(f[it->second]) : std::string();
    };
    row(lineno, get);
    ++rows;
  }
  return rows;
}

}  // namespace apex
