// api/api.h — the front door of the library: one request struct per command (simulate, search,
// validate, calibrate, list) holding the user's inputs by concept, and one function per command
// that turns the request into the library's inputs, runs it and returns a response. The `apex`
// command, `apex-mpi` and the Python module are thin front ends over these functions; the option
// table that fills a request from flags or keyword arguments is api/options.h.
//
// Errors: every user error is a UserError. A message that names an option names its concept with
// opt("max_num_seqs") (core/option_ref.h); the front end renders it as `--max-num-seqs` or
// `max_num_seqs=` (render_for_cli / render_for_python in api/options.h). The messages of src/api,
// src/sim, src/workload and src/perf use that convention. Some lower modules (src/search, src/plan,
// src/hw) still spell the CLI flag literally ("--max-num-seqs"); render_for_python rewrites those
// spellings of known options too until they are converted to opt(...). Library text that ends up
// in a document (a search rejection's detail, a skipped validation row) is rendered with the CLI
// spelling by the api functions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_util.h"
#include "core/progress.h"
#include "report/report.h"
#include "search/planner.h"
#include "sim/engine.h"
#include "sim/instance.h"
#include "workload/workload.h"

namespace apex::api {

// Defaults shown in --help and applied when an optional input is absent.
inline constexpr std::string_view kDefaultGpu = "h100-sxm";
inline constexpr int kDefaultNodes = 1;
inline constexpr int kDefaultGpusPerNode = 8;
inline constexpr std::string_view kDefaultActivationDtype = "bf16";
inline constexpr int kDefaultPrefixGroups = 1;

struct ModelInput {
  std::string model;  // preset name or path to a config.json (required)
  std::string weight_dtype = "bf16";
  std::string kv_dtype;                         // empty = the activation dtype
  std::optional<std::string> activation_dtype;  // absent: bf16, or fp16 on GPUs without bf16
  std::optional<std::int64_t> max_model_len;    // absent: the model's context length
  double expert_skew = 0;
  double expert_capacity_factor = 0;
};

struct ClusterInput {
  std::optional<std::string> gpu;  // absent: kDefaultGpu
  std::optional<int> nodes;
  std::optional<int> gpus_per_node;
  std::string cluster_file;  // a custom cluster JSON, exclusive with gpu/nodes/gpus_per_node
  std::optional<double> frequency_mhz;
};

struct EngineInput {
  std::string engine = "vllm";
  EngineOverrides knobs;  // the engine knobs, declared once in sim/engine.h
  std::string router = "least-loaded";
};

struct PerfInput {
  std::string backend = "analytical";  // analytical | profile
  std::string profile_dir;
  std::string fallback;  // with profile: "analytical"
};

struct SloInput {
  double ttft_ms = 0;  // 0 = none
  double tpot_ms = 0;
};

// Everything about a deployment except the plan and the traffic.
struct DeploymentInput {
  ModelInput model;
  ClusterInput cluster;
  EngineInput engine;
  PerfInput perf;
  SloInput slo;
};

// A trace, or synthetic traffic (rate, num_requests, prompt_len, output_len all given). A trace
// with arrivals may be re-rated (rate_scale); a length-only trace takes its arrivals from `rate`
// (with burstiness and seed) or is paced by a closed loop (concurrency).
struct WorkloadInput {
  std::string trace;  // CSV/JSONL path, or "@sample"
  std::optional<std::string> rate;
  std::optional<std::int64_t> num_requests;
  std::optional<std::string> prompt_len, output_len;
  std::uint64_t seed = 0;
  double burstiness = 1.0;
  int concurrency = 0;               // closed-loop clients (0 = open arrivals)
  std::optional<double> rate_scale;  // a trace with arrivals: multiply its rate (arrivals / X)
  std::optional<int> shared_prefix;
  std::optional<int> prefix_groups;
};

struct PlanInput {
  int dp = 1, tp = 1, pp = 1, ep = 1;
  bool dp_attention = false;
};

struct OutputInput {
  std::string format;  // table|json|csv|html; empty: see resolve_format
  std::string path;    // empty = the front end's stdout
  bool wide = false;   // search table: every column (--wide)
};

struct SearchInput {
  std::optional<std::string> objective;  // unset: kDefaultObjective
  std::optional<double> min_attainment;  // unset: 0.9 with an SLO, else 0
  int top = 10;
  bool exhaustive = false;
  int threads = 0;
  bool allow_cross_node_tp = false;
  bool allow_fewer_gpus = false;
  std::optional<std::string> tune;  // max-num-seqs[=a/b/..],max-num-batched-tokens[=a/b/..]; unset = none
  std::optional<double> gpu_price;
  bool fast_forward = true;  // RunOptions::fast_forward of every simulation (--no-fast-forward)
};

// The progress line of a long run (search, validate, calibrate; core/progress.h), written to the
// front end's stderr: shown when stderr is a terminal, or always with `force` (then also a last
// summary line); never with `quiet`. Nothing without `write` (the Python module).
struct ProgressInput {
  bool force = false;                           // --progress
  bool quiet = false;                           // --quiet: no progress, no per-GPU lines of calibrate
  bool terminal = false;                        // the front end's stderr is a terminal
  std::function<void(std::string_view)> write;  // the front end's stderr
};
// The meter for one run, or nullptr when none is shown. UserError for --progress with --quiet.
std::unique_ptr<Progress> make_progress(const ProgressInput& in, std::string what, std::string unit,
                                        bool breakdown = false);

struct SimulateRequest {
  DeploymentInput deployment;
  WorkloadInput workload;
  PlanInput plan;
  OutputInput output;
  bool breakdown = false;    // attribute time to kernel classes
  std::string per_request;   // CSV path: one row per request
  bool fast_forward = true;  // RunOptions::fast_forward (--no-fast-forward: step by step)
};

struct SearchRequest {
  DeploymentInput deployment;
  WorkloadInput workload;
  SearchInput search;
  OutputInput output;
  ProgressInput progress;
};

struct ValidateRequest {
  std::string what;  // ops | serving
  std::string measurements;
  std::string reference;
  std::string stage_reference;  // vllm_v1_serving.csv: measured multi-stage runs
  std::string output;           // serving: write the markdown report here
  std::string gpu;              // ops: only this GPU
  std::string format;           // ops: table (when empty) or json; serving writes markdown and takes none
  ProgressInput progress;
};

struct CalibrateRequest {
  std::string measurements;
  std::string output = "data/calibration.json";
  int holdout = 0;
  ProgressInput progress;  // also carries the line per GPU fitted (unless quiet)
};

struct ListRequest {
  std::string what;  // models | gpus | engines | objectives
};

// The library's inputs built from a request (what simulate and search run on).
Deployment build_deployment(const DeploymentInput& in, const WorkloadInput& workload);
// What the user should know about a deployment that runs but on weaker ground (a custom GPU
// without fitted op-model parameters); one sentence each, for stderr.
std::vector<std::string> deployment_warnings(const DeploymentInput& in, const Deployment& d);
struct Workload {
  std::optional<Trace> trace;         // loaded (search, or files)
  std::optional<SyntheticSpec> spec;  // streamed synthetic traffic (simulate)
  std::string description;
  // Options given that shape nothing here (a --seed with nothing drawn at random); one sentence
  // each, for stderr, like deployment_warnings.
  std::vector<std::string> warnings;
};
// `load_all`: materialize synthetic traffic into a trace (search) instead of streaming it.
Workload build_workload(const WorkloadInput& in, bool load_all);
SearchOptions build_search_options(const SearchInput& in);

// The output format: the explicit one, else from the path's extension, else table on a terminal
// and json otherwise.
Format resolve_format(const OutputInput& out, bool stdout_is_terminal);
// Output options given that do nothing in format `f` (--wide outside a table); for stderr.
std::vector<std::string> output_warnings(const OutputInput& out, Format f);
// Writes `text` to out.path, or to standard output when it is empty, checked (api/output.h):
// UserError when the file cannot be opened, OutputError when a write fails.
void write_output(const OutputInput& out, const std::string& text);

struct SimulateResponse {
  SimResult result;
  EnginePolicy engine;
  RunInfo info;
  std::vector<std::string> warnings;  // for stderr, never part of the document
  Json json() const;                  // the result object of CLI.md, with "run" and "launch"
  std::string render(Format f) const;
};
SimulateResponse simulate(const SimulateRequest& request);

struct SearchResponse {
  SearchReport report;
  RunInfo info;
  std::vector<std::string> warnings;  // for stderr, never part of the document
  Json json() const;                  // {best, plans, stats}
  std::string render(Format f) const;
};
// `runner` spreads the simulations (MPI); empty = the local thread pool.
SearchResponse search(const SearchRequest& request, const WaveRunner& runner = {});

// Text for stdout and notes for stderr.
struct TextResponse {
  std::string text;
  std::string notes;
};
TextResponse validate(const ValidateRequest& request);
TextResponse calibrate(const CalibrateRequest& request);  // writes request.output unless holdout
TextResponse list(const ListRequest& request);

}  // namespace apex::api
