// sim/engines/sglang.cpp — SGLang 0.5 (2025-26 server_args defaults). Defaults read from
// sgl-project/sglang python/sglang/srt/server_args.py @001067f (_handle_gpu_memory_settings).
#include <fmt/format.h>

#include "sim/engines/engine_spec.h"
#include "sim/scheduler/scheduler.h"

namespace apex {

EngineSpec sglang_engine() {
  EngineSpec s;
  s.name = "sglang";
  s.version = "0.5 (2025-26 server_args defaults)";
  s.description =
      "SGLang (2025-26 defaults): prefill-first with chunked prefill (8192 tokens on 80-160 GB GPUs), "
      "page size 1";
  s.sources = "sgl-project/sglang python/sglang/srt/server_args.py @001067f (_handle_gpu_memory_settings)";
  s.defaults = [spec = s](const EngineContext& c, const EngineKnobs&) {
    EnginePolicy p = policy_of(spec);
    p.scheduler = &prefill_first_scheduler();
    p.chunked_prefill = true;
    const double gb = c.gpu.hbm_bytes / 1e9;
    p.max_num_batched_tokens = gb < 35 ? 2048 : gb < 60 ? 4096 : gb < 160 ? 8192 : 16384;
    p.max_num_seqs = 1024;
    p.gpu_memory_utilization = 0.88;
    p.block_size = 1;
    p.costs.graph_max_tokens = gb < 60 ? 160 : 512;
    p.costs.graph_decode_only = true;
    p.costs.step_overhead = 0.8e-3;
    p.costs.per_seq_overhead = 4e-6;
    p.prefix_caching = true;  // RadixAttention is on unless --disable-radix-cache
    return p;
  };
  // Flags from python/sglang/srt/server_args.py @001067f (tests/test_launch.cpp). --tp-size is
  // the GPUs of one replica (data_parallel_controller.py launch_dp_schedulers gives each of the
  // --dp-size replicas tp_size x pp_size GPUs); with --enable-dp-attention, --tp-size is the whole
  // group and --dp-size its attention ranks (dp == tp: attention data-parallel, experts over TP).
  s.launch_command = [](const LaunchContext& c) {
    const Plan& plan = c.plan;
    const EnginePolicy& e = c.engine;
    const LaunchLayout layout = launch_layout(c);
    const int k = e.costs.spec_tokens;
    const bool mtp = carries_mtp_module(c.model);
    // Replicas share one server (SGLang's own DP controller) only without DP attention, on one node.
    const bool native_dp = plan.dp > 1 && !plan.attn_dp && layout.one_node;
    std::string cmd = fmt::format(
        "python -m sglang.launch_server --model-path {} --tp-size {} --chunked-prefill-size {} "
        "--max-running-requests {} --mem-fraction-static {:.2f}",
        c.model_id, plan.tp, e.max_num_batched_tokens, e.max_num_seqs, e.gpu_memory_utilization);
    if (plan.attn_dp) cmd += fmt::format(" --dp-size {} --enable-dp-attention", plan.tp);
    if (native_dp) cmd += fmt::format(" --dp-size {}", plan.dp);
    if (plan.ep > 1) cmd += fmt::format(" --ep-size {}", plan.ep);
    if (plan.pp > 1) cmd += fmt::format(" --pp-size {}", plan.pp);
    if (c.precision.weight == DType::FP8) cmd += " --quantization fp8";
    if (c.precision.kv == DType::FP8) cmd += " --kv-cache-dtype fp8_e4m3";
    if (!e.prefix_caching) cmd += " --disable-radix-cache";
    if (k > 0) {
      cmd += fmt::format(
          " --speculative-algorithm {} --speculative-num-steps {} --speculative-eagle-topk 1 "
          "--speculative-num-draft-tokens {}",
          mtp ? "NEXTN" : "EAGLE", k, k + 1);
      if (!mtp) cmd += " --speculative-draft-model-path <EAGLE draft checkpoint>";
    }
    if (layout.nodes_per_replica > 1) {
      cmd += fmt::format(" --nnodes {} --node-rank <0..{}> --dist-init-addr <head-ip>:5000",
                         layout.nodes_per_replica, layout.nodes_per_replica - 1);
      cmd += fmt::format("   # run on each of the {} nodes with its rank; rank 0 on <head-ip>",
                         layout.nodes_per_replica);
    }
    if (plan.dp > 1 && !native_dp) {
      cmd +=
          separate_replicas_note(plan.dp, layout.replica_gpus,
                                 plan.attn_dp ? " (--dp-size here is one replica's data-parallel attention)"
                                              : " (they do not fit on one node)");
    }
    return cmd;
  };
  return s;
}

}  // namespace apex
