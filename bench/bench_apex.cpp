// Google Benchmark binaries for the performance targets in the README (issue #12's, today):
//   simulate the APEX+ llama creation_05 trace on Llama-3.1-70B TP=8 (<= 4 ms),
//   synthetic 100k- and 1M-request streams through the simulator (1M: <= 1 s),
//   the full search for Llama-3.1-70B on 8xH100 (<= 50 ms on 2 threads) and its --tune (<= 0.2 s),
//   the full search for Llama-3.1-405B on 16 nodes x 8 H100 (<= 0.15 s), Kimi K2 on 32x8 H200,
//   DeepSeek-V3 --tune on 32x8 H200 (<= 4 s), and the cost of one iteration.
// bench/baseline.json records them for `make bench-check` (a > 2x regression fails).
#include <benchmark/benchmark.h>

#include <filesystem>

#include "model/registry.h"
#include "search/planner.h"

namespace apex {
namespace {

Trace creation_trace() {
  const std::string path =
      std::string(APEX_SHARED_DIR) + "/measurements/traces/apexplus_llama_creation_05.csv";
  if (std::filesystem::exists(path)) return load_trace(path);
  SyntheticSpec s;  // same shape when ../shared is absent
  s.rate = 0.47;
  s.num_requests = 512;
  s.prompt = LengthDist::parse("lognormal:308:200", "p");
  s.output = LengthDist::parse("lognormal:1144:700", "o");
  return synthesize(s);
}

Deployment deployment(const std::string& model, int nodes, int per_node) {
  Deployment d;
  d.model = load_model(model);
  d.cluster = make_cluster("h100-sxm", nodes, per_node);
  return d;
}

void BM_SimulateCreationTrace_Llama70B_TP8(benchmark::State& state) {
  const Deployment d = deployment("llama-3.1-70b", 1, 8);
  const Trace t = creation_trace();
  Plan p;
  p.tp = 8;
  make_plan_or_throw(d, p);
  std::uint64_t iterations = 0;
  for (auto _ : state) {
    auto src = source_of(t);
    const SimResult r = simulate_plan(d, p, *src);
    iterations = r.iterations;
    benchmark::DoNotOptimize(r.ttft.mean);
  }
  state.counters["requests"] = static_cast<double>(t.requests.size());
  state.counters["sim_iterations"] = static_cast<double>(iterations);
}
BENCHMARK(BM_SimulateCreationTrace_Llama70B_TP8)->Unit(benchmark::kMillisecond);

void BM_SimulateSynthetic100k_Streaming(benchmark::State& state) {
  const Deployment d = deployment("llama-3.1-8b", 1, 1);
  Plan p;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.rate = 12;
  s.num_requests = 100000;
  s.prompt = LengthDist::parse("lognormal:1000:800", "p");
  s.output = LengthDist::parse("lognormal:200:150", "o");
  s.seed = 1;
  std::uint64_t peak = 0, iterations = 0;
  for (auto _ : state) {
    auto src = synthetic_source(s);  // generated on the fly: nothing scales with the trace length
    const SimResult r = simulate_plan(d, p, *src);
    peak = r.peak_active_requests;
    iterations = r.iterations;
    benchmark::DoNotOptimize(r.e2e.mean);
  }
  state.counters["peak_active_requests"] = static_cast<double>(peak);
  state.counters["sim_iterations"] = static_cast<double>(iterations);
}
BENCHMARK(BM_SimulateSynthetic100k_Streaming)->Unit(benchmark::kMillisecond)->Iterations(1);

// A million requests generated on the fly (issue #12: <= 1 s).
void BM_SimulateSynthetic1M_Streaming(benchmark::State& state) {
  const Deployment d = deployment("llama-3.1-8b", 1, 1);
  Plan p;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.rate = 40;
  s.num_requests = 1000000;
  s.prompt = LengthDist::parse("lognormal:300:200", "p");
  s.output = LengthDist::parse("lognormal:60:40", "o");
  s.seed = 1;
  std::uint64_t iterations = 0;
  for (auto _ : state) {
    auto src = synthetic_source(s);
    const SimResult r = simulate_plan(d, p, *src);
    iterations = r.iterations;
    benchmark::DoNotOptimize(r.e2e.mean);
  }
  state.counters["sim_iterations"] = static_cast<double>(iterations);
}
BENCHMARK(BM_SimulateSynthetic1M_Streaming)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_Search_Llama70B_8xH100(benchmark::State& state) {
  const Deployment d = deployment("llama-3.1-70b", 1, 8);
  const Trace t = creation_trace();
  SearchOptions o;
  o.threads = static_cast<int>(state.range(0));
  std::uint64_t simulated = 0;
  for (auto _ : state) {
    const SearchReport r = search(d, t, o);
    simulated = r.simulated;
    benchmark::DoNotOptimize(r.ranked.size());
  }
  state.counters["plans_simulated"] = static_cast<double>(simulated);
}
BENCHMARK(BM_Search_Llama70B_8xH100)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

// --tune over the engine knobs on the same search (issue #12: <= 0.2 s).
void BM_SearchTune_Llama70B_8xH100(benchmark::State& state) {
  const Deployment d = deployment("llama-3.1-70b", 1, 8);
  const Trace t = creation_trace();
  SearchOptions o;
  o.threads = 2;
  o.tune_max_num_seqs = {64, 128, 256, 512, 1024};  // --tune's defaults
  o.tune_max_num_batched_tokens = {2048, 4096, 8192, 16384};
  std::uint64_t simulated = 0, reused = 0;
  for (auto _ : state) {
    const SearchReport r = search(d, t, o);
    simulated = r.simulated;
    reused = r.reused;
    benchmark::DoNotOptimize(r.ranked.size());
  }
  state.counters["plans_simulated"] = static_cast<double>(simulated);
  state.counters["plans_reused"] = static_cast<double>(reused);
}
BENCHMARK(BM_SearchTune_Llama70B_8xH100)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_Search_Llama405B_16x8xH100(benchmark::State& state) {
  const Deployment d = deployment("llama-3.1-405b", 16, 8);
  SyntheticSpec s;
  s.rate = 20;
  s.num_requests = 2000;
  s.prompt = LengthDist::parse("2048", "p");
  s.output = LengthDist::parse("512", "o");
  const Trace t = synthesize(s);
  SearchOptions o;
  o.threads = 2;
  std::uint64_t simulated = 0, enumerated = 0;
  for (auto _ : state) {
    const SearchReport r = search(d, t, o);
    simulated = r.simulated;
    enumerated = r.enumerated;
    benchmark::DoNotOptimize(r.ranked.size());
  }
  state.counters["plans_enumerated"] = static_cast<double>(enumerated);
  state.counters["plans_simulated"] = static_cast<double>(simulated);
}
BENCHMARK(BM_Search_Llama405B_16x8xH100)->Unit(benchmark::kMillisecond)->Iterations(1);

// A large MoE from a config file on 32x8 H200s, FP8, 2,000 requests of 2048 -> 512 at 50 req/s:
// every DP / TP / PP / EP / attention mapping of 32 nodes (with `tune`: --tune's default knob lists).
void search_moe_on_256_h200(benchmark::State& state, const std::string& config, bool tune) {
  Deployment d;
  d.model = load_model(std::string(APEX_TEST_DATA) + "/" + config);
  d.cluster = make_cluster("h200-sxm", 32, 8);
  d.precision = Precision{DType::FP8, DType::BF16, DType::FP8};
  SyntheticSpec s;
  s.rate = 50;
  s.num_requests = 2000;
  s.prompt = LengthDist::parse("2048", "p");
  s.output = LengthDist::parse("512", "o");
  const Trace t = synthesize(s);
  SearchOptions o;
  o.threads = 2;
  if (tune) {
    o.tune_max_num_seqs = {64, 128, 256, 512, 1024};
    o.tune_max_num_batched_tokens = {2048, 4096, 8192, 16384};
  }
  std::uint64_t simulated = 0, enumerated = 0, reused = 0;
  for (auto _ : state) {
    const SearchReport r = search(d, t, o);
    simulated = r.simulated;
    enumerated = r.enumerated;
    reused = r.reused;
    benchmark::DoNotOptimize(r.ranked.size());
  }
  state.counters["plans_enumerated"] = static_cast<double>(enumerated);
  state.counters["plans_simulated"] = static_cast<double>(simulated);
  if (tune) state.counters["plans_reused"] = static_cast<double>(reused);
}

// Kimi K2: 1.03T parameters, 384 experts, MLA.
void BM_Search_KimiK2_32x8xH200(benchmark::State& state) {
  search_moe_on_256_h200(state, "kimi_k2_config.json", false);
}
BENCHMARK(BM_Search_KimiK2_32x8xH200)->Unit(benchmark::kMillisecond)->Iterations(1);

// DeepSeek-V3 (671B MoE, MLA) with --tune (issue #12: <= 4 s).
void BM_SearchTune_DeepSeekV3_32x8xH200(benchmark::State& state) {
  search_moe_on_256_h200(state, "deepseek_v3_config.json", true);
}
BENCHMARK(BM_SearchTune_DeepSeekV3_32x8xH200)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_IterationCost_Llama70B_TP8(benchmark::State& state) {
  const Deployment d = deployment("llama-3.1-70b", 1, 8);
  Plan p;
  p.tp = 8;
  make_plan_or_throw(d, p);
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), d.engine_policy().costs);
  BatchShape b;
  b.decode_seqs = 64;
  b.sampled = 64;
  std::vector<double> st;
  std::int64_t kv = 64 * 1000;
  for (auto _ : state) {
    b.decode_kv = kv++;
    cost.stage_times(b, st);
    benchmark::DoNotOptimize(st[0]);
  }
}
BENCHMARK(BM_IterationCost_Llama70B_TP8);

}  // namespace
}  // namespace apex

BENCHMARK_MAIN();
