// validate/serving_reader.cpp — reads the rows of a serving-measurements CSV
// (../shared/reference/serving_measurements.csv): columns by header name, line numbers kept.
#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "hw/hardware.h"
#include "validate/csv_table.h"
#include "validate/serving.h"

namespace apex {
namespace {

// A GPU count column: 0 when it records none ('', '?', 'multi-node': the row is then not
// expressible), else a count narrowed to int only once it is in range.
int gpu_count(const CsvGet& get, const char* column, const std::string& where) {
  const std::string text = get(column);
  const auto v = parse_int(text);
  if (!v) {
    if (parse_double(text)) {
      throw UserError(fmt::format("{}: {} {} is not a whole GPU count (1 to {})", where, column,
                                  quote_value(text), kMaxClusterGpus));
    }
    return 0;
  }
  if (*v < 1 || *v > kMaxClusterGpus) {
    throw UserError(fmt::format("{}: {} {} is outside 1 to {}", where, column, *v, kMaxClusterGpus));
  }
  return static_cast<int>(*v);
}

}  // namespace

std::vector<ServingRow> read_serving_rows(const std::string& csv_path) {
  std::vector<ServingRow> rows;
  const std::size_t n =
      for_each_csv_row(csv_path, "serving measurements",
                       {"source", "model", "engine", "gpu", "num_gpus", "tp", "pp", "dtype", "input_len",
                        "output_len", "concurrency_or_rate", "metric", "value", "unit"},
                       [&](std::size_t lineno, const CsvGet& get) {
                         ServingRow r;
                         r.line = lineno;
                         r.source = get("source");
                         r.model = get("model");
                         r.engine = get("engine");
                         r.gpu = get("gpu");
                         const std::string where = fmt::format("{}:{}", csv_path, lineno);
                         r.num_gpus = gpu_count(get, "num_gpus", where);
                         r.tp = gpu_count(get, "tp", where);
                         r.pp = gpu_count(get, "pp", where);
                         r.dp = get("dp");
                         r.ep = get("ep");
                         r.dtype = get("dtype");
                         r.input_len = get("input_len");
                         r.output_len = get("output_len");
                         r.load = get("concurrency_or_rate");
                         r.metric = get("metric");
                         r.value = parse_double(get("value")).value_or(0);
                         r.unit = get("unit");
                         r.notes = get("notes");
                         rows.push_back(std::move(r));
                       });
  if (n == 0) {
    throw UserError(
        fmt::format("serving measurements '{}' contains no rows (a header and nothing else)", csv_path));
  }
  return rows;
}

}  // namespace apex
