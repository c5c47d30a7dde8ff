// report/report.h — renders results as JSON (the stable contract of ../shared/docs/CLI.md), a
// human table, or CSV. The library never prints: these return strings for `main` to write.
#pragma once

#include <string>
#include <vector>

#include "core/json_util.h"
#include "search/planner.h"

namespace apex {

enum class Format : std::uint8_t { Table, JSON, CSV, HTML };
Format parse_format(const std::string& text);
std::string format_name(Format f);  // "table", "json", "csv", "html": what parse_format reads

// Context shown alongside results (model, cluster, workload description).
struct RunInfo {
  std::string model;
  std::string cluster;
  std::string workload;
  std::string engine;
  std::string precision;
  double price_per_gpu_hour = 0;
  std::vector<std::string> launch;        // engine launch command per reported plan (ranked order)
  double ttft_slo_s = 0, tpot_slo_s = 0;  // the SLOs given (0 = none): attainment is shown only with one
  bool wide = false;                      // search table: every column, however wide (--wide)
};

// "TTFT ≤ 100 ms, TPOT ≤ 20 ms" (the SLOs given), empty without SLOs.
std::string slo_text(const RunInfo& info);
// The tie note of a search ("the top 3 plans tie ... decided by ..."), empty without a tie.
std::string tie_text(const SearchReport& s);

Json result_json(const SimResult& r, const EnginePolicy* engine = nullptr);
// Seconds and shares of each part of a run's time (simulate --breakdown).
Json breakdown_json(const SimResult& r);
Json rejected_json(const PlanOutcome& o);
Json search_json(const SearchReport& s, const RunInfo& info);

// The command that starts `engine` with this plan (vllm serve / sglang.launch_server / trtllm-serve).
std::string launch_command(const Deployment& d, const Plan& plan, const EnginePolicy& engine);

// The tables fit 100 columns; a search's ranked plans drop their least needed columns to fit
// (and say which) unless info.wide.
std::string simulate_table(const SimResult& r, const RunInfo& info, const EnginePolicy& engine);
std::string search_table(const SearchReport& s, const RunInfo& info);
std::string simulate_csv(const SimResult& r);
// Self-contained HTML pages with inline SVG charts.
std::string simulate_html(const SimResult& r, const RunInfo& info, const EnginePolicy& engine);
std::string search_html(const SearchReport& s, const RunInfo& info);
std::string search_csv(const SearchReport& s);

}  // namespace apex
