// validate/serving.h — end-to-end validation against public serving results
// (../shared/reference/serving_measurements.csv): every row APEX can express is simulated with the
// row's model, GPU, parallelism, precision, engine and workload; the others are listed with why.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/progress.h"

namespace apex {

struct ServingRow {
  std::size_t line = 0;
  std::string source, model, engine, gpu;
  int num_gpus = 0, tp = 0, pp = 0;
  std::string dp, ep, dtype, input_len, output_len, load, metric;
  double value = 0;
  std::string unit, notes;
};

struct ServingCase {
  ServingRow row;
  bool simulated = false;
  std::string skip_reason;  // when not simulated
  std::string setup;        // the APEX deployment used, in words
  double simulated_value = 0;
  double error = 0;  // simulated / measured - 1
};

std::vector<ServingRow> read_serving_rows(const std::string& csv_path);

// Simulates every expressible row (in parallel, deterministic). `stride` > 1 keeps every
// stride-th expressible row (for fast regression tests).
std::vector<ServingCase> validate_serving(const std::vector<ServingRow>& rows, int threads, int stride = 1,
                                          Progress* progress = nullptr);

struct ErrorStats {
  std::size_t n = 0;
  double median = 0, p90 = 0, mean_signed = 0;
};
ErrorStats error_stats(const std::vector<ServingCase>& cases);  // over simulated cases
bool is_moe_case(const ServingCase& c);

// docs/validation.md: per-row table, per-source summaries, skipped rows with reasons, rendered into
// data/validation_template.md (which holds the prose and the findings).
std::string serving_markdown(const std::vector<ServingCase>& cases, const std::string& csv_path);
// The same with another template: {{reference}}, {{summary}}, {{per_source_table}}, {{row_table}} and
// {{skipped_table}} each appear once. InternalError on a missing, repeated or unknown block.
std::string serving_markdown(const std::vector<ServingCase>& cases, const std::string& csv_path,
                             std::string_view tmpl);

}  // namespace apex
