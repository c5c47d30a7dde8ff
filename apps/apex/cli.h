// apps/apex/cli.h — the options of the `apex` command and the commands themselves. Every option
// is declared once here and registered on each subcommand that takes it; the commands build the
// library's inputs from them, call the library and print.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "hw/hardware.h"
#include "search/deployment.h"
#include "search/planner.h"
#include "workload/workload.h"

namespace apex::cli {

// Every option, declared once; simulate and search share the model/cluster/workload groups.
struct Options {
  // model
  std::string model;
  std::string weight_dtype = "bf16", kv_dtype, activation_dtype = "bf16";
  std::optional<std::int64_t> max_model_len;
  // cluster
  std::string gpu = "h100-sxm";
  int nodes = 1;
  int gpus_per_node = 8;
  std::string cluster_file;
  std::optional<double> frequency_mhz;
  // workload
  std::string trace;
  std::string rate;
  std::int64_t num_requests = 0;
  std::string prompt_len, output_len;
  std::uint64_t seed = 0;
  double burstiness = 1.0;
  int concurrency = 0;    // closed-loop clients (0 = open arrivals)
  int shared_prefix = 0;  // synthetic: tokens of a prefix shared within each group
  int prefix_groups = 1;
  std::string prefix_caching;  // on|off (default: the engine's)
  // plan
  int dp = 1, tp = 1, pp = 1, ep = 1;
  bool dp_attention = false;
  double expert_skew = 0;
  double expert_capacity_factor = 0;
  // engine
  std::string engine = "vllm";
  std::optional<int> max_num_seqs, max_num_batched_tokens, block_size;
  std::optional<double> gpu_memory_utilization, step_overhead_ms;
  std::string chunked_prefill;
  std::string router = "least-loaded";
  bool disable_custom_all_reduce = false;
  std::optional<int> spec_tokens;         // speculative decoding: draft tokens per step
  std::optional<double> spec_acceptance;  // and their acceptance probability
  // op backend
  std::string perf = "analytical";
  std::string profile_dir;
  std::string perf_fallback;
  // SLOs
  double ttft_slo_ms = 0, tpot_slo_ms = 0;
  // output
  std::string format;
  std::string output;
  std::string* capture = nullptr;  // when set, results go here instead of stdout or -o (Python bindings)
  bool breakdown = false;          // simulate: attribute time to kernel classes
  std::string per_request;         // simulate: one CSV row per request
  // search
  std::string objective = "throughput";
  int top = 10;
  bool exhaustive = false;
  int threads = 0;
  bool allow_cross_node_tp = false;
  bool allow_fewer_gpus = false;
  std::string tune;
  std::optional<double> gpu_price;
};

void add_model_options(CLI::App& app, Options& o);
void add_cluster_options(CLI::App& app, Options& o);
void add_workload_options(CLI::App& app, Options& o);
void add_engine_options(CLI::App& app, Options& o);
void add_perf_options(CLI::App& app, Options& o);
void add_output_options(CLI::App& app, Options& o);
// The `search` subcommand with all its options (shared by apex and apex-mpi).
CLI::App* add_search_command(CLI::App& app, Options& o);
// Unknown flags: the first one, with a did-you-mean among the subcommand's flags (UserError).
void reject_extras(const CLI::App& app);

Deployment build_deployment(const Options& o, const CLI::App& app);

struct WorkloadInput {
  std::optional<Trace> trace;         // loaded (search, or files)
  std::optional<SyntheticSpec> spec;  // streamed synthetic traffic (simulate)
  std::string description;
};
WorkloadInput build_workload(const Options& o, const CLI::App& app, bool load_all);

int run_simulate(const Options& o, const CLI::App& app);
// The `simulate` subcommand with all its options (shared by apex and the Python module).
CLI::App* add_simulate_command(CLI::App& app, Options& o);
// `runner` spreads the simulations (MPI); only a rank with `print` set writes the result.
int run_search(const Options& o, const CLI::App& app, const WaveRunner& runner = {}, bool print = true);
int run_list(const std::string& what);
int run_validate_ops(const std::string& dir, const std::string& only, const std::string& format);
int run_validate_serving(const std::string& reference, const std::string& output);
// With `holdout` > 1, fits on all rows but one in `holdout` and prints the errors on the rest
// (nothing is written).
int run_calibrate(const std::string& dir, const std::string& out_path, int holdout = 0);

}  // namespace apex::cli
