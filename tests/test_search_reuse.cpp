// Reuse across engine knob values (search --tune, search/knob_reuse.h): the search that reuses a
// plan's run for the knob settings it covers reports exactly what the one simulating every
// setting does, and the limits a run records are tight.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "model/registry.h"
#include "report/report.h"
#include "search/planner.h"
#include "sim/metrics/registry.h"

namespace apex {
namespace {

Deployment deployment(const std::string& model, int nodes, int per_node) {
  Deployment d;
  d.model = load_model(model);
  d.cluster = make_cluster("h100-sxm", nodes, per_node);
  return d;
}

Trace workload(double rate, int n, const std::string& prompt, const std::string& output) {
  SyntheticSpec s;
  s.rate = rate;
  s.num_requests = n;
  s.prompt = LengthDist::parse(prompt, "p");
  s.output = LengthDist::parse(output, "o");
  return synthesize(s);
}

SearchOptions tune_defaults() {
  SearchOptions o;
  o.threads = 2;
  o.tune_max_num_seqs = {64, 128, 256, 512, 1024};  // --tune's defaults (api/build.cpp)
  o.tune_max_num_batched_tokens = {2048, 4096, 8192, 16384};
  return o;
}

// Every registered field of the two results, losslessly.
void expect_same_result(const SimResult& a, const SimResult& b) {
  for (const Metric& m : metric_registry()) {
    if (m.raw()) {
      EXPECT_EQ(metric_raw_json(m, a), metric_raw_json(m, b)) << m.id;
    }
  }
}

// The search with reuse against the one simulating every setting: the same JSON report (every
// ranked plan, the baseline, the counts) but for the wall time and the reuse count, and the same
// result in every registered field. Returns the reuse count.
std::uint64_t expect_reuse_exact(const Deployment& d, const Trace& t, SearchOptions o) {
  o.reuse_knobs = false;
  const SearchReport full = search(d, t, o);
  o.reuse_knobs = true;
  const SearchReport reused = search(d, t, o);
  EXPECT_EQ(full.reused, 0u);
  EXPECT_EQ(reused.simulated, full.simulated);
  EXPECT_EQ(reused.pruned, full.pruned);
  EXPECT_LE(reused.reused, reused.simulated);
  Json a = search_json(full, RunInfo{});
  Json b = search_json(reused, RunInfo{});
  for (Json* j : {&a, &b}) {
    (*j)["stats"].erase("wall_s");
    (*j)["stats"].erase("reused");
  }
  EXPECT_EQ(a.dump(1), b.dump(1));
  EXPECT_EQ(reused.ranked.size(), full.ranked.size());
  for (std::size_t i = 0; i < full.ranked.size() && i < reused.ranked.size(); ++i) {
    SCOPED_TRACE(full.ranked[i].candidate.label());
    EXPECT_EQ(reused.ranked[i].candidate.label(), full.ranked[i].candidate.label());
    EXPECT_EQ(reused.ranked[i].score, full.ranked[i].score);
    expect_same_result(*reused.ranked[i].result, *full.ranked[i].result);
  }
  // The same for any thread count, reuse count included.
  o.threads = 1;
  const SearchReport one = search(d, t, o);
  EXPECT_EQ(one.reused, reused.reused);
  EXPECT_EQ(search_json(one, RunInfo{})["plans"].dump(), search_json(reused, RunInfo{})["plans"].dump());
  return reused.reused;
}

// Llama-3.1-70B on 8 H100s, a creation-like trace (bench/bench_apex.cpp creation_trace, shorter),
// the default --tune lists: every setting of every plan ranked (exhaustive), then the pruned
// search. Every knob setting has its own KV block count (activations grow with both knobs), so
// a reuse here is always across cache sizes, with the peak KV utilization recomputed.
TEST(KnobReuse, Llama70BCreationTraceDefaultTuneIsExact) {
  const Deployment d = deployment("llama-3.1-70b", 1, 8);
  const Trace t = workload(2.0, 120, "lognormal:308:200", "lognormal:1144:700");
  SearchOptions o = tune_defaults();
  o.exhaustive = true;
  o.top = 1000;
  EXPECT_GT(expect_reuse_exact(d, t, o), 0u);
  o.exhaustive = false;
  o.top = 5;
  EXPECT_GT(expect_reuse_exact(d, t, o), 0u);
}

TEST(KnobReuse, MixtralTuneIsExact) {
  const Deployment d = deployment("mixtral-8x7b", 1, 4);
  SearchOptions o = tune_defaults();
  o.exhaustive = true;
  o.top = 1000;
  o.plan.require_all_gpus = false;
  EXPECT_GT(expect_reuse_exact(d, workload(10, 100, "800", "200"), o), 0u);
}

// A small KV cache (gpu_memory_utilization 0.3): on one GPU the cache binds (preemptions), so
// those runs are reused only at their own cache size, never another; wider plans still reuse.
TEST(KnobReuse, SmallKvCacheIsExact) {
  Deployment d = deployment("llama-3.1-8b", 1, 2);
  d.engine_overrides.gpu_memory_utilization = 0.3;
  const Trace t = workload(20, 150, "lognormal:2000:500", "300");
  SearchOptions o = tune_defaults();
  o.tune_max_num_seqs = {16, 64, 256};
  o.exhaustive = true;
  o.top = 1000;
  o.plan.require_all_gpus = false;
  o.reuse_knobs = false;
  const SearchReport full = search(d, t, o);
  bool kv_bound = false, unbound = false;
  for (const PlanOutcome& p : full.ranked) {
    kv_bound = kv_bound || p.result->limits.kv_cache;
    unbound = unbound || !p.result->limits.kv_cache;
    if (p.result->preemptions > 0) {
      EXPECT_TRUE(p.result->limits.kv_cache);
    }
  }
  EXPECT_TRUE(kv_bound);
  EXPECT_TRUE(unbound);
  EXPECT_GT(expect_reuse_exact(d, t, o), 0u);
}

// The other schedulers record their limits too: prefill-first (vLLM V0, SGLang) and TensorRT-LLM's
// reservations.
TEST(KnobReuse, OtherEnginesAreExact) {
  for (const std::string engine : {"sglang", "trtllm", "vllm-0.6"}) {
    SCOPED_TRACE(engine);
    Deployment d = deployment("llama-3.1-8b", 1, 2);
    d.engine = engine;
    d.engine_overrides.gpu_memory_utilization = 0.35;
    SearchOptions o = tune_defaults();
    o.tune_max_num_seqs = {32, 256, 1024};
    o.exhaustive = true;
    o.top = 1000;
    o.plan.require_all_gpus = false;
    EXPECT_GT(expect_reuse_exact(d, workload(15, 120, "lognormal:1500:600", "200"), o), 0u);
  }
}

// A fast-forwarded stretch records what each of its steps' builds would (tuned searches
// fast-forward): every limit figure equals the step-by-step run's, for each scheduler (mixed,
// prefill-first, reserve-full), with a queue waiting at max_num_seqs, with the token budget
// binding, with the cache binding, and under pipeline parallelism (requests in flight).
TEST(KnobReuse, FastForwardedRunsRecordTheStepByStepLimits) {
  struct Case {
    std::string engine;
    int gpus, pp;
    int seqs, tokens;
    double memory;
  };
  const std::vector<Case> cases = {{"vllm", 1, 1, 1024, 8192, 0.9},   {"vllm", 1, 1, 16, 8192, 0.9},
                                   {"vllm", 1, 1, 64, 64, 0.9},       {"vllm", 1, 1, 256, 8192, 0.3},
                                   {"vllm", 2, 2, 32, 8192, 0.9},     {"vllm-0.6", 1, 1, 16, 8192, 0.9},
                                   {"vllm-0.6", 2, 2, 64, 8192, 0.9}, {"trtllm", 1, 1, 24, 8192, 0.9},
                                   {"sglang", 1, 1, 32, 4096, 0.35},  {"vllm-0.11", 2, 2, 48, 4096, 0.9}};
  const Trace t = workload(12, 200, "lognormal:1200:500", "lognormal:300:150");
  std::int64_t stretches = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.engine + " pp" + std::to_string(c.pp) + " seqs " + std::to_string(c.seqs) + " tokens " +
                 std::to_string(c.tokens) + " memory " + std::to_string(c.memory));
    Deployment d = deployment("llama-3.1-8b", 1, c.gpus);
    d.engine = c.engine;
    d.engine_overrides.gpu_memory_utilization = c.memory;
    Plan p;
    p.pp = c.pp;
    make_plan_or_throw(d, p);
    EngineOverrides k;
    k.max_num_seqs = c.seqs;
    k.max_num_batched_tokens = c.tokens;
    const PlanInstance inst = instantiate_or_throw(d, p, k, std::nullopt);
    FastForwardCounts counts;
    const auto run = [&](bool ff) {
      auto src = source_of(t);
      RunOptions o;
      o.fast_forward = ff;
      o.fast_forwarded = &counts;
      return simulate(inst, *src, o);
    };
    const SimResult a = run(false), b = run(true);
    stretches += static_cast<std::int64_t>(counts.planned);
    const LimitUse &x = a.limits, &y = b.limits;
    EXPECT_EQ(x.max_num_seqs, y.max_num_seqs);
    EXPECT_EQ(x.max_num_batched_tokens, y.max_num_batched_tokens);
    EXPECT_EQ(x.kv_cache, y.kv_cache);
    EXPECT_EQ(x.seqs_needed, y.seqs_needed);
    EXPECT_EQ(x.tokens_needed, y.tokens_needed);
    EXPECT_EQ(x.kv_blocks_needed, y.kv_blocks_needed);
    EXPECT_EQ(x.kv_admit_needed, y.kv_admit_needed);
    EXPECT_EQ(x.kv_peak_used, y.kv_peak_used);
    EXPECT_EQ(a.e2e.mean, b.e2e.mean);
  }
  EXPECT_GT(stretches, 1000);  // the stretches ran
}

