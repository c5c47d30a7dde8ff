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

// Calls row(line, get) for every non-blank data row of `path` and returns how many there were.
// The file is read through core's bounded read_file (kMaxTableFileBytes): UserError "WHAT 'path'
// does not exist / is a directory / is larger than the limit", "WHAT 'path' is empty" without a
// header, "path:1: missing column 'NAME'" for a required column, "path:1: column 'X' appears
// twice", and "path:N: K fields, more than the header's H" for a row that would shift columns.
std::size_t for_each_csv_row(const std::string& path, const std::string& what,
                             std::initializer_list<const char*> required,
                             const std::function<void(std::size_t line, const CsvGet& get)>& row);

}  // namespace apex
