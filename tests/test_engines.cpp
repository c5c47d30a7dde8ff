// Engine, scheduler, router and KV seams: an engine with its own scheduler registered from this
// file at run time and simulated (closed form), the built-in engines resolving everywhere, the
// routers, the block pool and the group-LRU prefix cache.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/option_ref.h"
#include "model/registry.h"
#include "report/report.h"
#include "sim/engines/engine_spec.h"
#include "sim/instance.h"
#include "sim/kv/group_lru_prefix_cache.h"
#include "sim/router/router.h"
#include "sim/scheduler/scheduler.h"
#include "sim_shapes.h"
#include "test_util.h"

namespace apex {
namespace {

// One request at a time: its whole prompt in one step, then one decode per step, then the next.
class SerialScheduler final : public BatchScheduler {
 public:
  using BatchScheduler::BatchScheduler;

 protected:
  bool build(MicroBatch& mb) override {
    if (running_.empty()) {
      if (waiting_.empty()) return false;
      std::int64_t budget = std::int64_t{1} << 30;
      return admit_head(mb, budget, 0);
    }
    const std::int32_t slot = running_.front();
    if (at(slot).in_flight || !allocate_or_preempt(slot, 1)) return false;
    add_to_batch(mb, slot, 1);
    return true;
  }
};

std::unique_ptr<BatchScheduler> make_serial(const SchedulerContext& c) {
  return std::make_unique<SerialScheduler>(c);
}
const SchedulerSpec kSerial{"serial", "one request at a time", false, &make_serial};

void register_toy_engine() {
  EngineSpec s;
  s.name = "toy-serial";
  s.version = "1";
  s.description = "a test engine that serves one request at a time";
  s.sources = "tests/test_engines.cpp";
  s.defaults = [spec = s](const EngineContext&, const EngineKnobs&) {
    EnginePolicy p = policy_of(spec);
    p.scheduler = &kSerial;
    p.max_num_seqs = 1;
    p.max_num_batched_tokens = 8192;
    p.costs.step_overhead = 2e-3;
    p.costs.per_seq_overhead = 0;
    return p;
  };
  s.launch_command = [](const LaunchContext& c) {
    return fmt::format("toy-serve {} --tp {}", c.model_id, c.plan.tp);
  };
  register_engine(std::move(s));
}

TEST(Engines, ToyEngineRegisteredAtRunTimeServesRequestsBackToBack) {
  register_toy_engine();
  EXPECT_EQ(find_engine("toy-serial").name, "toy-serial");
  const auto names = engine_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "toy-serial"), names.end());

  Deployment d;
  d.model = load_model("llama-3.1-8b");
  d.cluster = make_cluster("h100-sxm", 1, 1);
  d.max_model_len = 8192;
  d.engine = "toy-serial";
  Plan p;
  make_plan_or_throw(d, p);
  const EnginePolicy e = d.engine_policy();
  ASSERT_EQ(e.scheduler, &kSerial);
  EXPECT_EQ(launch_command(d, p, e), "toy-serve meta-llama/Llama-3.1-8B-Instruct --tp 1");

  // Three requests at t = 0: each waits for the previous one, so its E2E is the sum of the
  // service times so far, a service time being its prefill step plus one decode step per token.
  const std::vector<std::pair<int, int>> lengths = {{300, 5}, {1000, 3}, {50, 8}};
  Trace t;
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    t.requests.push_back(Request{i, 0, lengths[i].first, lengths[i].second});
  }
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  std::vector<double> e2e, ttft;
  TimeNs clock = 0;
  for (const auto& [prompt, output] : lengths) {
    clock += testing::iteration_ns(cost, testing::prefill_shape(prompt));
    ttft.push_back(ns_to_seconds(clock));
    for (int j = 1; j < output; ++j)
      clock += testing::iteration_ns(cost, testing::decode_shape(prompt + j));
    e2e.push_back(ns_to_seconds(clock));
  }
  auto src = source_of(t);
  const SimResult r = simulate_plan(d, p, *src, {}, true);
  ASSERT_EQ(r.request_records.size(), 3u);
  EXPECT_EQ(r.engine, "toy-serial");
  EXPECT_EQ(r.preemptions, 0u);
  EXPECT_EQ(r.iterations, 3u + (5 - 1) + (3 - 1) + (8 - 1));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.request_records[i].id, i);  // completion order is arrival order
    EXPECT_DOUBLE_EQ(r.request_records[i].ttft, ttft[i]);
    EXPECT_DOUBLE_EQ(r.request_records[i].e2e, e2e[i]);
  }
  EXPECT_DOUBLE_EQ(r.makespan, e2e.back());
  EXPECT_DOUBLE_EQ(r.mean_batch_seqs, 1.0);
}

