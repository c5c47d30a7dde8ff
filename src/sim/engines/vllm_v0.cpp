// sim/engines/vllm_v0.cpp — vLLM 0.6.0-0.6.4 with the V0 scheduler. Defaults read from
// vllm/engine/arg_utils.py @12985d4 and vllm/config.py @42cf356 (SchedulerConfig); scheduling from
// vllm/core/scheduler.py _schedule_default / _schedule_chunked_prefill (docs/engines.md).
#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"

#include "sim/engines/engine_spec.h"
#include "sim/engines/vllm_launch.h"
#include "sim/scheduler/scheduler.h"

namespace apex {
namespace {

// The token budget V0 starts with: 512 with chunked prefill, else the whole max model length,
// which must then fit the budget's int (and the engine's token limit).
int v0_budget(bool chunked, std::int64_t max_model_len) {
  if (chunked) return 512;
  if (max_model_len > kMaxNumBatchedTokensLimit) {
    throw UserError(fmt::format(
        "vllm-0.6 without chunked prefill schedules a whole max-model-length prompt in one step, but the "
        "max model length {} exceeds the step limit of {} tokens; pass {} at most {}, or {} on",
        max_model_len, kMaxNumBatchedTokensLimit, opt("max_model_len"), kMaxNumBatchedTokensLimit,
        opt("chunked_prefill")));
  }
  return static_cast<int>(std::max<std::int64_t>(max_model_len, 2048));
}

}  // namespace

EngineSpec vllm_v0_engine() {
  EngineSpec s;
  s.name = "vllm-0.6";
  s.version = "0.6.0-0.6.4 (V0 scheduler)";
  s.description =
      "vLLM 0.6.0-0.6.4 V0 scheduler: prefill-first whole prompts, 256 seqs; chunked prefill "
      "(512-token budget, decode-first) only when max_model_len > 32K";
  s.sources =
      "vllm/engine/arg_utils.py @12985d4 and vllm/config.py @42cf356 (SchedulerConfig); "
      "vllm/core/scheduler.py _schedule_default / _schedule_chunked_prefill";
  s.defaults = [spec = s](const EngineContext& c, const EngineKnobs& o) {
    EnginePolicy p = policy_of(spec);
    // Chunked prefill is on by default only when max_model_len > 32K (CUDA, no sliding window).
    p.chunked_prefill = o.chunked_prefill.value_or(c.max_model_len > 32768);
    p.scheduler = p.chunked_prefill ? &mixed_scheduler() : &prefill_first_scheduler();
    p.max_num_seqs = 256;
    p.max_num_batched_tokens = v0_budget(p.chunked_prefill, c.max_model_len);
    p.gpu_memory_utilization = 0.9;
    p.block_size = 16;
    p.admission_watermark = 0.01;
    // CUDA graphs for decode-only batches up to 256 sequences; prefill runs eagerly.
    p.costs.graph_max_tokens = 256;
    p.costs.graph_decode_only = true;
    p.costs.step_overhead =
        2.5e-3;  // V0 synchronous scheduling + output processing (RFC #6854: ms-scale bubbles)
    p.costs.per_seq_overhead = 12e-6;
    p.supports_async_scheduling = false;  // V0 schedules synchronously (the step overhead above)
    return p;
  };
  s.launch_command = [](const LaunchContext& c) {
    // 0.6's --enable-chunked-prefill is a StoreBoolean (nargs "?"): "False" turns it off; it has
    // no --no-enable-chunked-prefill, no data or expert parallelism, no --speculative-config.
    return vllm_launch_command(
        c, c.engine.chunked_prefill ? " --enable-chunked-prefill" : " --enable-chunked-prefill False",
        c.engine.prefix_caching ? " --enable-prefix-caching" : "",
        VllmParser{.data_and_expert_parallel = false, .speculative_config = false});
  };
  return s;
}

}  // namespace apex
