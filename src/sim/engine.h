// sim/engine.h — named, versioned serving-engine policies with their real defaults.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "hw/hardware.h"
#include "model/model.h"
#include "perf/cost_model.h"
#include "plan/plan.h"

namespace apex {

enum class BatchingKind : std::uint8_t {
  Mixed,        // every step: running requests first (decodes, prefill chunks), then new prefills
  PrefillFirst  // a step is all-prefill (whole prompts or chunks) when any prefill fits, else all-decode
};

struct EnginePolicy {
  std::string name;     // registry key: "vllm", "vllm-0.6", "sglang"
  std::string version;  // the engine version whose defaults these are
  std::string description;
  std::string sources;  // where the defaults come from
  BatchingKind batching = BatchingKind::Mixed;
  bool chunked_prefill = true;
  int max_num_seqs = 256;
  int max_num_batched_tokens = 2048;
  double gpu_memory_utilization = 0.9;
  int block_size = 16;
  int long_prefill_token_threshold = 0;  // cap on one request's tokens per step (0 = off)
  double admission_watermark = 0.0;      // fraction of KV blocks kept free when admitting (V0: 0.01)
  double kv_free_fraction = 0.0;         // TensorRT-LLM KV sizing (see MemoryKnobs); 0 = vLLM's
  // TensorRT-LLM's GUARANTEED_NO_EVICT capacity policy: a request is admitted only when the KV
  // blocks of its whole sequence (prompt + max output) can be reserved, so nothing is preempted.
  bool reserve_full_sequence = false;
  // vLLM V1's hybrid KV-cache manager: sliding-window and chunked-attention layers keep only the
  // blocks they still read (plan.h LocalKv); otherwise every layer keeps the whole context.
  bool free_local_kv = false;
  // Automatic prefix caching: a request whose prompt starts with a prefix whose KV blocks are
  // still cached skips computing it; cached blocks nobody uses are evicted LRU when needed.
  bool prefix_caching = false;
  EngineCosts costs;

  MemoryKnobs memory_knobs() const {
    return MemoryKnobs{gpu_memory_utilization, block_size, max_num_batched_tokens, max_num_seqs,
                       kv_free_fraction};
  }
};

struct EngineOverrides {
  std::optional<int> max_num_seqs;
  std::optional<int> max_num_batched_tokens;
  std::optional<double> gpu_memory_utilization;
  std::optional<int> block_size;
  std::optional<bool> chunked_prefill;
  std::optional<double> step_overhead_s;
  std::optional<bool> custom_all_reduce;
  std::optional<bool> prefix_caching;
  std::optional<int> spec_tokens;
  std::optional<double> spec_acceptance;
};

struct EngineInfo {
  std::string name;
  std::string description;
};
const std::vector<EngineInfo>& engine_presets();
std::vector<std::string> engine_names();

// The policy `name` as it would start for this model on this GPU (some defaults depend on the GPU
// and the model's context length), with the user's overrides applied and validated.
// `max_model_len` is the longest prompt one step must hold when chunked prefill is off.
// UserError for an unknown name or an invalid knob.
EnginePolicy resolve_engine(const std::string& name, const Gpu& gpu, std::int64_t max_model_len,
                            const EngineOverrides& overrides);

}  // namespace apex