TEST(Engines, EveryBuiltInEngineResolvesOnEveryGpuWithItsOwnIdentity) {
  for (const auto& spec : engine_registry()) {
    if (spec.name == "toy-serial") continue;
    for (const Gpu& g : gpu_presets()) {
      const EnginePolicy p = resolve_engine(spec.name, g, 8192, {});
      EXPECT_EQ(p.name, spec.name);
      EXPECT_EQ(p.version, spec.version);
      ASSERT_NE(p.scheduler, nullptr) << spec.name;
      EXPECT_GE(p.max_num_batched_tokens, 1);
      EXPECT_GE(p.max_num_seqs, 1);
    }
  }
  const std::string msg = testing::user_error_of([] { find_engine("sglng"); });
  EXPECT_CONTAINS(msg, "did you mean 'sglang'");
}

TEST(Engines, SchedulersFollowTheEngine) {
  const Gpu& h100 = find_gpu("h100-sxm");
  EXPECT_EQ(resolve_engine("vllm", h100, 8192, {}).scheduler, &mixed_scheduler());
  EXPECT_EQ(resolve_engine("sglang", h100, 8192, {}).scheduler, &prefill_first_scheduler());
  EXPECT_EQ(resolve_engine("trtllm", h100, 8192, {}).scheduler, &reserve_full_scheduler());
  EXPECT_EQ(resolve_engine("vllm-0.6", h100, 8192, {}).scheduler, &prefill_first_scheduler());
  EngineKnobs chunked;
  chunked.chunked_prefill = true;
  const EnginePolicy v0 = resolve_engine("vllm-0.6", h100, 8192, chunked);
  EXPECT_EQ(v0.scheduler, &mixed_scheduler());
  EXPECT_EQ(v0.max_num_batched_tokens, 512);  // V0's chunked budget
}

TEST(Engines, KnobsMergeKnobByKnob) {
  EngineKnobs base, over;
  base.max_num_seqs = 8;
  base.block_size = 32;
  over.max_num_seqs = 64;
  over.spec_tokens = 2;
  const EngineKnobs m = base.merged_with(over);
  EXPECT_EQ(m.max_num_seqs, 64);
  EXPECT_EQ(m.block_size, 32);
  EXPECT_EQ(m.spec_tokens, 2);
  EXPECT_FALSE(m.gpu_memory_utilization.has_value());
  int knobs = 0;
  EngineKnobs::for_each_knob([&](auto) { ++knobs; });
  EXPECT_EQ(knobs, 10);
}

TEST(Routers, RoundRobinCyclesAndLeastLoadedPicksTheLowestLoad) {
  auto rr = find_router("round-robin").make();
  const std::vector<std::size_t> loads = {5, 0, 9};
  EXPECT_EQ(rr->route(loads), 0u);
  EXPECT_EQ(rr->route(loads), 1u);
  EXPECT_EQ(rr->route(loads), 2u);
  EXPECT_EQ(rr->route(loads), 0u);
  auto ll = find_router("least-loaded").make();
  EXPECT_EQ(ll->route(loads), 1u);
  const std::vector<std::size_t> tie = {3, 2, 2};
  EXPECT_EQ(ll->route(tie), 1u);  // ties go to the lowest index
  EXPECT_CONTAINS(testing::user_error_of([] { parse_router("least-loadd"); }), "did you mean 'least-loaded'");
}