// The figures a run records are tight: at exactly the needed max_num_seqs and token budget the
// run is the same and binds nothing; one sequence or one token fewer binds.
TEST(KnobReuse, NeededFiguresAreTight) {
  const Deployment d = deployment("llama-3.1-8b", 1, 1);
  const Trace t = workload(8, 80, "lognormal:1000:400", "150");
  Plan p;
  make_plan_or_throw(d, p);
  const auto run = [&](int seqs, int tokens) {
    EngineOverrides k;
    k.max_num_seqs = seqs;
    k.max_num_batched_tokens = tokens;
    auto src = source_of(t);
    // The limits are recorded as steps are built (a fast-forwarded run records the same:
    // KnobReuse.FastForwardedRunsRecordTheStepByStepLimits).
    RunOptions o;
    o.fast_forward = false;
    return simulate(instantiate_or_throw(d, p, k, std::nullopt), *src, o);
  };
  const SimResult loose = run(1024, 16384);
  const LimitUse& u = loose.limits;
  ASSERT_TRUE(u.recorded);
  EXPECT_FALSE(u.max_num_seqs);
  EXPECT_FALSE(u.max_num_batched_tokens);
  EXPECT_FALSE(u.kv_cache);
  ASSERT_GT(u.seqs_needed, 1);
  ASSERT_GT(u.tokens_needed, 1);
  EXPECT_LT(u.seqs_needed, 1024);
  EXPECT_LT(u.tokens_needed, 16384);
  // (max_num_seqs >= 256 keeps vLLM's CUDA-graph capture size, so the costs are the same.)
  const int seqs = std::max<int>(256, static_cast<int>(u.seqs_needed));
  const SimResult tight = run(seqs, static_cast<int>(u.tokens_needed));
  EXPECT_FALSE(tight.limits.max_num_batched_tokens);
  EXPECT_EQ(tight.limits.tokens_needed, u.tokens_needed);
  EXPECT_EQ(tight.iterations, loose.iterations);
  EXPECT_EQ(tight.e2e.mean, loose.e2e.mean);
  EXPECT_EQ(tight.ttft.p99, loose.ttft.p99);
  EXPECT_TRUE(run(seqs, static_cast<int>(u.tokens_needed) - 1).limits.max_num_batched_tokens);
  EXPECT_TRUE(run(static_cast<int>(u.seqs_needed) - 1, 16384).limits.max_num_seqs);
}

}  // namespace
}  // namespace apex
