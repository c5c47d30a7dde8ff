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

// vLLM V0 without chunked prefill budgets a whole max-model-length prompt per step (an int): a
// length beyond the step limit is a user error naming the flags, never a narrowed budget.
TEST(Engines, V0WholePromptBudgetIsRangeChecked) {
  const Gpu& h100 = find_gpu("h100-sxm");
  EngineKnobs off;
  off.chunked_prefill = false;
  EXPECT_EQ(resolve_engine("vllm-0.6", h100, 1'000'000, off).max_num_batched_tokens, 1'000'000);
  EXPECT_EQ(resolve_engine("vllm-0.6", h100, kMaxNumBatchedTokensLimit, off).max_num_batched_tokens,
            kMaxNumBatchedTokensLimit);
  for (std::int64_t len :
       {std::int64_t{kMaxNumBatchedTokensLimit} + 1, std::int64_t{2'000'000'000}, std::int64_t{1} << 40}) {
    SCOPED_TRACE(len);
    const std::string msg = testing::user_error_of([&] { (void)resolve_engine("vllm-0.6", h100, len, off); });
    EXPECT_CONTAINS(msg, fmt::format("max model length {} exceeds the step limit of 268435456 tokens", len));
    EXPECT_CONTAINS(msg, opt("max_model_len"));
    EXPECT_CONTAINS(msg, opt("chunked_prefill") + " on");
  }
  // Chunked (its default above 32K): the 512-token budget, whatever the length.
  EXPECT_EQ(resolve_engine("vllm-0.6", h100, std::int64_t{1} << 40, {}).max_num_batched_tokens, 512);
}

// An encoder-decoder model's budget holds its whole input + output positions: bounded first.
TEST(Engines, EncoderDecoderBudgetIsRangeChecked) {
  const Gpu& h100 = find_gpu("h100-sxm");
  Model m = load_model("whisper-large-v3");
  ASSERT_TRUE(m.encoder_decoder);
  const EnginePolicy ok = resolve_engine("vllm", EngineContext{h100, &m, m.max_positions}, {});
  EXPECT_GE(ok.max_num_batched_tokens, m.max_source_positions + m.max_target_positions);
  for (std::int64_t src : {std::int64_t{kMaxNumBatchedTokensLimit}, std::int64_t{1} << 62}) {
    SCOPED_TRACE(src);
    m.max_source_positions = src;
    const std::string msg = testing::user_error_of([&] {
      (void)resolve_engine("vllm", EngineContext{h100, &m, m.max_positions}, {});
    });
    EXPECT_CONTAINS(
        msg, fmt::format("{} input + {} output positions exceed the step limit of 268435456 tokens", src,
                         m.max_target_positions));
  }
}

TEST(Engines, KnobsMergeKnobByKnob) {
  EngineKnobs base, over;
  base.max_num_seqs = 8;
  base.block_size = 32;
  over.max_num_seqs = 64;
  over.spec_tokens = 2;
  base.frontend_latency_s = 4e-3;
  const EngineKnobs m = base.merged_with(over);
  EXPECT_EQ(m.max_num_seqs, 64);
  EXPECT_EQ(m.block_size, 32);
  EXPECT_EQ(m.spec_tokens, 2);
  EXPECT_EQ(m.frontend_latency_s, 4e-3);
  EXPECT_FALSE(m.gpu_memory_utilization.has_value());
  over.frontend_latency_s = 0.0;  // an explicit 0 (engine-side metrics) overrides too
  EXPECT_EQ(base.merged_with(over).frontend_latency_s, 0.0);
  int knobs = 0;
  EngineKnobs::for_each_knob([&](auto) { ++knobs; });
  EXPECT_EQ(knobs, 13);
}

// vLLM 0.15's default is the latency fitted to its measured runs (data/engine_fits.json); the
// engines without such a fit report engine-side figures (0).
TEST(Engines, FrontendLatencyIsFittedForVllmZeroElsewhereAndOverridable) {
  const Gpu h100 = find_gpu("h100-sxm");
  for (const std::string& name : engine_names()) {
    SCOPED_TRACE(name);
    EXPECT_NEAR(resolve_engine(name, h100, 8192, {}).costs.frontend_latency, name == "vllm" ? 9.1e-3 : 0.0,
                1e-12);
    EngineKnobs k;
    k.frontend_latency_s = 12e-3;
    EXPECT_EQ(resolve_engine(name, h100, 8192, k).costs.frontend_latency, 12e-3);
  }
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

TEST(Kv, CpuOffloadTierKeepsEvictedPrefixesAndLoadsThemBack) {
  // A GPU pool of 10 blocks and a CPU tier of 3: a prefix of 2 blocks evicted from the GPU moves
  // to the CPU tier; a later request of its group loads it back (its own blocks until computed).
  KvManager kv(10, 16, LocalKv{}, &group_lru_prefix_cache(), CpuOffloadTier{3, 1e-3});
  auto request = [](std::int64_t group) {
    ActiveRequest a;
    a.prompt = 100;
    a.output = 4;
    a.prefix_group = group;
    a.prefix = 40;  // 32 cacheable tokens (two blocks)
    return a;
  };
  auto compute_and_release = [&](ActiveRequest& a, TimeNs now) {
    ASSERT_TRUE(kv.allocate(a, a.num_tokens() - a.computed));
    a.computed = a.num_tokens();
    kv.prefix_cache().on_computed(a);
    kv.release(a, now);
  };
  ActiveRequest a = request(1), b = request(2), c = request(3);
  compute_and_release(a, 10);
  EXPECT_TRUE(kv.make_free(10));  // group 1 leaves the GPU for the CPU tier
  EXPECT_TRUE(kv.conserved());
  ActiveRequest a2 = request(1);
  EXPECT_EQ(kv.prefix_cache().acquire(a2), 32);  // loaded back, not recomputed
  EXPECT_EQ(a2.cpu_loaded_blocks, 2);
  EXPECT_EQ(a2.computed, 32);
  EXPECT_FALSE(a2.holds_prefix);
  EXPECT_EQ(kv.blocks_needed(a2, 68), 7);  // the loaded prefix takes GPU blocks again
  a2.cpu_loaded_blocks = 0;
  compute_and_release(a2, 20);  // cached on the GPU again
  ActiveRequest a3 = request(1);
  EXPECT_EQ(kv.prefix_cache().acquire(a3), 32);
  EXPECT_EQ(a3.cpu_loaded_blocks, 0);  // a GPU hit
  EXPECT_TRUE(a3.holds_prefix);
  kv.release(a3, 25);
  // The tier is LRU within its 3 blocks: group 2 then group 3 evicted from the GPU push group 1
  // (refreshed at its second eviction) and then group 2 out.
  compute_and_release(b, 30);
  EXPECT_TRUE(kv.make_free(10));  // groups 1 and 2 to the tier: 4 blocks > 3, group 1 dropped
  compute_and_release(c, 40);
  EXPECT_TRUE(kv.make_free(10));  // group 3 in, group 2 out
  ActiveRequest r1 = request(1), r2 = request(2), r3 = request(3);
  EXPECT_EQ(kv.prefix_cache().acquire(r1), 0);
  EXPECT_EQ(kv.prefix_cache().acquire(r2), 0);
  EXPECT_EQ(kv.prefix_cache().acquire(r3), 32);
  EXPECT_EQ(r3.cpu_loaded_blocks, 2);
  // Without a tier an evicted prefix is gone.
  KvManager plain(10, 16, LocalKv{}, &group_lru_prefix_cache());
  ActiveRequest p = request(1);
  ASSERT_TRUE(plain.allocate(p, 100));
  p.computed = 100;
  plain.prefix_cache().on_computed(p);
  plain.release(p, 10);
  EXPECT_TRUE(plain.make_free(10));
  ActiveRequest p2 = request(1);
  EXPECT_EQ(plain.prefix_cache().acquire(p2), 0);
}

TEST(Kv, CpuOffloadTierSizeAndLoadTime) {
  // 8 GiB over 2 GPUs, 2 MiB per block per GPU: 2048 blocks; a block over 64 GB/s at the measured
  // 50/64 DMA efficiency takes 2 MiB / 50 GB/s.
  const CpuOffloadTier t = cpu_offload_tier(8.0 * kGiB, 2, 2.0 * kMiB, 64e9);
  EXPECT_EQ(t.blocks, 2048);
  EXPECT_DOUBLE_EQ(t.seconds_per_block, 2.0 * kMiB / 50e9);
  EXPECT_DOUBLE_EQ(cpu_offload_tier(1.0 * kGiB, 1, kMiB, 0).seconds_per_block,
                   kMiB / (kDefaultHostBandwidth * kHostDmaEfficiency));
  EXPECT_EQ(cpu_offload_tier(0, 1, kMiB, 64e9).blocks, 0);
}

TEST(CpuOffload, KnobIsValidatedAndOnlyVllmV1TakesIt) {
  const Gpu& h100 = find_gpu("h100-sxm");
  EngineOverrides o;
  o.cpu_offload_gib = 16;
  EXPECT_DOUBLE_EQ(resolve_engine("vllm", h100, 8192, o).cpu_offload_bytes, 16 * kGiB);
  EXPECT_EQ(resolve_engine("vllm", h100, 8192, {}).cpu_offload_bytes, 0);
  for (const char* engine : {"vllm-0.6", "sglang", "trtllm"}) {
    const std::string msg = testing::user_error_of([&] { (void)resolve_engine(engine, h100, 8192, o); });
    EXPECT_NE(msg.find(fmt::format("engine '{}'", engine)), std::string::npos) << msg;
    EXPECT_NE(msg.find("CPU KV offload"), std::string::npos) << msg;
  }
  EngineOverrides off;
  off.cpu_offload_gib = 0;
  EXPECT_EQ(resolve_engine("sglang", h100, 8192, off).cpu_offload_bytes, 0);  // 0 = off: accepted
  EngineOverrides bad;
  bad.cpu_offload_gib = -1;
  EXPECT_EQ(testing::user_error_of([&] { (void)resolve_engine("vllm", h100, 8192, bad); }),
            fmt::format("{} must be between 0 (off) and 1048576 GiB, got -1", opt("cpu_offload_gib")));
}

// A prefix working set larger than the GPU cache but smaller than GPU + CPU: offload raises the
// hit rate and lowers mean TTFT; a zero-size tier changes nothing.
TEST(CpuOffload, WorkingSetBeyondTheGpuCacheHitsTheCpuTier) {
  Deployment d;
  d.model = load_model("llama-3.1-8b");
  d.cluster = make_cluster("l40s", 1, 1);
  d.max_model_len = 8192;
  d.engine_overrides.gpu_memory_utilization = 0.55;  // ~74K tokens of KV: 18 prefixes of 4000
  Plan p;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.rate = 1;
  s.num_requests = 300;
  s.prompt = LengthDist::parse("200", "p");
  s.output = LengthDist::parse("64", "o");
  s.shared_prefix = 4000;
  s.prefix_groups = 40;  // 40 x 4000 x 128 KiB = 20 GiB of prefixes
  s.seed = 3;
  const Trace t = synthesize(s);
  auto run = [&](std::optional<double> gib) {
    Deployment x = d;
    x.engine_overrides.cpu_offload_gib = gib;
    auto src = source_of(t);
    return simulate_plan(x, p, *src);
  };
  const SimResult off = run(std::nullopt), zero = run(0.0), on = run(24.0);
  EXPECT_EQ(result_json(zero).dump(), result_json(off).dump());
  EXPECT_FALSE(result_json(off)["counters"].contains("prefix_cache_cpu_hit_rate"));
  EXPECT_EQ(off.cpu_offload_blocks, 0u);
  EXPECT_EQ(on.cpu_offload_blocks, static_cast<std::uint64_t>(24 * kGiB / (16 * 131072.0)));
  // Round-robin groups cycle through more prefixes than the GPU holds: LRU never hits.
  EXPECT_EQ(off.prefix_hit_tokens, 0u);
  // With the tier every request after its group's first loads the prefix back (4000 tokens).
  EXPECT_EQ(on.prefix_cpu_hit_tokens, (300u - 40u) * 4000u);
  EXPECT_EQ(on.prefix_hit_tokens, on.prefix_cpu_hit_tokens);
  EXPECT_DOUBLE_EQ(result_json(on)["counters"]["prefix_cache_cpu_hit_rate"].get<double>(),
                   (300.0 - 40) * 4000 / (300.0 * 4200));
  EXPECT_LT(on.ttft.mean, 0.5 * off.ttft.mean);
  Deployment x = d;
  x.engine_overrides.cpu_offload_gib = 24;
  EXPECT_NE(
      launch_command(x, p, x.engine_policy()).find(" --kv-offloading-backend native --kv-offloading-size 24"),
      std::string::npos);
  EXPECT_EQ(launch_command(d, p, d.engine_policy()).find("kv-offloading"), std::string::npos);
}

}  // namespace
}  // namespace apex