TEST(Kv, BlockPoolCountsBlocksWithLocalLayersFreed) {
  BlockPool plain(100, 16, LocalKv{});
  EXPECT_EQ(plain.blocks_for(1), 1);
  EXPECT_EQ(plain.blocks_for(16), 1);
  EXPECT_EQ(plain.blocks_for(17), 2);
  // Half of the KV in local layers that keep 64 tokens: 1000 tokens hold 0.5·1000 + 0.5·64 = 532.
  BlockPool local(100, 16, LocalKv{0.5, 64});
  EXPECT_EQ(local.blocks_for(1000), (532 + 15) / 16);
  EXPECT_TRUE(local.try_reserve(60));
  EXPECT_FALSE(local.try_reserve(41));
  local.unreserve(60);
  EXPECT_TRUE(local.try_reserve(100));
}

TEST(Kv, GroupLruPrefixCacheSharesHitsAndEvictsTheLeastRecentlyUsed) {
  KvManager kv(10, 16, LocalKv{}, &group_lru_prefix_cache());
  auto request = [](std::int64_t group) {
    ActiveRequest a;
    a.prompt = 100;
    a.output = 4;
    a.prefix_group = group;
    a.prefix = 40;  // 32 cacheable tokens (two blocks)
    return a;
  };
  ActiveRequest a = request(1), b = request(2);
  EXPECT_EQ(kv.prefix_cache().acquire(a), 0);  // nothing cached yet
  ASSERT_TRUE(kv.allocate(a, 100));            // 7 blocks
  a.computed = 100;
  kv.prefix_cache().on_computed(a);  // group 1's 2 prefix blocks move to the cache
  EXPECT_EQ(a.blocks, 5);
  EXPECT_EQ(a.shared_blocks, 2);
  kv.release(a, 10);  // 5 private blocks back; the prefix stays cached, unreferenced
  EXPECT_EQ(kv.pool().free(), 8);
  ActiveRequest a2 = request(1);
  EXPECT_EQ(kv.prefix_cache().acquire(a2), 32);  // a hit: computed starts after the prefix
  EXPECT_EQ(a2.computed, 32);
  kv.release(a2, 20);
  ASSERT_TRUE(kv.allocate(b, 100));  // 7 of the 8 free blocks
  b.computed = 100;
  kv.prefix_cache().on_computed(b);
  kv.release(b, 30);  // groups 1 (used at 20) and 2 (at 30) cached: 4 blocks, 6 free
  EXPECT_EQ(kv.pool().free(), 6);
  EXPECT_TRUE(kv.conserved());
  EXPECT_TRUE(kv.make_free(8));  // evicts group 1 only (least recently used)
  EXPECT_EQ(kv.pool().free(), 8);
  ActiveRequest again1 = request(1), again2 = request(2);
  EXPECT_EQ(kv.prefix_cache().acquire(again1), 0);
  EXPECT_EQ(kv.prefix_cache().acquire(again2), 32);
  EXPECT_FALSE(kv.conserved());  // group 2 is referenced again
  kv.release(again2, 40);
  EXPECT_TRUE(kv.conserved());
  EXPECT_FALSE(kv.make_free(11));
}

}  // namespace
}  // namespace apex

