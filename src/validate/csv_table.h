// validate/csv_table.h — the reference CSVs of ../shared/reference read by header name: a file is
// opened, its header checked for the columns a reader needs, and each non-blank row handed over
// with its line number and a by-name getter. One reader for serving_reader.cpp and staged.cpp.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <string>

namespace apex {

// A row: field by column name ("" when the row is short or the column absent).
using CsvGet = std::function<std::string(const char* column)>;

// Calls row(line, get) for every non-blank data row of `path`. UserError "cannot read WHAT 'path'"
// when the file cannot be opened, "path:1: missing column 'NAME'" for a required column.
void for_each_csv_row(const std::string& path, const std::string& what,
                      std::initializer_list<const char*> required,
                      const std::function<void(std::size_t line, const CsvGet& get)>& row);

}  // namespace apex
