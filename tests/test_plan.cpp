// Plan tests: stage partition, shape rejections, per-GPU memory by hand.
#include <gtest/gtest.h>

#include "core/units.h"
#include "model/registry.h"
#include "plan/plan.h"
#include "plan/sharding.h"

namespace apex {
namespace {

TEST(Plan, StagesFollowVllmPartition) {
  const Model m = load_model("llama-3.1-70b");  // 80 layers
  const auto s = split_stages(m, 3);
  ASSERT_EQ(s.size(), 3u);
  // 80 = 26·3 + 2: the two extra layers go to the stages before the last.
  EXPECT_EQ(s[0].num_layers(), 27);
  EXPECT_EQ(s[1].num_layers(), 27);
  EXPECT_EQ(s[2].num_layers(), 26);
  EXPECT_TRUE(s[0].has_embedding);
  EXPECT_FALSE(s[0].has_lm_head);
  EXPECT_TRUE(s[2].has_lm_head);
  EXPECT_EQ(s[2].end_layer, 80);
  const Model g = load_model("gemma-2-9b");  // 42 layers alternating sliding/global
  const auto gs = split_stages(g, 4);
  std::int64_t sliding = 0, global = 0;
  for (const auto& st : gs) {
    global += st.cell_counts[0];
    sliding += st.cell_counts[1];
  }
  EXPECT_EQ(sliding, 21);
  EXPECT_EQ(global, 21);
}

TEST(Plan, ShapeRejectionsNameTheirReason) {
  const Model m = load_model("llama-3.1-70b");
  const Cluster c = make_cluster("h100-sxm", 2, 8);
  auto reason = [&](int dp, int tp, int pp, PlanOptions o = {}) {
    Plan p;
    p.dp = dp;
    p.tp = tp;
    p.pp = pp;
    auto r = make_plan(m, c, p, o);
    return r ? std::string(reject_code(r->reason)) : std::string("ok");
  };
  EXPECT_EQ(reason(2, 8, 1), "ok");
  EXPECT_EQ(reason(1, 16, 1), "tp-spans-nodes");
  PlanOptions cross;
  cross.allow_cross_node_tp = true;
  EXPECT_EQ(reason(1, 16, 1, cross), "ok");
  EXPECT_EQ(reason(1, 8, 1), "gpu-count");
  EXPECT_EQ(reason(16, 1, 1), "ok");
  const Cluster c6 = make_cluster("h100-sxm", 1, 6);
  Plan p6;
  p6.tp = 6;
  EXPECT_EQ(make_plan(m, c6, p6)->reason, RejectReason::TpDividesHeads);  // 64 heads
  Plan pe;
  pe.dp = 16;
  pe.ep = 2;
  EXPECT_EQ(make_plan(m, c, pe)->reason, RejectReason::EpNeedsMoe);
}

TEST(Plan, WeightsPerGpuMatchTheParameterCount) {
  const Model m = load_model("llama-3.1-70b");
  const Cluster c = make_cluster("h100-sxm", 1, 8);
  Plan p;
  p.tp = 8;
  ASSERT_FALSE(make_plan(m, c, p));
  const Precision bf16;
  const double per_gpu = stage_weight_bytes(m, p, p.stages[0], bf16);
  // Everything is sharded 8 ways except the norms (2·hidden per layer + final), replicated.
  const double norms = 80.0 * 2 * 8192 + 8192;
  const double expected = ((m.params() - norms) / 8 + norms) * 2;
  EXPECT_NEAR(per_gpu, expected, expected * 1e-9);
  Precision fp8;
  fp8.weight = DType::FP8;
  // fp8 halves the layers; embedding and LM head stay 16-bit (2 · 128256 · 8192 / 8 params).
  const double head = 2.0 * 128256 * 8192 / 8;
  EXPECT_NEAR(stage_weight_bytes(m, p, p.stages[0], fp8), (per_gpu - head * 2) / 2 + head * 2,
              per_gpu * 1e-3);
}

TEST(Plan, KvHeadsReplicateWhenTpExceedsThem) {
  const Model m = load_model("llama-3.1-70b");  // 8 KV heads, head_dim 128, 80 layers
  const Cluster c = make_cluster("h100-sxm", 2, 8);
  Plan p8;
  p8.dp = 2;
  p8.tp = 8;
  ASSERT_FALSE(make_plan(m, c, p8));
  EXPECT_DOUBLE_EQ(stage_kv_elements_per_token(m, p8, p8.stages[0]), 80.0 * 2 * 1 * 128);
  Plan p16;
  p16.tp = 16;
  PlanOptions cross;
  cross.allow_cross_node_tp = true;
  ASSERT_FALSE(make_plan(m, c, p16, cross));
  // 16 ranks, 8 KV heads: each rank still holds one whole head (replicated), never half of one.
  EXPECT_DOUBLE_EQ(stage_kv_elements_per_token(m, p16, p16.stages[0]), 80.0 * 2 * 1 * 128);
  Plan p2;
  p2.dp = 8;
  p2.tp = 2;
  ASSERT_FALSE(make_plan(m, c, p2));
  EXPECT_DOUBLE_EQ(stage_kv_elements_per_token(m, p2, p2.stages[0]), 80.0 * 2 * 4 * 128);
}

TEST(Plan, KvCacheIsWhatRemainsOfTheBudget) {
  const Model m = load_model("llama-3.1-8b");
  const Cluster c = make_cluster("h100-sxm", 1, 1);
  Plan p;
  ASSERT_FALSE(make_plan(m, c, p));
  const MemoryKnobs k{0.9, 16, 8192, 256};
  const MemoryFootprint f = memory_footprint(m, c, p, Precision{}, k);
  EXPECT_NEAR(f.budget, c.gpu.hbm_bytes * 0.9, 1.0);
  EXPECT_NEAR(f.kv_cache, f.budget - f.weights - f.activation - f.runtime_reserve, 1.0);
  EXPECT_NEAR(f.weights, m.params() * 2, m.params() * 0.001);
  EXPECT_DOUBLE_EQ(f.kv_bytes_per_token, 32.0 * 2 * 8 * 128 * 2);  // 128 KiB per token
  EXPECT_EQ(f.kv_blocks, static_cast<std::int64_t>(std::floor(f.kv_cache / f.kv_bytes_per_token / 16)));
  // A higher utilization leaves more room for the cache, one for one.
  const MemoryFootprint g = memory_footprint(m, c, p, Precision{}, MemoryKnobs{0.95, 16, 8192, 256});
  EXPECT_NEAR(g.kv_cache - f.kv_cache, c.gpu.hbm_bytes * 0.05, 1.0);
  Precision kv8;
  kv8.kv = DType::FP8;
  EXPECT_NEAR(memory_footprint(m, c, p, kv8, k).kv_blocks, 2 * f.kv_blocks, 1);
}

TEST(Plan, PipelineStagesHoldTheirOwnLayers) {
  const Model m = load_model("llama-3.1-70b");
  const Cluster c = make_cluster("h100-sxm", 1, 8);
  Plan p;
  p.tp = 2;
  p.pp = 4;
  ASSERT_FALSE(make_plan(m, c, p));
  double total = 0;
  for (const auto& s : p.stages)
    total += stage_weight_bytes(m, p, s, Precision{}) * p.tp;
  EXPECT_NEAR(total, m.params() * 2, m.params() * 2 * 0.001);  // every weight on exactly one GPU set
}

}  // namespace
}  // namespace apex