// ---- Hardening (issue #10): the count knobs are bounded where every engine's knobs are validated,
// ---- so no engine forms an overflowing product with them (vLLM: 2 x max_num_seqs graph sizes).
namespace apex {
namespace {

TEST(EngineKnobs, CountKnobsHaveAnUpperLimitNamedInTheMessage) {
  const Gpu& g = find_gpu("h100-sxm");
  for (const auto& spec : engine_registry()) {
    if (spec.name == "toy-serial") continue;
    SCOPED_TRACE(spec.name);
    EngineOverrides o;
    o.max_num_seqs = kMaxNumSeqsLimit + 1;
    EXPECT_EQ(testing::user_error_of([&] { (void)resolve_engine(spec.name, g, 8192, o); }),
              fmt::format("{} must be at most 1048576 sequences per step, got 1048577", opt("max_num_seqs")));
    o.max_num_seqs.reset();
    o.max_num_batched_tokens = 2000000000;
    EXPECT_EQ(testing::user_error_of([&] { (void)resolve_engine(spec.name, g, 8192, o); }),
              fmt::format("{} must be at most 268435456 tokens per step, got 2000000000",
                          opt("max_num_batched_tokens")));
  }
  EngineOverrides at_limit;
  at_limit.max_num_seqs = kMaxNumSeqsLimit;
  at_limit.max_num_batched_tokens = kMaxNumBatchedTokensLimit;
  const EnginePolicy p = resolve_engine("vllm", g, 8192, at_limit);
  EXPECT_EQ(p.max_num_seqs, kMaxNumSeqsLimit);
  EXPECT_EQ(p.costs.graph_max_tokens, 512);  // min(2 x max_num_seqs, 512), no overflow
}

TEST(CustomAllReduce, VllmSymmetricMemoryTiersOnHopper) {
  // all_reduce_utils.py: custom below min(CUSTOM_ALL_REDUCE_MAX_SIZES["9.0"][tp], 8 MiB), torch
  // symm-mem below SYMM_MEM_ALL_REDUCE_MAX_SIZES["9.0"][tp], NCCL above.
  constexpr double MiB = 1024.0 * 1024;
  const EngineCosts h100 = resolve_engine("vllm", find_gpu("h100-sxm"), 8192, {}).costs;
  EXPECT_EQ(h100.custom_ar_max_bytes[2], 8 * MiB);
  EXPECT_EQ(h100.custom_ar_max_bytes[4], 8 * MiB);
  EXPECT_EQ(h100.custom_ar_max_bytes[6], MiB / 2);
  EXPECT_EQ(h100.custom_ar_max_bytes[8], MiB / 4);
  EXPECT_TRUE(h100.uses_custom_all_reduce(8, 1, true, 128 * 1024));  // a small decode step
  EXPECT_FALSE(h100.uses_custom_all_reduce(8, 1, true, 1.5 * MiB));  // 128 seqs x 6144 x 2 B
  EXPECT_TRUE(h100.uses_symm_mem_all_reduce(8, 1, true, 1.5 * MiB));
  EXPECT_FALSE(h100.uses_symm_mem_all_reduce(8, 1, true, 64 * MiB));  // NCCL
  EXPECT_FALSE(h100.uses_custom_all_reduce(8, 1, true, 64 * MiB));
  const EngineCosts b200 = resolve_engine("vllm", find_gpu("b200"), 8192, {}).costs;
  EXPECT_EQ(b200.custom_ar_max_bytes[8], MiB);
  EXPECT_EQ(b200.symm_mem_max_bytes[8], 128 * MiB);
  // No symmetric-memory table for Ampere / Ada / Volta: vLLM's 8 MiB default, then NCCL.
  for (const char* gpu : {"a100-sxm-80gb", "l40s", "v100-pcie-16gb"}) {
    const EngineCosts e = resolve_engine("vllm", find_gpu(gpu), 8192, {}).costs;
    EXPECT_EQ(e.custom_ar_max_bytes[8], 8 * MiB) << gpu;
    EXPECT_EQ(e.symm_mem_max_bytes[8], 0) << gpu;
  }
  // vLLM 0.6 predates the symmetric-memory tier.
  EXPECT_EQ(resolve_engine("vllm-0.6", find_gpu("h100-sxm"), 8192, {}).costs.custom_ar_max_bytes[8], 8 * MiB);
}

TEST(CustomAllReduce, EnginesOnPcieGpus) {
  // vLLM and SGLang (same rule): 2 PCIe GPUs run the custom kernel, 4 do not; TensorRT-LLM falls
  // back to NCCL without NVLink at any size (allreduceOp.cpp ifFallbackToNCCL).
  for (const Gpu& g : gpu_presets()) {
    if (g.intra_node.fully_connected) continue;
    SCOPED_TRACE(g.name);
    for (const char* engine : {"vllm", "vllm-0.6", "sglang"}) {
      const EngineCosts e = resolve_engine(engine, g, 8192, {}).costs;
      EXPECT_TRUE(e.uses_custom_all_reduce(2, 1, false, 16384)) << engine;
      EXPECT_FALSE(e.uses_custom_all_reduce(4, 1, false, 16384)) << engine;
      EXPECT_FALSE(e.uses_custom_all_reduce(8, 1, false, 16384)) << engine;
    }
    EXPECT_FALSE(resolve_engine("trtllm", g, 8192, {}).costs.uses_custom_all_reduce(2, 1, false, 16384));
  }
}

}  // namespace
}  // namespace apex
