// validate/serving_reader.cpp — reads the rows of a serving-measurements CSV
// (../shared/reference/serving_measurements.csv): columns by header name, line numbers kept.
#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "validate/csv_table.h"
#include "validate/serving.h"

namespace apex {

std::vector<ServingRow> read_serving_rows(const std::string& csv_path) {
  std::vector<ServingRow> rows;
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
                     r.num_gpus = static_cast<int>(parse_int(get("num_gpus")).value_or(0));
                     r.tp = static_cast<int>(parse_int(get("tp")).value_or(0));
                     r.pp = static_cast<int>(parse_int(get("pp")).value_or(0));
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
  return rows;
}

}  // namespace apex
