// sim/metrics/registry.h — every metric of a SimResult, registered once.
//
// One entry per raw field of SimResult (and of its memory footprint, summaries and time
// breakdown), plus derived entries computed from raw fields (the prefix-cache hit rate). Each
// entry carries its JSON section and key, unit, description, CSV columns, table text, a getter
// and — for raw fields — a setter. The result JSON, the CSV, the latency and counter lines of the
// table and HTML report, and the MPI serialization are all driven from this list, so a field
// cannot be reported, written or sent in one place and forgotten in another.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/json_util.h"
#include "sim/metrics/result.h"

namespace apex {

// The value of one metric, in the type of its field.
using MetricValue = std::variant<bool, int, std::int64_t, std::uint64_t, double, std::string, Summary>;

enum class CsvFormat : std::uint8_t {
  None,     // not a CSV column
  Precise,  // {:.9g}
  Whole     // {:.0f}
};

// A fragment of a prose line of the simulate table: `text` is a fmt pattern of the one value
// (multiplied by `times`), with its leading separator; a line is its fragments in registry order.
struct MetricText {
  std::string_view line{};  // the table line it belongs to ("scheduler"); empty = not in the table
  std::string_view text{};
  double times = 1;
};

struct Metric {
  std::string_view id{};       // unique; names the raw field in the MPI serialization
  std::string_view section{};  // result JSON section: metrics, counters, memory, engine, breakdown; "" = none
  std::string_view key{};      // key within the section
  std::string_view unit{};     // "s", "tokens/s", "bytes", "J", "W", "1" (a ratio), "count", ...
  std::string_view description{};  // one line
  std::string_view label{};        // summaries: the row label of the latency tables ("TTFT"); "" = none
  CsvFormat csv = CsvFormat::None;
  std::vector<std::string_view> csv_stats{};  // summaries: the statistics written, one CSV column each
  MetricText table{};
  // Measured from the requests alone (RequestStats in sim/metrics/collector.h): reported for each
  // load stage too (StageResult::metrics holds only these).
  bool per_request = false;
  // Reported (result JSON, table) only when this holds; null = always. For metrics of a feature
  // that is off by default, so that runs without it report exactly what they did before.
  bool (*present)(const SimResult&) = nullptr;
  std::function<MetricValue(const SimResult&)> get{};
  std::function<void(SimResult&, const MetricValue&)> set{};  // empty for derived entries

  bool raw() const { return static_cast<bool>(set); }
  bool reported(const SimResult& r) const { return present == nullptr || present(r); }
};

// The registry, in report order (CSV columns, latency rows and table fragments follow it).
const std::vector<Metric>& metric_registry();
// The entry with this id; std::logic_error when there is none.
const Metric& metric(std::string_view id);

// The value as reported in the result JSON (a summary as mean, p50, p90, p99).
Json metric_report_json(const Metric& m, const SimResult& r);
// The raw field as lossless JSON (every summary statistic; non-finite doubles as strings), and back.
Json metric_raw_json(const Metric& m, const SimResult& r);
void metric_set_raw_json(const Metric& m, SimResult& r, const Json& j);

// CSV columns of the registry: header names and one row's cells, in registry order.
std::vector<std::string> metric_csv_header();
std::vector<std::string> metric_csv_cells(const SimResult& r);

// One prose line of the simulate table: the fragments of the entries on `line`, concatenated.
std::string metric_table_line(const SimResult& r, std::string_view line);

// The entries of a section in registry order (e.g. "breakdown" for the time breakdown parts).
std::vector<const Metric*> metrics_in(std::string_view section);

}  // namespace apex
