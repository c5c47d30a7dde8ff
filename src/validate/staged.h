// validate/staged.h — end-to-end validation against measured multi-stage serving runs
// (../shared/reference/vllm_v1_serving.csv: vLLM 0.15.1, inference-perf shared-prefix profiles,
// Poisson load stages run back to back in one server process). Each run is simulated as one
// load profile; every stage is compared on client-side TTFT and E2E (mean and p90), the clean
// per-token decode time, and whether it saturated. The engine's front-end latency (HTTP,
// tokenization, streaming) is fitted here, in sample and leave-one-model-out.
//
// The measured rows carry no licence: they are read at validation time only, never shipped; the
// report (staged_markdown) shows errors, not the measured values.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "workload/workload.h"

namespace apex {

// Client-side figures of one load stage, seconds.
struct StageMeasure {
  double ttft_mean = 0, ttft_p90 = 0, e2e_mean = 0, e2e_p90 = 0;
};

// One measured run: its deployment, its workload (inference-perf shared_prefix) and its stages.
struct StagedRun {
  std::string id;  // the experiment column
  std::string hf_model, gpu_text, dtype_text;
  int tp = 1;
  // Server settings recorded for the run; unset ones take the values the data notes give.
  int max_num_batched_tokens = 2048;
  std::optional<int> max_num_seqs;
  std::optional<double> gpu_memory_utilization;
  bool cpu_offload = false;
  // vLLM's GPU KV-cache block count from the run's log, where the data records it.
  std::optional<std::int64_t> gpu_kv_blocks;
  // Workload: `groups` system prompts of `system_len` tokens, each request a `question_len`-token
  // question after its group's prompt, exactly `output_len` tokens out (ignore_eos).
  int groups = 1, users = 1, system_len = 0, question_len = 0, output_len = 0;
  std::vector<LoadStage> stages;
  std::vector<std::optional<StageMeasure>> measured;  // per stage
};

// Reads the long-format CSV (one metric per row; scopes `stage_<k> (...)` and `summary`).
// UserError naming the file and line for malformed content.
std::vector<StagedRun> read_staged_runs(const std::string& csv_path);

struct StageOutcome {
  double rate = 0;
  std::optional<StageMeasure> measured;
  // Engine-side simulated figures (no front-end latency), seconds, and served / offered.
  StageMeasure simulated;
  double served_fraction = 0;
  bool simulated_saturated = false, measured_saturated = false;
};

struct StagedCase {
  StagedRun run;
  std::string model, gpu;  // the APEX preset and GPU used
  std::string setup;       // the deployment, in words
  std::string skip_reason;
  std::vector<StageOutcome> stages;
  std::int64_t kv_blocks = 0;  // simulated GPU KV-cache blocks (KV tokens per replica / block size)
  bool simulated() const { return skip_reason.empty(); }
};

// The APEX model preset standing for a Hugging Face repository ("" when none).
std::string preset_for_hf_model(const std::string& hf_id);

// Simulates every run (in parallel, deterministic), engine-side. `threads` as core/parallel.h.
std::vector<StagedCase> simulate_staged(const std::vector<StagedRun>& runs, int threads,
                                        Progress* progress = nullptr);

// A stage is saturated when it serves under 97% of its offered rate, or its mean TTFT exceeds 5x
// the run's first-stage value (the measured runs report no served rate: only the TTFT test
// applies to them).
inline constexpr double kSaturatedServed = 0.97;
inline constexpr double kSaturatedTtftRatio = 5.0;

// Relative errors of one stage with front-end latency `frontend_s` added to the simulated TTFT
// and E2E (simulated / measured - 1); decode = (E2E - TTFT) / (output_len - 1), which the
// front-end latency does not change.
struct StageErrors {
  double ttft_mean = 0, ttft_p90 = 0, e2e_mean = 0, e2e_p90 = 0, decode = 0;
};
StageErrors stage_errors(const StagedCase& c, const StageOutcome& s, double frontend_s);

// The front-end latency that minimizes the median |log error| of stage mean TTFT over `cases`
// (stages measured unsaturated), on a 0.1 ms grid over [0, 50] ms.
double fit_frontend_latency(const std::vector<const StagedCase*>& cases);

struct StagedSummary {
  std::size_t stages = 0;
  double ttft_mean = 0, e2e_mean = 0, decode = 0, ttft_p90 = 0, e2e_p90 = 0;  // median |error|
  std::size_t saturation_mismatches = 0;  // stages whose saturation flag differs
};
struct StagedFit {
  double frontend_s = 0;                        // fitted on every run (in sample)
  std::map<std::string, double> lomo_frontend;  // per model: fitted on the runs of the others
  StagedSummary in_sample, out_of_sample;       // out of sample: each model with its LOMO fit
};
StagedSummary summarize_staged(const std::vector<StagedCase>& cases,
                               const std::map<std::string, double>& frontend_by_model, double fallback_s);
StagedFit fit_staged(const std::vector<StagedCase>& cases);

// The report section of docs/validation.md: summaries in and out of sample, per-stage errors
// (no measured values), the runs not simulated with why.
std::string staged_markdown(const std::vector<StagedCase>& cases, const StagedFit& fit,
                            const std::string& csv_path);

}  // namespace apex
