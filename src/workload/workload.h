// workload/workload.h — requests, traces and synthetic traffic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/units.h"

namespace apex {

// The longest prompt or output a request may have (trace files and length distributions): far
// above any model's context, and small enough that sums of lengths stay exact in 32 bits.
constexpr std::int32_t kMaxRequestTokens = 1 << 24;  // 16,777,216
// The longest line a trace file may have (a request is a few dozen bytes; a line without an end,
// like /dev/zero, stops here).
constexpr std::size_t kMaxTraceLineBytes = 1u << 20;  // 1 MiB

struct Request {
  std::uint64_t id = 0;     // globally unique within a run (arrival order)
  TimeNs arrival = 0;       // ns from the start of the trace
  std::int32_t prompt = 0;  // prompt tokens (>= 1)
  std::int32_t output = 0;  // tokens to generate (>= 1)
  // Prefix sharing: the first `prefix` prompt tokens are the same for every request of
  // `prefix_group` (a system prompt, a shared document, earlier turns); -1 = none.
  std::int64_t prefix_group = -1;
  std::int32_t prefix = 0;
  // The load stage the request arrived in (SyntheticSpec::stages); 0 for a trace or a single rate.
  std::int32_t stage = 0;
};

// A stream of requests in arrival order. The simulator pulls from it lazily, so a synthetic
// source or a file reader never holds the whole trace in memory.
class RequestSource {
 public:
  virtual ~RequestSource() = default;
  // Fills `out` with the next request; false at the end. Throws UserError on bad input
  // (file:line), so a bad row deep inside a large file is still reported precisely.
  virtual bool next(Request& out) = 0;
  // False for a length-only trace (no arrival times: every request arrives at t = 0).
  virtual bool has_arrivals() const { return true; }
};

// A fully loaded trace, for repeated simulation (the planner simulates it once per plan).
struct Trace {
  std::string name;
  std::vector<Request> requests;
  // False for a length-only trace (CSV without arrival_s): its arrivals are 0 until given by
  // assign_arrivals or paced by a closed loop.
  bool has_arrivals = true;

  std::int32_t max_prompt() const;
  std::int32_t max_total() const;  // max prompt + output
  double mean_prompt() const;
  double mean_output() const;
  double span_seconds() const;  // last arrival - first arrival
};

std::unique_ptr<RequestSource> source_of(const Trace& trace);  // streams a loaded trace (no copy)

// Trace files: CSV with header `arrival_s,prompt_tokens,output_tokens` (any column order, extra
// columns ignored; without arrival_s a length-only trace, Trace::has_arrivals false) or APEX-style
// JSONL (`StartTimeOffset` ns, `ContextTokens`, `GeneratedTokens`).
// The format is detected from the first non-blank character ('{' means JSONL) after an optional
// UTF-8 byte-order mark. A CSV header names each column once and a row has at most as many fields
// as the header; a prefix group has one prefix length throughout the file.
std::unique_ptr<RequestSource> open_trace(const std::string& path);
Trace load_trace(const std::string& path);  // whole file; UserError when it has no requests

// Re-rates a trace keeping its arrival shape: every arrival time divided by `factor` (> 0 and
// finite; `where` names it in the UserError). UserError when an arrival leaves the simulated horizon.
void scale_arrivals(Trace& trace, double factor, const std::string& where);

// Token-length distributions: "512" (fixed), "uniform:LO:HI", "normal:MEAN:STD",
// "lognormal:MEAN:STD" (parameters of the length itself, not of its log). Samples are >= 1.
// Every parameter is at most kMaxRequestTokens, so samples stay finite and within it.
struct LengthDist {
  enum class Kind { Fixed, Uniform, Normal, LogNormal } kind = Kind::Fixed;
  double a = 0, b = 0;
  static LengthDist parse(const std::string& text, const std::string& where);
  double mean() const;
  std::int32_t max_value() const;  // upper bound used for feasibility checks (p99.9 for unbounded)
};

// One stage of a load profile: arrivals at `rate` requests/s for `duration_s` seconds.
struct LoadStage {
  double rate = 0;
  double duration_s = 0;
};
constexpr std::size_t kMaxLoadStages = 64;

// A load profile "RATE:DURATION_S[,RATE:DURATION_S...]" ("8:600,20:600": 8 req/s for 600 s, then
// 20 req/s for 600 s). Rates and durations are positive finite numbers; at most kMaxLoadStages
// stages. UserError naming `where` with the accepted form.
std::vector<LoadStage> parse_load_stages(const std::string& text, const std::string& where);
// True when `text` is written as a load profile (has a ':' or ','), not as a single rate.
bool is_load_profile(const std::string& text);

struct SyntheticSpec {
  double rate = 1.0;        // requests/s; +inf = every request arrives at t = 0
  double burstiness = 1.0;  // coefficient of variation of inter-arrival gaps (1 = Poisson; Gamma otherwise),
                            // within [kMinBurstiness, kMaxBurstiness]
  std::int64_t num_requests = 100;
  LengthDist prompt, output;
  std::uint64_t seed = 0;
  // Shared prefix: every prompt starts with `shared_prefix` tokens common to its group (request i
  // is in group i mod prefix_groups); the prompt is the prefix plus a sample of `prompt`.
  std::int32_t shared_prefix = 0;
  std::int32_t prefix_groups = 1;
  // A load profile (non-empty): stage k runs from the end of stage k-1 (the first from t = 0) for
  // its duration, with arrivals at its rate (Poisson, or Gamma gaps with `burstiness`, restarted
  // at the stage's start); the first request arrives at t = 0 as with a single rate, and the run
  // ends with the last arrival before the last stage's end. `rate` and `num_requests` are unused.
  std::vector<LoadStage> stages{};
};

// The Gamma sampler's shape is 1 / burstiness^2: outside this range it is not finite (a hang or a NaN).
constexpr double kMinBurstiness = 1e-3;
constexpr double kMaxBurstiness = 1e3;

// Seeded and reproducible on every platform (APEX uses its own samplers, not <random>'s
// implementation-defined distributions).
std::unique_ptr<RequestSource> synthetic_source(const SyntheticSpec& spec);
Trace synthesize(const SyntheticSpec& spec);

// Arrivals for a length-only trace, as synthetic traffic has them: the first request at t = 0, then
// gaps of the arrival process at `rate` requests/s (Poisson, or Gamma with `burstiness`; +inf = all
// at t = 0) drawn from `seed`. Every request keeps its lengths and order.
void assign_arrivals(Trace& trace, double rate, double burstiness, std::uint64_t seed);

// The sample trace compiled into the binary (the first 100 requests of APEX+ llama creation_05,
// MIT licence, see data/README.md).
Trace embedded_sample_trace();

}  // namespace apex
