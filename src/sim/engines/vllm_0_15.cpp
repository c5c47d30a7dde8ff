// sim/engines/vllm_0_15.cpp — vLLM 0.15 (V1 engine), the current release line and the default
// engine: 0.11's policy with asynchronous scheduling on. Sources (docs/engines.md):
// vllm/config/vllm.py (async_scheduling None -> True unless PP > 1 / non-EAGLE drafts / another
// executor; _set_cudagraph_sizes), vllm/v1/engine/core.py step_with_batch_queue (batch queue of 2),
// vllm/v1/core/sched/async_scheduler.py (output placeholders).
#include <string_view>

#include <fmt/format.h>

#include "sim/engines/engine_spec.h"
#include "sim/engines/vllm_launch.h"

namespace apex {
EnginePolicy vllm_v1_policy(const EngineSpec& spec, const EngineContext& c);
void vllm_v1_finalize(EnginePolicy& p, const EngineKnobs& o, const EngineContext& c);

EngineSpec vllm_0_15_engine() {
  EngineSpec s;
  s.name = "vllm";
  s.version = "0.15 (V1 engine)";
  s.description =
      "vLLM 0.15 V1 engine (OpenAI server defaults): chunked prefill, mixed batches, asynchronous "
      "scheduling, 8192-token budget and 1024 seqs on >=70 GiB GPUs (2048/256 otherwise)";
  s.sources =
      "vllm/config/vllm.py (Jan 2026); vllm/v1/engine/core.py @ac3cb2e; "
      "vllm/v1/core/sched/async_scheduler.py "
      "@7ab8a61; vllm/engine/arg_utils.py get_batch_defaults";
  s.reported_as = {"vLLM"};
  s.defaults = [spec = s](const EngineContext& c, const EngineKnobs&) {
    EnginePolicy p = vllm_v1_policy(spec, c);
    // The engine core keeps two batches in flight: step n+1 is scheduled and its inputs prepared
    // while step n runs (pipeline parallelism turns this off in 0.15; sim/replica.cpp).
    p.costs.async_scheduling = true;
    // Native CPU KV offload (--kv-offloading-backend native, --kv-offloading-size GiB; 0.14+).
    p.supports_cpu_offload = true;
    // Client-side TTFT and E2E include the API server's HTTP, tokenization and streaming.
    p.costs.frontend_latency = fitted_engine_value("vllm", "frontend_latency_ms") * 1e-3;
    return p;
  };
  s.finalize = vllm_v1_finalize;
  s.launch_command = [](const LaunchContext& c) {
    std::string extra = c.engine.prefix_caching ? "" : " --no-enable-prefix-caching";
    if (!c.engine.costs.async_scheduling) extra += " --no-async-scheduling";
    // vllm/engine/arg_utils.py (CacheConfig group): --kv-offloading-backend, --kv-offloading-size
    // (GiB summed over the TP x PP ranks of one engine).
    if (c.engine.cpu_offload_bytes > 0) {
      extra += fmt::format(" --kv-offloading-backend native --kv-offloading-size {:g}",
                           c.engine.cpu_offload_bytes / (1024.0 * 1024 * 1024));
    }
    return vllm_launch_command(c, "", extra);
  };
  return s;
}

}  // namespace apex
