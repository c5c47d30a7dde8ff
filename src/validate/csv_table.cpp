// validate/csv_table.cpp — reads a reference CSV by header name (csv_table.h).
#include "validate/csv_table.h"

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace apex {

void for_each_csv_row(const std::string& path, const std::string& what,
                      std::initializer_list<const char*> required,
                      const std::function<void(std::size_t line, const CsvGet& get)>& row) {
  std::ifstream in(path);
  if (!in) throw UserError(fmt::format("cannot read {} '{}'", what, path));
  std::string line;
  std::getline(in, line);
  const auto header = split_csv(line);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i)
    col[std::string(header[i])] = i;
  for (const char* need : required) {
    if (!col.count(need)) throw UserError(fmt::format("{}:1: missing column '{}'", path, need));
  }
  std::size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    const auto f = split_csv(line);
    const CsvGet get = [&](const char* name) -> std::string {
      const auto it = col.find(name);
      return it != col.end() && it->second < f.size() ? std::string(f[it->second]) : std::string();
    };
    row(lineno, get);
  }
}

}  // namespace apex
