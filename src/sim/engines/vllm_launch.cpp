#include "sim/engines/vllm_launch.h"

#include <fmt/format.h>

namespace apex {

// Flags checked against vllm/engine/arg_utils.py (tests/test_launch.cpp names the revisions).
// What a plan means in vLLM (docs/engines.md, "Launch commands"):
//  * --tensor-parallel-size x --pipeline-parallel-size GPUs run one engine;
//  * --data-parallel-size on a dense model runs independent engine cores behind vLLM's own load
//    balancer, but on a MoE model the DP ranks step in lock-step and the expert layers span
//    DP x TP (EP = DP x TP with --enable-expert-parallel): that is data-parallel attention, one
//    replica, not independent ones;
//  * further replicas the simulator routes between are separate servers behind a load balancer.
std::string vllm_launch_command(const LaunchContext& c, std::string_view chunked_flag,
                                std::string_view prefix_flag, VllmParser parser) {
  const Plan& plan = c.plan;
  const EnginePolicy& e = c.engine;
  const LaunchLayout layout = launch_layout(c);
  const int k = e.costs.spec_tokens;
  const bool mtp = carries_mtp_module(c.model);
  const bool dp_attention = plan.attn_dp && parser.data_and_expert_parallel;
  const int tp = dp_attention ? 1 : plan.tp;
  // One server holds the plan's replicas only for a dense model on one node.
  const bool native_dp =
      !plan.attn_dp && plan.dp > 1 && parser.data_and_expert_parallel && !c.model.is_moe() && layout.one_node;
  const int dp = dp_attention ? plan.tp : native_dp ? plan.dp : 1;
  std::string cmd = fmt::format("vllm serve {} --tensor-parallel-size {} --pipeline-parallel-size {}",
                                c.model_id, tp, plan.pp);
  if (dp > 1) cmd += fmt::format(" --data-parallel-size {}", dp);
  if (plan.ep > 1 && parser.data_and_expert_parallel) cmd += " --enable-expert-parallel";
  cmd += fmt::format(
      " --max-num-seqs {} --max-num-batched-tokens {} --gpu-memory-utilization {:.2f} --block-size {}",
      e.max_num_seqs, e.max_num_batched_tokens, e.gpu_memory_utilization, e.block_size);
  if (c.max_model_len) cmd += fmt::format(" --max-model-len {}", *c.max_model_len);
  cmd += chunked_flag;
  if (!e.costs.custom_all_reduce) cmd += " --disable-custom-all-reduce";
  cmd += prefix_flag;
  if (c.precision.weight == DType::FP8) cmd += " --quantization fp8";
  if (c.precision.kv == DType::FP8) cmd += " --kv-cache-dtype fp8";
  std::string notes;
  if (k > 0) {
    if (parser.speculative_config) {
      cmd +=
          mtp ? fmt::format(" --speculative-config '{{\"method\":\"mtp\",\"num_speculative_tokens\":{}}}'", k)
              : fmt::format(
                    " --speculative-config '{{\"method\":\"eagle3\",\"model\":\"<EAGLE-3 draft "
                    "checkpoint>\",\"num_speculative_tokens\":{}}}'",
                    k);
    } else if (mtp) {
      notes +=
          "   # note: this version has no MTP drafting; the simulated speculative decoding needs a newer "
          "vLLM";
    } else {
      cmd += fmt::format(" --speculative-model <EAGLE draft checkpoint> --num-speculative-tokens {}", k);
    }
  }
  // A replica wider than a node: vLLM's Ray executor spans the nodes (TP inside a node, PP across).
  if (layout.nodes_per_replica > 1) {
    cmd += " --distributed-executor-backend ray";
    notes += fmt::format(
        "   # {} nodes: first `ray start --head --port 6379` on <head-ip> and `ray start --address "
        "<head-ip>:6379` on the other {}, then run this on <head-ip>",
        layout.nodes_per_replica, layout.nodes_per_replica - 1);
  }
  if (c.precision.weight == DType::INT4) notes += "   # serve an AWQ/GPTQ int4 checkpoint";
  if (!parser.data_and_expert_parallel && (plan.ep > 1 || plan.attn_dp)) {
    notes += fmt::format(
        "   # note: this version has no expert parallelism{}: it shards the experts over the TP ranks, "
        "not the simulated {}",
        plan.attn_dp ? " or data-parallel attention" : "", plan.label());
  } else if (plan.ep > 1 && plan.ep != plan.tp && !plan.attn_dp) {
    notes +=
        "   # note: vLLM spreads experts over all TP x DP ranks; an EP width below TP needs another engine";
  }
  if (plan.dp > 1 && !native_dp) {
    const std::string_view why =
        !parser.data_and_expert_parallel ? " (this version has no data parallelism)"
        : plan.attn_dp ? " (--data-parallel-size here is one replica's data-parallel attention)"
        : c.model.is_moe()
            ? " (--data-parallel-size on a MoE model steps its ranks in lock-step, experts over DP x TP)"
            : " (they do not fit on one node)";
    notes += separate_replicas_note(plan.dp, layout.replica_gpus, why);
  }
  return cmd + notes;
}

}  // namespace apex
