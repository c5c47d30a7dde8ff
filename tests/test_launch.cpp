// Launch commands: every emitted flag is one the engine version's own argument parser defines (the
// tables below name the parser file and the revision it was read at), and each plan shape launches
// what was simulated (issue #11).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "model/registry.h"
#include "sim/deployment.h"
#include "sim/engines/engine_spec.h"
#include "sim/instance.h"
#include "test_util.h"

namespace apex {
namespace {

using Flags = std::set<std::string>;

// vllm-project/vllm vllm/engine/arg_utils.py @99d7eb5d6a512cfcc5a2b104f24ebf2d6cda772b (v0.11.x,
// add_cli_args; boolean fields take BooleanOptionalAction, hence the --no- forms). The 0.15 engine
// adds --no-async-scheduling (same file, SchedulerConfig group) and --kv-offloading-backend /
// --kv-offloading-size (CacheConfig group of a 0.14+ revision; UNSURE of that revision's hash).
const Flags kVllmV1 = {
    "--tensor-parallel-size",          // ParallelConfig group
    "--pipeline-parallel-size",        // ParallelConfig group
    "--data-parallel-size",            // ParallelConfig group
    "--enable-expert-parallel",        // ParallelConfig group
    "--distributed-executor-backend",  // ParallelConfig group (ray for multi-node)
    "--disable-custom-all-reduce",     // ParallelConfig group
    "--max-num-seqs",                  // SchedulerConfig group
    "--max-num-batched-tokens",        // SchedulerConfig group
    "--no-async-scheduling",           // SchedulerConfig group (--async-scheduling)
    "--gpu-memory-utilization",        // CacheConfig group
    "--block-size",                    // CacheConfig group
    "--kv-cache-dtype",                // CacheConfig group
    "--no-enable-prefix-caching",      // CacheConfig group (--enable-prefix-caching)
    "--kv-offloading-backend",         // CacheConfig group (0.14+)
    "--kv-offloading-size",            // CacheConfig group (0.14+)
    "--max-model-len",                 // ModelConfig group
    "--quantization",                  // ModelConfig group
    "--speculative-config",            // VllmConfig group
};

// vllm-project/vllm vllm/engine/arg_utils.py @001999d2f360c2c5da23a916510c273b1a73d06c: the V0
// argparse parser (a revision after 0.6.4, before 0.8 added --data-parallel-size; each flag below
// is older than 0.6.0, the DP/EP flags absent). UNSURE: the exact 0.6.x revision was not readable.
const Flags kVllmV0 = {
    "--tensor-parallel-size",
    "--pipeline-parallel-size",
    "--distributed-executor-backend",
    "--max-num-seqs",
    "--max-num-batched-tokens",
    "--gpu-memory-utilization",
    "--block-size",
    "--max-model-len",
    "--enable-chunked-prefill",  // StoreBoolean, nargs "?": bare = True, "False" = off
    "--disable-custom-all-reduce",
    "--enable-prefix-caching",
    "--quantization",
    "--kv-cache-dtype",
    "--speculative-model",
    "--num-speculative-tokens",
};

// sgl-project/sglang python/sglang/srt/server_args.py @001067fffe33427bee0ed2f007fb7551a1d76b44
// (ServerArgs fields; the flag is the field name with dashes).
const Flags kSglang = {
    "--model-path",            // model_path
    "--tp-size",               // tp_size ("The tensor parallelism size.")
    "--dp-size",               // dp_size
    "--pp-size",               // pp_size
    "--ep-size",               // ep_size
    "--enable-dp-attention",   // enable_dp_attention ("The dp size should be equal to the tp size")
    "--nnodes",                // nnodes
    "--node-rank",             // node_rank
    "--dist-init-addr",        // dist_init_addr
    "--chunked-prefill-size",  // chunked_prefill_size
    "--max-running-requests",  // max_running_requests
    "--mem-fraction-static",   // mem_fraction_static
    "--quantization",          // quantization (choices include fp8)
    "--kv-cache-dtype",        // kv_cache_dtype (choices include fp8_e4m3)
    "--disable-radix-cache",   // disable_radix_cache
    "--speculative-algorithm",
    "--speculative-num-steps",
    "--speculative-eagle-topk",
    "--speculative-num-draft-tokens",
    "--speculative-draft-model-path",
};

// NVIDIA/TensorRT-LLM tensorrt_llm/commands/serve.py @4c05a74891e4df8066f08ed4ce14b0972abe4e25
// (click options of `trtllm-serve serve`).
const Flags kTrtllm = {
    "--tp_size",
    "--pp_size",
    "--ep_size",
    "--max_batch_size",
    "--max_num_tokens",
    "--kv_cache_free_gpu_memory_fraction",
    "--enable_chunked_prefill",
    "--max_seq_len",
    "--gpus_per_node",
    "--extra_llm_api_options",
};

// The --flags of a command, comments (after '#') and the launcher words (mpirun's -np/-H) aside.
Flags flags_of(const std::string& cmd) {
  std::istringstream in(cmd.substr(0, cmd.find('#')));
  Flags out;
  for (std::string w; in >> w;)
    if (w.rfind("--", 0) == 0) out.insert(w);
  return out;
}

struct Case {
  std::string model;
  int dp, tp, pp, ep;
  bool attn_dp;
  int nodes;
  DType weight = DType::BF16;
  DType kv = DType::BF16;
};

std::string launch(const std::string& engine, const Case& k, std::optional<std::int64_t> len = {}) {
  Deployment d;
  d.model = load_model(k.model);
  d.cluster = make_cluster("h100-sxm", k.nodes, 8);
  d.engine = engine;
  d.precision.weight = k.weight;
  d.precision.kv = k.kv;
  Plan p;
  p.dp = k.dp;
  p.tp = k.tp;
  p.pp = k.pp;
  p.ep = k.ep;
  p.attn_dp = k.attn_dp;
  return launch_command(d.model, d.precision, p, d.engine_policy(), len, d.cluster.gpus_per_node);
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
      {"llama-3.1-8b", 2, 4, 1, 1, false, 1},
      {"llama-3.1-8b", 4, 4, 1, 1, false, 2, DType::FP8, DType::FP8},
      {"llama-3.1-70b", 1, 8, 2, 1, false, 2},
      {"mixtral-8x7b", 2, 4, 1, 1, false, 1},
      {"mixtral-8x7b", 1, 8, 1, 8, false, 1},
      {"mixtral-8x7b", 1, 8, 1, 8, true, 1},
      {"mixtral-8x7b", 2, 8, 1, 8, true, 2},
      {"mixtral-8x7b", 1, 8, 1, 2, false, 1},
      {"deepseek-v3", 1, 8, 2, 8, true, 2, DType::FP8},
  };
  return c;
}

TEST(Launch, PrintsEveryCaseWhenAsked) {
  if (!std::getenv("APEX_PRINT_LAUNCH")) GTEST_SKIP();
  for (const char* e : {"vllm", "vllm-0.11", "vllm-0.6", "sglang", "trtllm"})
    for (const Case& k : cases())
      std::printf("%s %s dp%d-tp%d-pp%d-ep%d%s: %s\n", e, k.model.c_str(), k.dp, k.tp, k.pp, k.ep,
                  k.attn_dp ? "-dpattn" : "", launch(e, k).c_str());
}

TEST(Launch, EveryFlagIsInTheEnginesOwnParser) {
  const std::vector<std::pair<std::string, const Flags*>> engines = {{"vllm", &kVllmV1},
                                                                     {"vllm-0.11", &kVllmV1},
                                                                     {"vllm-0.6", &kVllmV0},
                                                                     {"sglang", &kSglang},
                                                                     {"trtllm", &kTrtllm}};
  for (const auto& [engine, table] : engines) {
    for (const Case& k : cases()) {
      const std::string cmd = launch(engine, k, 8192);
      const Flags used = flags_of(cmd);
      EXPECT_FALSE(used.empty()) << cmd;
      for (const std::string& f : used)
        EXPECT_TRUE(table->count(f)) << engine << " has no " << f << ": " << cmd;
    }
  }
}

TEST(Launch, SglangTpIsPerReplica) {
  // dp2-tp4 on one node: two replicas of TP 4 in one server (8 GPUs), not --tp 8.
  const std::string dense = launch("sglang", {"llama-3.1-8b", 2, 4, 1, 1, false, 1});
  EXPECT_CONTAINS(dense, " --tp-size 4 ");
  EXPECT_CONTAINS(dense, " --dp-size 2");
  EXPECT_EQ(dense.find("--enable-dp-attention"), std::string::npos);
  // Data-parallel attention: --tp-size is the group, --dp-size == --tp-size.
  const std::string dpattn = launch("sglang", {"mixtral-8x7b", 1, 8, 1, 8, true, 1});
  EXPECT_CONTAINS(dpattn, " --tp-size 8 ");
  EXPECT_CONTAINS(dpattn, " --dp-size 8 --enable-dp-attention --ep-size 8");
  // Two replicas of a dp-attention group are two servers.
  EXPECT_CONTAINS(launch("sglang", {"mixtral-8x7b", 2, 8, 1, 8, true, 2}), "# x2 servers of 8 GPUs each");
}

TEST(Launch, VllmMoeReplicasAreSeparateServers) {
  const std::string moe = launch("vllm", {"mixtral-8x7b", 2, 4, 1, 1, false, 1});
  EXPECT_EQ(moe.substr(0, moe.find('#')).find("--data-parallel-size"), std::string::npos) << moe;
  EXPECT_CONTAINS(moe, "--tensor-parallel-size 4 ");
  EXPECT_CONTAINS(moe,
                  "# x2 servers of 4 GPUs each behind a load balancer (--data-parallel-size on a MoE model");
  // A dense model's DP ranks are independent engines: one server with --data-parallel-size.
  const std::string dense = launch("vllm", {"llama-3.1-8b", 2, 4, 1, 1, false, 1});
  EXPECT_CONTAINS(dense, "--tensor-parallel-size 4 --pipeline-parallel-size 1 --data-parallel-size 2 ");
  EXPECT_EQ(dense.find('#'), std::string::npos) << dense;
  // DP attention with EP over the group: vLLM's DP x TP 1 with expert parallelism.
  EXPECT_CONTAINS(launch("vllm", {"mixtral-8x7b", 1, 8, 1, 8, true, 1}),
                  "--tensor-parallel-size 1 --pipeline-parallel-size 1 --data-parallel-size 8 "
                  "--enable-expert-parallel");
}

TEST(Launch, Vllm06SaysWhatItCannotExpress) {
  const std::string dpattn = launch("vllm-0.6", {"mixtral-8x7b", 1, 8, 1, 8, true, 1});
  EXPECT_EQ(dpattn.find("--data-parallel-size"), std::string::npos);
  EXPECT_EQ(dpattn.find("--enable-expert-parallel"), std::string::npos);
  EXPECT_CONTAINS(dpattn, "--tensor-parallel-size 8 ");
  EXPECT_CONTAINS(dpattn, "# note: this version has no expert parallelism or data-parallel attention");
  const std::string dense = launch("vllm-0.6", {"llama-3.1-8b", 2, 4, 1, 1, false, 1});
  EXPECT_CONTAINS(
      dense, "# x2 servers of 4 GPUs each behind a load balancer (this version has no data parallelism)");
  EXPECT_EQ(dense.find("--no-enable-chunked-prefill"), std::string::npos);
}

TEST(Launch, TrtllmAttentionDpGoesIntoTheExtraOptions) {
  const std::string cmd = launch("trtllm", {"mixtral-8x7b", 1, 8, 1, 8, true, 1});
  EXPECT_EQ(
      cmd.rfind("printf 'enable_attention_dp: true\\n' > extra_llm_api_options.yaml && trtllm-serve ", 0), 0u)
      << cmd;
  EXPECT_CONTAINS(cmd, " --tp_size 8 ");
  EXPECT_CONTAINS(cmd, " --ep_size 8");
  EXPECT_CONTAINS(cmd, " --extra_llm_api_options extra_llm_api_options.yaml");
  EXPECT_EQ(launch("trtllm", {"mixtral-8x7b", 1, 8, 1, 8, false, 1}).find("extra_llm_api_options"),
            std::string::npos);
}

TEST(Launch, MultiNodePlansSayNodesRanksAndHead) {
  const Case pp2{"llama-3.1-70b", 1, 8, 2, 1, false, 2};  // 16 GPUs, one replica over 2 nodes
  EXPECT_CONTAINS(launch("sglang", pp2), " --nnodes 2 --node-rank <0..1> --dist-init-addr <head-ip>:5000");
  const std::string v = launch("vllm", pp2);
  EXPECT_CONTAINS(v, " --distributed-executor-backend ray");
  EXPECT_CONTAINS(v, "ray start --head --port 6379` on <head-ip>");
  EXPECT_CONTAINS(launch("vllm-0.6", pp2), " --distributed-executor-backend ray");
  const std::string t = launch("trtllm", pp2);
  EXPECT_EQ(t.rfind("mpirun -np 16 -H <head-ip>:8,<node-1-ip>:8 trtllm-llmapi-launch trtllm-serve ", 0), 0u)
      << t;
  EXPECT_CONTAINS(t, " --gpus_per_node 8");
  // Replicas on one node each need no multi-node launch.
  const std::string one = launch("sglang", {"llama-3.1-8b", 4, 4, 1, 1, false, 2});
  EXPECT_EQ(one.find("--nnodes"), std::string::npos);
  EXPECT_CONTAINS(one, "# x4 servers of 4 GPUs each behind a load balancer (they do not fit on one node)");
}

TEST(Launch, ConfigPathGivesItsFolder) {
  Model m = load_model("llama-3.1-8b");
  m.name = "cfg.json";
  EXPECT_EQ(launch_model_id(m), ".");
  m.name = "models/llama/config.json";
  EXPECT_EQ(launch_model_id(m), "models/llama");
  m.name = "models/llama";  // a folder holding config.json
  EXPECT_EQ(launch_model_id(m), "models/llama");
  EXPECT_EQ(launch_model_id(load_model("llama-3.1-8b")), "meta-llama/Llama-3.1-8B-Instruct");
}

}  // namespace
}  // namespace apex
