// sim/engines/trtllm.cpp — TensorRT-LLM 1.0, PyTorch backend (trtllm-bench / trtllm-serve).
// Defaults read from NVIDIA/TensorRT-LLM tensorrt_llm/llmapi/llm_args.py (max_batch_size 2048,
// max_num_tokens 8192, kv_cache_free_gpu_mem_fraction 0.9) and docs/source/performance/perf-overview.md.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sim/engines/engine_spec.h"
#include "sim/scheduler/scheduler.h"

namespace apex {

EngineSpec trtllm_engine() {
  EngineSpec s;
  s.name = "trtllm";
  s.version = "1.0 (PyTorch backend)";
  s.description =
      "TensorRT-LLM 1.0 PyTorch backend (trtllm-bench): in-flight batching, max_num_tokens 8192, "
      "max_batch_size 2048, KV = 90% of free memory, overlap scheduler";
  s.sources =
      "NVIDIA/TensorRT-LLM tensorrt_llm/llmapi/llm_args.py (max_batch_size 2048, max_num_tokens 8192, "
      "kv_cache_free_gpu_mem_fraction 0.9); docs/source/performance/perf-overview.md";
  s.reported_as = {"TensorRT-LLM"};
  s.defaults = [spec = s](const EngineContext&, const EngineKnobs&) {
    EnginePolicy p = policy_of(spec);
    p.scheduler = &reserve_full_scheduler();  // CapacitySchedulerPolicy.GUARANTEED_NO_EVICT (default)
    p.chunked_prefill = true;
    p.max_num_seqs = 2048;
    p.max_num_batched_tokens = 8192;
    p.gpu_memory_utilization = 0.9;
    p.kv_free_fraction = 0.9;
    p.block_size = 32;  // tokens_per_block default
    // Generation-only batches replay CUDA graphs; the overlap scheduler hides most host work.
    p.costs.graph_max_tokens = 2048;
    p.costs.graph_decode_only = true;
    p.costs.step_overhead = 0.3e-3;
    // Per scheduled sequence on its attention rank: the executor's per-request bookkeeping and
    // sampling, which the overlap scheduler does not hide in the measured runs; fitted to the
    // TensorRT-LLM rows (data/engine_fits.json, docs/validation.md).
    p.costs.per_seq_overhead = fitted_engine_value("trtllm", "per_seq_overhead_us") * 1e-6;
    // Its CUTLASS MoE runs on the pairs its all-to-all delivered, not vLLM's masked EP kernel.
    p.costs.moe_ep_masked = false;
    p.prefix_caching = true;  // KvCacheConfig.enable_block_reuse defaults to True
    // AllReduceStrategy AUTO falls back to NCCL unless every GPU pair is P2P over NVLink, even for
    // 2 GPUs (cpp/tensorrt_llm/thop/allreduceOp.cpp ifFallbackToNCCL).
    p.costs.custom_ar_pcie_gpus = 0;
    return p;
  };
  // Flags from tensorrt_llm/commands/serve.py @4c05a74 (tests/test_launch.cpp); what the command
  // line cannot say goes into the YAML of --extra_llm_api_options (LLM API fields of
  // tensorrt_llm/llmapi/llm_args.py @fcd3f31: enable_attention_dp, speculative_config).
  s.launch_command = [](const LaunchContext& c) {
    const Plan& plan = c.plan;
    const EnginePolicy& e = c.engine;
    const LaunchLayout layout = launch_layout(c);
    const int k = e.costs.spec_tokens;
    const bool mtp = carries_mtp_module(c.model);
    std::vector<std::string> yaml;
    if (plan.attn_dp) yaml.emplace_back("enable_attention_dp: true");
    if (k > 0) {
      yaml.push_back(fmt::format("speculative_config: {{decoding_type: {}, {}: {}}}", mtp ? "MTP" : "Eagle",
                                 mtp ? "num_nextn_predict_layers" : "max_draft_len", k));
    }
    std::string cmd;
    if (!yaml.empty()) {
      std::string lines;
      for (const auto& y : yaml)
        lines += y + "\\n";
      cmd = fmt::format("printf '{}' > extra_llm_api_options.yaml && ", lines);
    }
    // A replica wider than a node: one MPI world over its nodes, trtllm-llmapi-launch on each rank.
    if (layout.nodes_per_replica > 1) {
      std::string hosts = fmt::format("<head-ip>:{}", c.gpus_per_node);
      for (int n = 1; n < layout.nodes_per_replica; ++n)
        hosts += fmt::format(",<node-{}-ip>:{}", n, c.gpus_per_node);
      cmd += fmt::format("mpirun -np {} -H {} trtllm-llmapi-launch ", layout.replica_gpus, hosts);
    }
    cmd += fmt::format(
        "trtllm-serve {} --tp_size {} --pp_size {} --max_batch_size {} --max_num_tokens {} "
        "--kv_cache_free_gpu_memory_fraction {:.2f}",
        c.model_id, plan.tp, plan.pp, e.max_num_seqs, e.max_num_batched_tokens, e.kv_free_fraction);
    if (plan.ep > 1) cmd += fmt::format(" --ep_size {}", plan.ep);
    if (e.chunked_prefill) cmd += " --enable_chunked_prefill";  // off unless asked (serve.py)
    if (c.max_model_len) cmd += fmt::format(" --max_seq_len {}", *c.max_model_len);
    if (layout.nodes_per_replica > 1) cmd += fmt::format(" --gpus_per_node {}", c.gpus_per_node);
    if (!yaml.empty()) cmd += " --extra_llm_api_options extra_llm_api_options.yaml";
    if (k > 0 && !mtp) cmd += "   # name the EAGLE draft checkpoint in speculative_config";
    if (plan.dp > 1) cmd += separate_replicas_note(plan.dp, layout.replica_gpus, "");
    return cmd;
  };
  return s;
}

}  // namespace apex
