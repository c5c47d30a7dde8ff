// Simulator tests: closed-form single-request cases, conservation, Little's law, preemption,
// pipeline and data parallelism, determinism, and the metric definitions of PITFALLS.md.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <utility>

#include "core/error.h"
#include "core/option_ref.h"
#include "model/registry.h"
#include "plan/sharding.h"
#include "report/report.h"
#include "search/planner.h"
#include "search_checks.h"
#include "sim/instance.h"
#include "sim/metrics/collector.h"
#include "sim/metrics/registry.h"
#include "sim_shapes.h"
#include "test_util.h"

namespace apex {
namespace {

Deployment make_deployment(const std::string& model, const std::string& gpu, int gpus) {
  Deployment d;
  d.model = load_model(model);
  d.cluster = make_cluster(gpu, 1, gpus);
  d.max_model_len = std::min<std::int64_t>(d.model.max_positions, 32768);
  // Engine-side figures: the closed forms below are the engine's; the client-side front-end
  // latency (vLLM's fitted default) has its own tests (FrontendLatency).
  d.engine_overrides.frontend_latency_s = 0.0;
  return d;
}

Plan plan_of(const Deployment& d, int dp, int tp, int pp) {
  Plan p;
  p.dp = dp;
  p.tp = tp;
  p.pp = pp;
  make_plan_or_throw(d, p);
  return p;
}

Trace one_request(int prompt, int output, double arrival_s = 0.5) {
  Trace t;
  t.requests.push_back(Request{0, seconds_to_ns(arrival_s), prompt, output});
  return t;
}

SimResult run(const Deployment& d, const Plan& p, const Trace& t) {
  auto src = source_of(t);
  return simulate_plan(d, p, *src);
}

using testing::decode_shape;
using testing::gpu_ns;
using testing::iteration_ns;
using testing::prefill_shape;

TEST(Simulator, LoneRequestTtftEqualsItsPrefillIteration) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const SimResult r = run(d, p, one_request(1000, 1));
  const EnginePolicy e = d.engine_policy();
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  const TimeNs expected = iteration_ns(cost, prefill_shape(1000));
  EXPECT_EQ(seconds_to_ns(r.ttft.mean), expected);
  EXPECT_EQ(r.requests, 1u);
  EXPECT_EQ(r.queue.mean, 0.0);  // an idle server starts the prefill on arrival
}

TEST(Simulator, LoneRequestE2eEqualsTheSumOfItsIterations) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  d.engine = "vllm-0.11";  // synchronous: every step pays its CPU work (async: AsyncScheduling)
  const Plan p = plan_of(d, 1, 1, 1);
  const int prompt = 700, output = 50;
  const SimResult r = run(d, p, one_request(prompt, output));
  const EnginePolicy e = d.engine_policy();
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  TimeNs total = iteration_ns(cost, prefill_shape(prompt));
  for (int k = 1; k < output; ++k)
    total += iteration_ns(cost, decode_shape(prompt + k));
  EXPECT_NEAR(r.e2e.mean, ns_to_seconds(total), 1e-9);
  // TPOT per request: (E2E - TTFT) / (output - 1), the n - 1 intervals.
  EXPECT_NEAR(r.tpot.mean, (r.e2e.mean - r.ttft.mean) / (output - 1), 1e-12);
  EXPECT_EQ(r.itl.count, static_cast<std::uint64_t>(output - 1));
  EXPECT_NEAR(r.itl.mean, r.tpot.mean, 1e-9);
  EXPECT_EQ(r.iterations, static_cast<std::uint64_t>(output));
}

// vLLM 0.15's asynchronous scheduling: step n+1's CPU work runs while step n is on the GPU. A lone
// request's prefill starts an idle engine (its CPU work is exposed, as without async), then each
// decode step follows the previous one with nothing exposed: the CPU step (~1 ms) is far shorter
// than the GPU step (~5 ms), and async_gap is 0.
TEST(AsyncScheduling, LoneRequestDecodeStepsHideTheCpuWork) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const int prompt = 700, output = 50;
  const EnginePolicy e = d.engine_policy();
  ASSERT_TRUE(e.costs.async_scheduling);  // the default engine is vLLM 0.15
  ASSERT_EQ(e.costs.async_gap, 0.0);
  const SimResult r = run(d, p, one_request(prompt, output));
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  const TimeNs prefill = iteration_ns(cost, prefill_shape(prompt));
  TimeNs total = prefill;
  for (int k = 1; k < output; ++k) {
    ASSERT_LT(cost.step_overhead(decode_shape(prompt + k)),
              ns_to_seconds(gpu_ns(cost, decode_shape(prompt + k))));
    total += gpu_ns(cost, decode_shape(prompt + k));
  }
  EXPECT_EQ(seconds_to_ns(r.ttft.mean), prefill);
  EXPECT_NEAR(r.e2e.mean, ns_to_seconds(total), 1e-9);
  // The same engine without async pays every step's CPU work: --async-scheduling off.
  d.engine_overrides.async_scheduling = false;
  const SimResult sync = run(d, p, one_request(prompt, output));
  TimeNs overhead = 0;
  for (int k = 1; k < output; ++k)
    overhead += std::max<TimeNs>(1, seconds_to_ns(cost.step_overhead(decode_shape(prompt + k))));
  EXPECT_NEAR(sync.e2e.mean - r.e2e.mean, ns_to_seconds(overhead), 1e-9);
  EXPECT_EQ(sync.ttft.mean, r.ttft.mean);
}

// A request arriving during a step joins the next one, as without async: the vLLM 0.15 runs
// (../shared/reference/vllm_v1_serving.csv) show no extra step of TTFT (docs/engines.md). It
// starts the moment the step ends (its CPU work hid behind that step), without async a CPU step
// later.
TEST(AsyncScheduling, ARequestArrivingMidStepJoinsTheNextStep) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const EnginePolicy e = d.engine_policy();
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  // Request A (at 0.5 s) is decoding; B arrives in the middle of A's 10th decode step.
  const TimeNs a0 = seconds_to_ns(0.5);
  TimeNs t = a0 + iteration_ns(cost, prefill_shape(500));
  for (int k = 1; k < 10; ++k)
    t += gpu_ns(cost, decode_shape(500 + k));
  const TimeNs step10 = gpu_ns(cost, decode_shape(510));
  const TimeNs b_arrival = t + step10 / 2;
  Trace tr;
  tr.requests.push_back(Request{0, a0, 500, 200});
  tr.requests.push_back(Request{1, b_arrival, 300, 2});
  auto src = source_of(tr);
  const SimResult r = simulate_plan(d, p, *src);
  // A starts on arrival (queue 0), so B's queue time is twice the mean.
  EXPECT_NEAR(2 * r.queue.mean, ns_to_seconds(t + step10 - b_arrival), 2e-9);
}

TEST(Simulator, ChunkedPrefillSplitsALongPromptByTheTokenBudget) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  d.engine = "vllm-0.11";  // synchronous: every step pays its CPU work (async: AsyncScheduling)
  d.engine_overrides.max_num_batched_tokens = 512;
  const Plan p = plan_of(d, 1, 1, 1);
  const SimResult r = run(d, p, one_request(1300, 1));
  EXPECT_EQ(r.iterations, 3u);  // 512 + 512 + 276
  const EnginePolicy e = d.engine_policy();
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  auto chunk = [](std::int64_t past, std::int64_t q, bool last) {
    BatchShape b;
    b.prefill_seqs = 1;
    b.prefill_tokens = q;
    b.prefill_pairs = static_cast<double>(q) * (static_cast<double>(past) + (static_cast<double>(q) + 1) / 2);
    b.prefill_kv = past + q;
    b.sampled = last ? 1 : 0;
    return b;
  };
  const TimeNs expected = iteration_ns(cost, chunk(0, 512, false)) +
                          iteration_ns(cost, chunk(512, 512, false)) +
                          iteration_ns(cost, chunk(1024, 276, true));
  EXPECT_EQ(seconds_to_ns(r.ttft.mean), expected);
}

TEST(Simulator, TinyDecodeIterationIsBoundByReadingTheWeights) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const EnginePolicy e = d.engine_policy();
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  std::vector<double> st;
  cost.stage_times(decode_shape(100), st);
  const double weights_per_gpu = stage_weight_bytes(d.model, p, p.stages[0], d.precision);
  const double roofline = weights_per_gpu / d.cluster.gpu.hbm_bandwidth;
  EXPECT_GE(st[0], roofline);        // never faster than streaming the weights once
  EXPECT_LE(st[0], 1.5 * roofline);  // and not far above it for a one-sequence batch on one GPU
}

TEST(Simulator, DecodeCostGrowsWithContextLength) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const SimResult short_ctx = run(d, p, one_request(128, 64));
  const SimResult long_ctx = run(d, p, one_request(8000, 64));
  EXPECT_GT(long_ctx.tpot.mean, short_ctx.tpot.mean * 1.01);
}

TEST(Simulator, TtftIncludesQueueingUnderLoad) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  SyntheticSpec s;
  s.rate = std::numeric_limits<double>::infinity();
  s.num_requests = 64;
  s.prompt = LengthDist::parse("4000", "p");
  s.output = LengthDist::parse("8", "o");
  const Trace t = synthesize(s);
  const SimResult loaded = run(d, p, t);
  const SimResult alone = run(d, p, one_request(4000, 8));
  // 64 prompts of 4000 tokens through an 8192-token budget: the last waits ~32 prefill steps.
  EXPECT_GT(loaded.ttft.mean, 10 * alone.ttft.mean);
  EXPECT_GT(loaded.ttft.p99, loaded.ttft.p50);
}

TEST(Simulator, ConservationEveryRequestFinishesWithItsTokens) {
  Deployment d = make_deployment("llama-3.1-8b", "a100-sxm-80gb", 2);
  const Plan p = plan_of(d, 2, 1, 1);
  SyntheticSpec s;
  s.rate = 20;
  s.num_requests = 400;
  s.prompt = LengthDist::parse("uniform:16:2048", "p");
  s.output = LengthDist::parse("uniform:1:400", "o");
  s.seed = 3;
  const Trace t = synthesize(s);
  const SimResult r = run(d, p, t);
  std::uint64_t asked_out = 0, asked_in = 0;
  for (const auto& q : t.requests) {
    asked_out += static_cast<std::uint64_t>(q.output);
    asked_in += static_cast<std::uint64_t>(q.prompt);
  }
  EXPECT_EQ(r.requests, t.requests.size());
  EXPECT_EQ(r.output_tokens, asked_out);
  EXPECT_EQ(r.prompt_tokens, asked_in);
  EXPECT_EQ(r.ttft.count, t.requests.size());
  EXPECT_LE(r.mfu, 1.0);
  EXPECT_LE(r.mbu, 1.0);
  EXPECT_GT(r.mfu, 0.0);
}

TEST(Simulator, LittlesLawHolds) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  SyntheticSpec s;
  s.rate = 8;
  s.num_requests = 2000;
  s.prompt = LengthDist::parse("lognormal:600:400", "p");
  s.output = LengthDist::parse("lognormal:150:100", "o");
  s.seed = 11;
  const SimResult r = run(d, p, synthesize(s));
  // L = λ W over the makespan: time-averaged occupancy = throughput of requests × mean sojourn.
  EXPECT_NEAR(r.mean_active_requests, r.requests_per_s * r.e2e.mean, 1e-6 * r.mean_active_requests);
  // In steady state the served rate approaches the offered rate.
  EXPECT_NEAR(r.requests_per_s, 8.0, 0.8);
}

TEST(Simulator, PreemptionRecomputesAndStillFinishesEverything) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  // Leave room for only a few thousand KV tokens so that decodes run out of blocks.
  d.engine_overrides.gpu_memory_utilization = 0.22;
  const Plan p = plan_of(d, 1, 1, 1);
  const EnginePolicy e = d.engine_policy();
  const MemoryFootprint f = memory_footprint(d.model, d.cluster, p, d.precision, e.memory_knobs());
  ASSERT_GT(f.kv_tokens(), 2200);
  ASSERT_LT(f.kv_tokens(), 40000);
  SyntheticSpec s;
  s.rate = std::numeric_limits<double>::infinity();
  s.num_requests = 60;
  s.prompt = LengthDist::parse("1000", "p");
  s.output = LengthDist::parse("1000", "o");
  const SimResult r = run(d, p, synthesize(s));
  EXPECT_GT(r.preemptions, 0u);
  EXPECT_EQ(r.requests, 60u);
  EXPECT_EQ(r.output_tokens, 60u * 1000u);
  EXPECT_LE(r.peak_kv_utilization, 1.0);
}

// The breakdown partitions the iteration: its parts add up to the stage times, on a dense TP
// plan, a pipeline and an expert-parallel MoE plan with data-parallel attention.
TEST(Breakdown, PartsAddUpToTheStageTimes) {
  struct Case {
    std::string model;
    int gpus, tp, pp, ep;
    bool attn_dp;
  };
  for (const Case& c : {Case{"llama-3.1-70b", 8, 8, 1, 1, false}, Case{"llama-3.1-8b", 2, 1, 2, 1, false},
                        Case{"mixtral-8x7b", 4, 4, 1, 4, true}}) {
    Deployment d = make_deployment(c.model, "h100-sxm", c.gpus);
    Plan p;
    p.tp = c.tp;
    p.pp = c.pp;
    p.ep = c.ep;
    p.attn_dp = c.attn_dp;
    make_plan_or_throw(d, p);
    const EnginePolicy e = d.engine_policy();
    CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
    for (const BatchShape& b : {prefill_shape(3000), decode_shape(900)}) {
      std::vector<double> st;
      cost.stage_times(b, st);
      double sum = 0;
      for (double s : st)
        sum += s;
      const auto parts = cost.step_breakdown(b);
      EXPECT_NEAR(parts.total(), sum, 1e-12 * sum) << c.model;
      EXPECT_GT(parts.gemm, 0) << c.model;
      EXPECT_GT(parts.attention, 0) << c.model;
      EXPECT_EQ(parts.moe > 0, c.model == "mixtral-8x7b") << c.model;
      EXPECT_EQ(parts.communication > 0, c.tp > 1) << c.model;
    }
  }
}

// A lone request keeps the replica busy from arrival to completion, so the breakdown of the run
// (kernels + CPU overhead) is its end-to-end latency, up to the 1 ns rounding of each step.
TEST(Breakdown, LoneRequestRunAddsUpToItsLatency) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const Trace trace = one_request(600, 40);
  auto src = source_of(trace);  // reads the trace in place
  const SimResult r = simulate_plan(d, p, *src, {}, false, /*breakdown=*/true);
  ASSERT_TRUE(r.time.measured);
  const double total = r.time.kernels.total() + r.time.cpu_overhead + r.time.pp_transfer;
  EXPECT_NEAR(total, r.e2e.mean, 2e-9 * static_cast<double>(r.iterations));
  EXPECT_EQ(r.time.pp_transfer, 0.0);
  EXPECT_GT(r.time.cpu_overhead, 0.0);
  // Without the flag the kernel parts are not collected.
  auto again = source_of(trace);
  const SimResult plain = simulate_plan(d, p, *again);
  EXPECT_FALSE(plain.time.measured);
  EXPECT_EQ(plain.time.kernels.total(), 0.0);
  EXPECT_EQ(plain.e2e.mean, r.e2e.mean);  // collecting it does not change the answer
}

// ------------------------------------------------------------------------------- closed loop

SimResult run_closed(const Deployment& base, const Plan& p, const Trace& t, int clients) {
  Deployment d = base;
  d.concurrency = clients;
  auto src = source_of(t);
  return simulate_plan(d, p, *src);
}

// One client: each request is sent when the previous one completes, so every request runs alone:
// its latency is the lone-request latency and the makespan is their sum.
TEST(ClosedLoop, OneClientServesRequestsBackToBack) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const SimResult alone = run(d, p, one_request(800, 30, 0.0));
  Trace t;
  for (std::uint64_t i = 0; i < 5; ++i)
    t.requests.push_back(Request{i, 0, 800, 30});
  const SimResult r = run_closed(d, p, t, 1);
  EXPECT_EQ(r.requests, 5u);
  EXPECT_EQ(r.peak_active_requests, 1u);
  EXPECT_NEAR(r.e2e.mean, alone.e2e.mean, 1e-9);
  EXPECT_NEAR(r.e2e.p99, alone.e2e.mean, 1e-9);
  EXPECT_NEAR(r.ttft.mean, alone.ttft.mean, 1e-9);
  EXPECT_EQ(r.queue.mean, 0.0);  // a request is sent when its client is free: it never queues
  EXPECT_NEAR(r.makespan, 5 * alone.e2e.mean, 1e-8);
  // Open loop, the same five requests share the GPU and finish sooner overall.
  const SimResult open = run(d, p, t);
  EXPECT_LT(open.makespan, r.makespan);
  EXPECT_EQ(open.peak_active_requests, 5u);
}

// N clients cap the requests in the system at N; Little's law still holds with the arrivals
// taken as the moments requests are sent.
TEST(ClosedLoop, ClientsCapTheRequestsInTheSystem) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  Trace t;
  for (std::uint64_t i = 0; i < 60; ++i)
    t.requests.push_back(Request{i, 0, 300 + 7 * static_cast<std::int32_t>(i), 40});
  const SimResult r = run_closed(d, p, t, 8);
  EXPECT_EQ(r.requests, 60u);
  EXPECT_EQ(r.peak_active_requests, 8u);
  EXPECT_LE(r.mean_active_requests, 8.0 + 1e-9);
  EXPECT_GT(r.mean_active_requests, 7.0);  // the clients are almost always busy
  EXPECT_NEAR(r.mean_active_requests, r.requests_per_s * r.e2e.mean, 1e-6 * r.mean_active_requests);
}

// Arrivals sparser than the service: no client ever waits, so closed loop equals open loop.
TEST(ClosedLoop, SparseArrivalsMatchOpenLoop) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  Trace t;
  for (std::uint64_t i = 0; i < 6; ++i)
    t.requests.push_back(Request{i, seconds_to_ns(100.0 * i), 500, 20});
  const SimResult closed = run_closed(d, p, t, 1);
  const SimResult open = run(d, p, t);
  EXPECT_EQ(result_json(closed).dump(), result_json(open).dump());
}

// ------------------------------------------------------------------------ speculative decoding

TEST(Speculative, ExpectedTokensPerStep) {
  EXPECT_DOUBLE_EQ(expected_spec_tokens(0, 0.8), 1.0);
  EXPECT_DOUBLE_EQ(expected_spec_tokens(3, 0.8), 1 + 0.8 + 0.64 + 0.512);
  EXPECT_DOUBLE_EQ(expected_spec_tokens(4, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(expected_spec_tokens(4, 0.0), 1.0);
}

Deployment spec_deployment(int k, double acceptance) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  d.engine_overrides.spec_tokens = k;
  d.engine_overrides.spec_acceptance = acceptance;
  if (k > 0) d.model.enable_draft_layer();
  return d;
}

// Every draft accepted: a lone request's decode steps emit k + 1 tokens (fewer at the end), and
// its latency is the sum of those steps' iterations, each verifying its drafts and running them.
TEST(Speculative, LoneRequestWithEveryDraftAcceptedIsTheSumOfItsSteps) {
  Deployment d = spec_deployment(3, 1.0);
  d.engine = "vllm-0.11";  // synchronous: every step pays its CPU work
  const Plan p = plan_of(d, 1, 1, 1);
  const int prompt = 500, output = 10;
  const SimResult r = run(d, p, one_request(prompt, output));
  const EnginePolicy e = d.engine_policy();
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  TimeNs total = iteration_ns(cost, prefill_shape(prompt));
  // Generated 1 after the prefill; steps verify 3, 3 and 0 drafts and emit 4, 4 and 1 tokens.
  const int context[] = {prompt + 1, prompt + 5, prompt + 9};
  const int drafts[] = {3, 3, 0};
  for (int s = 0; s < 3; ++s) {
    BatchShape b = decode_shape(context[s]);
    b.spec_tokens = drafts[s];
    total += iteration_ns(cost, b);
  }
  EXPECT_NEAR(r.e2e.mean, ns_to_seconds(total), 1e-9);
  EXPECT_EQ(r.iterations, 4u);
  EXPECT_EQ(r.itl.count, static_cast<std::uint64_t>(output - 1));  // token-weighted intervals
  EXPECT_NEAR(r.itl.mean, r.tpot.mean, 1e-6);
  // A verifying step costs more than a plain decode step, and includes the draft passes.
  BatchShape plain = decode_shape(prompt + 1), verify = plain;
  verify.spec_tokens = 3;
  EXPECT_GT(iteration_ns(cost, verify), iteration_ns(cost, plain));
  EXPECT_GT(cost.step_breakdown(verify).draft, 0.0);
  EXPECT_EQ(cost.step_breakdown(plain).draft, 0.0);
}

// Acceptance 0: every step emits one token but pays for the drafts, so decoding gets slower;
// a good acceptance rate speeds it up. Memory: the draft layer's weights and KV cache.
TEST(Speculative, AcceptanceDecidesWhetherItPays) {
  Trace t;
  for (std::uint64_t i = 0; i < 4; ++i)
    t.requests.push_back(Request{i, seconds_to_ns(10.0 * i), 800, 200});
  const Deployment off = spec_deployment(0, 0.8);
  const Plan p = plan_of(off, 1, 1, 1);
  const SimResult base = run(off, p, t);
  const SimResult never = run(spec_deployment(4, 0.0), p, t);
  const SimResult good = run(spec_deployment(4, 0.8), p, t);
  EXPECT_GT(never.tpot.mean, base.tpot.mean);
  EXPECT_LT(good.tpot.mean, 0.6 * base.tpot.mean);
  EXPECT_EQ(good.output_tokens, base.output_tokens);
  // One more Llama layer on the (only) stage, in bf16: 218M parameters, 2 x 8 x 128 KV elements per token.
  const Cell& last = off.model.cells[0];
  EXPECT_NEAR(good.memory.weights - base.memory.weights, last.params(off.model.hidden) * 2, 1e3);
  EXPECT_NEAR(good.memory.kv_bytes_per_token - base.memory.kv_bytes_per_token,
              last.kv_elements_per_token() * 2, 1e-6);
}

// The search bound stays a bound with speculative decoding (a step can emit k + 1 tokens).
TEST(Speculative, PrunedSearchStaysExact) {
  Deployment d = make_deployment("llama-3.1-70b", "h100-sxm", 8);
  d.engine_overrides.spec_tokens = 3;
  d.model.enable_draft_layer();
  SyntheticSpec s;
  s.rate = 3;
  s.num_requests = 30;
  s.prompt = LengthDist::parse("uniform:200:3000", "p");
  s.output = LengthDist::parse("uniform:2:400", "o");
  const Trace t = synthesize(s);
  testing::expect_pruned_search_exact(d, t, {Objective::TpotMean, Objective::E2eP99, Objective::Throughput},
                                      3);
}

// ------------------------------------------------------------- hybrid KV cache (local layers)

// What a request holds when the engine frees the blocks local layers no longer read.
TEST(HybridKv, EquivalentTokensOfLocalLayers) {
  const LocalKv gemma = local_kv_of(load_model("gemma-2-9b"), 16);  // every other layer: window 4096
  EXPECT_DOUBLE_EQ(gemma.share, 0.5);
  EXPECT_EQ(gemma.span, 4096 + 16);
  EXPECT_EQ(gemma.equivalent(3000), 3000);
  EXPECT_EQ(gemma.equivalent(8192), 4096 + 2056);
  const LocalKv scout = local_kv_of(load_model("llama-4-scout-17b-16e"), 16);  // 36 of 48 layers chunked
  EXPECT_DOUBLE_EQ(scout.share, 0.75);
  EXPECT_EQ(scout.equivalent(100000), 25000 + 6156);
  EXPECT_EQ(local_kv_of(load_model("llama-3.1-8b"), 16).share, 0.0);
  EXPECT_EQ(local_kv_of(load_model("llama-3.1-8b"), 16).equivalent(100000), 100000);
}

// vLLM V1 frees them, so a long Llama 4 request fits where an engine keeping every layer's whole
// context (TensorRT-LLM's policy in APEX) refuses it; the simulated KV use shrinks accordingly.
TEST(HybridKv, VllmFreesLocalLayersOthersKeepThem) {
  Deployment d = make_deployment("llama-4-scout-17b-16e", "h100-sxm", 4);
  d.precision = Precision{DType::FP8, DType::BF16, DType::FP8};
  d.max_model_len = 4000000;
  Plan p;
  p.tp = 4;
  make_plan_or_throw(d, p);
  const EnginePolicy vllm = d.engine_policy();
  ASSERT_TRUE(vllm.free_local_kv);
  const std::int64_t capacity = instantiate_or_throw(d, p, {}, std::nullopt).usable_kv_tokens;
  const std::int64_t len = capacity * 2;  // twice the cache in tokens, about half of it held
  EXPECT_FALSE(memory_check(d, p, vllm, len).has_value());
  d.engine = "trtllm";
  const auto why = memory_check(d, p, d.engine_policy(), len);
  ASSERT_TRUE(why.has_value());
  EXPECT_CONTAINS(*why, "the longest request needs");
  // Simulated: one long prompt; the peak KV use follows the equivalent tokens.
  d.engine = "vllm";
  PlanInstance inst = instantiate_or_throw(d, p, {}, std::nullopt);
  Trace t = one_request(200000, 4, 0.0);
  auto src = source_of(t);
  const SimResult freed = simulate(inst, *src);
  inst.engine.free_local_kv = false;  // an engine that keeps every layer's whole context
  inst.local_kv = LocalKv{};
  auto again = source_of(t);
  const SimResult kept = simulate(inst, *again);
  EXPECT_NEAR(freed.peak_kv_utilization / kept.peak_kv_utilization,
              static_cast<double>(local_kv_of(d.model, vllm.block_size).equivalent(200004)) / 200004.0, 0.01);
  EXPECT_EQ(freed.e2e.mean, kept.e2e.mean);  // the compute is the same
}

// ----------------------------------------------------------------------------- prefix caching

// Two requests of one group, the second after the first finished: the second computes only what
// follows the cached (block-aligned) prefix, attending to it.
TEST(PrefixCache, SecondRequestOfAGroupSkipsTheCachedPrefix) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  Trace t;
  t.requests.push_back(Request{0, 0, 3000, 2, 5, 2010});
  t.requests.push_back(Request{1, seconds_to_ns(5.0), 2600, 1, 5, 2010});
  const SimResult r = run(d, p, t);
  const EnginePolicy e = d.engine_policy();
  ASSERT_TRUE(e.prefix_caching);
  EXPECT_EQ(r.prefix_hit_tokens, 2000u);  // 2010 rounded down to 16-token blocks
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  BatchShape rest;  // 600 new tokens after 2000 cached ones
  rest.prefill_seqs = 1;
  rest.prefill_tokens = 600;
  rest.prefill_pairs = 600.0 * (2000 + 601.0 / 2);
  rest.prefill_kv = 2600;
  rest.sampled = 1;
  const double first = ns_to_seconds(iteration_ns(cost, prefill_shape(3000)));
  const double second = ns_to_seconds(iteration_ns(cost, rest));
  EXPECT_NEAR(r.ttft.mean, (first + second) / 2, 1e-9);
  // Off: both compute their whole prompt.
  d.engine_overrides.prefix_caching = false;
  const SimResult off = run(d, p, t);
  EXPECT_EQ(off.prefix_hit_tokens, 0u);
  EXPECT_NEAR(off.ttft.mean, (first + ns_to_seconds(iteration_ns(cost, prefill_shape(2600)))) / 2, 1e-9);
}

// Many groups and little memory: unreferenced prefixes are evicted (LRU) to make room instead of
// preempting running requests, everything finishes, and the run is deterministic.
TEST(PrefixCache, EvictsUnusedPrefixesUnderMemoryPressure) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  d.engine_overrides.gpu_memory_utilization = 0.3;  // ~6 GiB of KV: ~50K tokens
  const Plan p = plan_of(d, 1, 1, 1);
  SyntheticSpec s;
  s.rate = 40;
  s.num_requests = 400;
  s.prompt = LengthDist::parse("uniform:100:400", "p");
  s.output = LengthDist::parse("uniform:20:60", "o");
  s.shared_prefix = 4000;
  s.prefix_groups = 30;  // 30 x 4000 cached tokens would not fit
  const Trace t = synthesize(s);
  const SimResult a = run(d, p, t);
  const SimResult b = run(d, p, t);
  EXPECT_EQ(a.requests, 400u);
  EXPECT_GT(a.prefix_hit_tokens, 0u);
  EXPECT_LT(a.prefix_hit_tokens, 370u * 4000u);  // some prefixes were evicted and recomputed
  EXPECT_EQ(result_json(a).dump(), result_json(b).dump());
}

TEST(PrefixCache, PrunedSearchStaysExact) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 4);
  SyntheticSpec s;
  s.rate = 4;
  s.num_requests = 40;
  s.prompt = LengthDist::parse("uniform:50:500", "p");
  s.output = LengthDist::parse("uniform:2:100", "o");
  s.shared_prefix = 3000;
  s.prefix_groups = 2;
  const Trace t = synthesize(s);
  testing::expect_pruned_search_exact(d, t, {Objective::TtftMean, Objective::E2eP99, Objective::Throughput},
                                      3, false);
}

TEST(Simulator, PipelineLoneRequestCrossesEveryStage) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 2);
  const Plan p = plan_of(d, 1, 1, 2);
  const SimResult r = run(d, p, one_request(512, 1));
  const EnginePolicy e = d.engine_policy();
  CostModel cost(d.model, d.cluster, p, d.precision, d.op_model_ptr(), e.costs);
  EXPECT_EQ(seconds_to_ns(r.ttft.mean), iteration_ns(cost, prefill_shape(512)));
  std::vector<double> st;
  cost.stage_times(prefill_shape(512), st);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_GT(st[0], 0);
  EXPECT_GT(st[1], st[0]);  // the last stage also runs the LM head and sampling
}

TEST(Simulator, PipelineKeepsSeveralMicroBatchesInFlight) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 4);
  SyntheticSpec s;
  s.rate = std::numeric_limits<double>::infinity();
  s.num_requests = 256;
  s.prompt = LengthDist::parse("256", "p");
  s.output = LengthDist::parse("256", "o");
  const Trace t = synthesize(s);
  const SimResult pp4 = run(d, plan_of(d, 1, 1, 4), t);
  // With 4 micro-batches in flight every stage stays busy: far better than one batch at a time.
  const double ideal_serial = pp4.makespan;
  EXPECT_GT(pp4.mean_batch_seqs, 0);
  EXPECT_LT(pp4.mean_batch_seqs, 256);  // requests split across micro-batches
  EXPECT_GT(ideal_serial, 0);
  EXPECT_EQ(pp4.requests, 256u);
}

TEST(Simulator, DataParallelReplicasShareOneClockAndCountEveryRequest) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 4);
  SyntheticSpec s;
  s.rate = 40;
  s.num_requests = 400;
  s.prompt = LengthDist::parse("512", "p");
  s.output = LengthDist::parse("64", "o");
  const Trace t = synthesize(s);
  for (const char* router : {"round-robin", "least-loaded"}) {
    d.router = router;
    const SimResult r = run(d, plan_of(d, 4, 1, 1), t);
    EXPECT_EQ(r.requests, 400u);
    EXPECT_EQ(r.output_tokens, 400u * 64u);
  }
  // Four replicas serve a load that saturates one: mean latency drops.
  d.cluster = make_cluster("h100-sxm", 1, 1);
  const SimResult one = run(d, plan_of(d, 1, 1, 1), t);
  d.cluster = make_cluster("h100-sxm", 1, 4);
  const SimResult four = run(d, plan_of(d, 4, 1, 1), t);
  EXPECT_LT(four.e2e.mean, one.e2e.mean);
}

TEST(Simulator, SameInputsGiveByteIdenticalJson) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 2);
  SyntheticSpec s;
  s.rate = 30;
  s.num_requests = 300;
  s.prompt = LengthDist::parse("lognormal:800:600", "p");
  s.output = LengthDist::parse("lognormal:200:150", "o");
  s.seed = 5;
  const Plan p = plan_of(d, 2, 1, 1);
  const std::string a = result_json(run(d, p, synthesize(s))).dump();
  const std::string b = result_json(run(d, p, synthesize(s))).dump();
  EXPECT_EQ(a, b);
  s.seed = 6;
  const std::string c = result_json(run(d, p, synthesize(s))).dump();
  EXPECT_NE(a, c);
}

// Fast-forward of steady decode stretches (RunOptions::fast_forward) gives the step-by-step run's
// result to the last bit, and does skip the event queue and the scheduler: a lone request's
// decodes complete without them, except the last one.
struct Counted {
  SimResult r;
  FastForwardCounts ff;
};
Counted run_options(const Deployment& d, const Plan& p, const Trace& t, RunOptions o) {
  auto src = source_of(t);
  const PlanInstance inst = instantiate_or_throw(d, p, {}, std::nullopt);
  Counted c;
  o.fast_forwarded = &c.ff;
  c.r = simulate(inst, *src, o);
  return c;
}

TEST(FastForward, LoneRequestDecodesSkipTheEventQueue) {
  const Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  RunOptions on, off;
  off.fast_forward = false;
  const Counted ca = run_options(d, p, one_request(1000, 100), on);
  const Counted cb = run_options(d, p, one_request(1000, 100), off);
  const SimResult &a = ca.r, &b = cb.r;
  EXPECT_EQ(a.iterations, 100u);        // one prefill, 99 decodes
  EXPECT_EQ(ca.ff.without_queue, 98u);  // every decode but the last
  EXPECT_EQ(ca.ff.planned, 98u);        // planned when the prefill completed
  EXPECT_EQ(cb.ff.without_queue + cb.ff.planned, 0u);
  EXPECT_EQ(result_json(a).dump(), result_json(b).dump());
  EXPECT_EQ(a.e2e.mean, b.e2e.mean);
  EXPECT_EQ(a.itl.mean, b.itl.mean);
}

TEST(FastForward, SameResultAsStepByStepUnderLoadPreemptionAndStages) {
  struct Case {
    std::string model, gpu, engine;
    int dp, tp, pp;
    double memory;  // gpu_memory_utilization (0 = the engine's)
    bool prefix, breakdown, records, stages;
  };
  const std::vector<Case> cases = {
      {"llama-3.1-8b", "h100-sxm", "vllm", 1, 1, 1, 0, false, false, true, false},
      {"llama-3.1-8b", "l40s", "vllm", 1, 1, 1, 0.42, true, true, false, false},      // preempts
      {"llama-3.1-8b", "l40s", "vllm-0.6", 1, 1, 1, 0.42, false, false, true, true},  // preempts
      {"qwen2.5-7b", "a100-sxm-80gb", "sglang", 2, 1, 1, 0, true, false, false, false},
      {"llama-3.1-8b", "h100-sxm", "trtllm", 1, 2, 1, 0.25, false, false, true, false},
      {"llama-3.1-8b", "a100-sxm-40gb", "vllm-0.11", 1, 1, 2, 0, false, true, false, true},
      {"qwen2.5-7b", "a100-sxm-80gb", "sglang", 2, 1, 2, 0.5, true, false, true, false},
      {"mistral-7b", "a100-sxm-40gb", "vllm-0.11", 1, 1, 1, 0, false, false, false, false},  // local KV
  };
  std::uint64_t preempted = 0, skipped = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.model + " " + c.gpu + " " + c.engine);
    Deployment d = make_deployment(c.model, c.gpu, c.dp * c.tp * c.pp);
    d.engine = c.engine;
    d.max_model_len = 8192;
    if (c.memory > 0) d.engine_overrides.gpu_memory_utilization = c.memory;
    if (c.prefix) d.engine_overrides.prefix_caching = true;
    const Plan p = plan_of(d, c.dp, c.tp, c.pp);
    SyntheticSpec s;
    s.rate = 12;
    s.num_requests = 200;
    s.prompt = LengthDist::parse("lognormal:700:400", "p");
    s.output = LengthDist::parse("lognormal:300:200", "o");
    s.seed = 17;
    if (c.prefix) {
      s.shared_prefix = 256;
      s.prefix_groups = 3;
    }
    RunOptions on;
    on.breakdown = c.breakdown;
    on.record_requests = c.records;
    if (c.stages) {
      s.stages = {LoadStage{4, 10}, LoadStage{20, 5}};
      on.stages = s.stages;
    }
    RunOptions off = on;
    off.fast_forward = false;
    const Trace t = synthesize(s);
    const Counted ca = run_options(d, p, t, on);
    const Counted cb = run_options(d, p, t, off);
    const SimResult &a = ca.r, &b = cb.r;
    EXPECT_EQ(result_json(a).dump(), result_json(b).dump());
    ASSERT_EQ(a.request_records.size(), b.request_records.size());
    for (std::size_t i = 0; i < a.request_records.size(); ++i) {
      EXPECT_EQ(a.request_records[i].id, b.request_records[i].id);
      EXPECT_EQ(a.request_records[i].e2e, b.request_records[i].e2e);
      EXPECT_EQ(a.request_records[i].tpot, b.request_records[i].tpot);
    }
    EXPECT_EQ(cb.ff.without_queue + cb.ff.planned, 0u);
    if (c.model == "mistral-7b") {
      EXPECT_EQ(ca.ff.planned, 0u);  // V1 frees its sliding-window blocks: step by step
    } else {
      EXPECT_GT(ca.ff.planned, a.iterations / 4);
    }
    if (c.pp > 1) {
      EXPECT_EQ(ca.ff.without_queue, 0u);  // pp > 1: every step by its event
    }
    if (c.dp > 1) {
      EXPECT_GT(ca.ff.planned, ca.ff.without_queue);  // replicas interleave: most by events
    }
    preempted += a.preemptions > 0;
    skipped += ca.ff.planned;
  }
  EXPECT_GE(preempted, 2u);
  EXPECT_GT(skipped, 0u);
}

TEST(Simulator, SloAttainmentCountsRequestsMeetingBothSlos) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const SimResult base = run(d, p, one_request(500, 20));
  d.ttft_slo = base.ttft.mean * 1.01;
  d.tpot_slo = base.tpot.mean * 1.01;
  EXPECT_DOUBLE_EQ(run(d, p, one_request(500, 20)).slo_attainment, 1.0);
  d.tpot_slo = base.tpot.mean * 0.99;
  const SimResult miss = run(d, p, one_request(500, 20));
  EXPECT_DOUBLE_EQ(miss.slo_attainment, 0.0);
  EXPECT_DOUBLE_EQ(miss.goodput_requests_per_s, 0.0);
}

TEST(Simulator, EnergyIncludesIdlePowerOverTheMakespan) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  Trace t = one_request(100, 10, 0.0);
  t.requests.push_back(Request{1, seconds_to_ns(30.0), 100, 10});  // 30 s of idling in between
  const SimResult r = run(d, p, t);
  const double idle = d.cluster.gpu.power_idle_w * r.makespan;
  EXPECT_GE(r.energy_j, idle);
  EXPECT_LE(r.energy_j, idle + d.cluster.gpu.power_max_w * 2.0);  // two short bursts of work
}

TEST(Simulator, RejectsARequestLongerThanTheContext) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  d.max_model_len = 4096;
  const Plan p = plan_of(d, 1, 1, 1);
  try {
    run(d, p, one_request(5000, 10));
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("max model length is 4096"), std::string::npos) << e.what();
  }
}

TEST(Simulator, StreamingSyntheticSourceKeepsOnlyActiveRequests) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  SyntheticSpec s;
  s.rate = 5;
  s.num_requests = 3000;
  s.prompt = LengthDist::parse("256", "p");
  s.output = LengthDist::parse("32", "o");
  auto src = synthetic_source(s);
  const SimResult r = simulate_plan(d, p, *src);
  EXPECT_EQ(r.requests, 3000u);
  EXPECT_LT(r.peak_active_requests, 50u);  // light load: a handful in flight at a time
}

// Memory is bounded by the requests in the system, and so is that number: a load that queues
// more than RunOptions::max_live_requests (4,194,304 by default) at once is refused, naming the
// plan and the flags to change, instead of growing until the allocator fails.
TEST(Simulator, AnOverloadBeyondTheLiveRequestLimitIsAUserError) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  SyntheticSpec s;
  s.rate = 1e6;  // far beyond what one GPU serves: every request is still waiting
  s.num_requests = 5000;
  s.prompt = LengthDist::parse("256", "p");
  s.output = LengthDist::parse("32", "o");
  const PlanInstance inst = instantiate_or_throw(d, p, {}, 288);
  RunOptions o;
  o.max_live_requests = 1000;
  auto src = synthetic_source(s);
  const std::string msg = testing::user_error_of([&] { simulate(inst, *src, o); });
  EXPECT_CONTAINS(msg, "more than 1000 requests are waiting or running at once");
  EXPECT_CONTAINS(msg, "on plan dp1-tp1-pp1");
  EXPECT_CONTAINS(msg, opt("rate"));
  // Under the limit the same load runs.
  o.max_live_requests = 5000;
  auto again = synthetic_source(s);
  EXPECT_EQ(simulate(inst, *again, o).requests, 5000u);
  EXPECT_EQ(RunOptions{}.max_live_requests, std::uint64_t{1} << 22);
}

TEST(Simulator, V0PrefillFirstNeverMixesPrefillAndDecode) {
  Deployment d = make_deployment("llama-2-7b", "a100-sxm-80gb", 1);
  d.engine = "vllm-0.6";
  d.max_model_len = 4096;
  const Plan p = plan_of(d, 1, 1, 1);
  const EnginePolicy e = d.engine_policy();
  EXPECT_FALSE(e.chunked_prefill);  // max_model_len <= 32K: chunked prefill off by default in 0.6
  EXPECT_EQ(e.max_num_batched_tokens, 4096);
  EXPECT_EQ(e.max_num_seqs, 256);
  SyntheticSpec s;
  s.rate = 4;
  s.num_requests = 100;
  s.prompt = LengthDist::parse("uniform:100:3000", "p");
  s.output = LengthDist::parse("uniform:10:300", "o");
  const SimResult r = run(d, p, synthesize(s));
  EXPECT_EQ(r.requests, 100u);
}

TEST(Engine, VllmDefaultsDependOnTheGpuAndVersion) {
  const EnginePolicy h100 = resolve_engine("vllm", find_gpu("h100-sxm"), 131072, {});
  EXPECT_EQ(h100.max_num_batched_tokens, 8192);
  EXPECT_EQ(h100.max_num_seqs, 1024);
  const EnginePolicy a100 = resolve_engine("vllm", find_gpu("a100-sxm-80gb"), 131072, {});
  EXPECT_EQ(a100.max_num_batched_tokens, 2048);
  EXPECT_EQ(a100.max_num_seqs, 256);
  const EnginePolicy v0 = resolve_engine("vllm-0.6", find_gpu("h100-sxm"), 131072, {});
  EXPECT_TRUE(v0.chunked_prefill);  // > 32K context turns chunked prefill on in 0.6
  EXPECT_EQ(v0.max_num_batched_tokens, 512);
  EXPECT_THROW(resolve_engine("vlm", find_gpu("h100-sxm"), 4096, {}), UserError);
  EngineOverrides bad;
  bad.gpu_memory_utilization = 1.5;
  EXPECT_THROW(resolve_engine("vllm", find_gpu("h100-sxm"), 4096, bad), UserError);
}

}  // namespace
}  // namespace apex

namespace apex {
namespace {

SimResult run_synthetic(const Deployment& d, int n, const std::string& prompt, const std::string& output) {
  Plan p;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.rate = std::numeric_limits<double>::infinity();
  s.num_requests = n;
  s.prompt = LengthDist::parse(prompt, "p");
  s.output = LengthDist::parse(output, "o");
  auto src = synthetic_source(s);
  return simulate_plan(d, p, *src);
}

TEST(Energy, PowerMatchesThePublishedH100Anchors) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  // ML.ENERGY anchors (docs/energy.md): ~300 W for batch-1 decode, ~600 W for batch-128 decode,
  // the 700 W cap in prefill. Fully busy runs, so the mean power is the busy power.
  EXPECT_NEAR(run_synthetic(d, 1, "128", "2000").mean_power_per_gpu_w, 300, 45);
  EXPECT_NEAR(run_synthetic(d, 128, "128", "1024").mean_power_per_gpu_w, 600, 90);
  EXPECT_NEAR(run_synthetic(d, 100, "8000", "1").mean_power_per_gpu_w, 700, 35);
}

TEST(Energy, LowerClocksSaveEnergyOnMemoryBoundDecodeAndSlowPrefill) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const SimResult full_decode = run_synthetic(d, 64, "128", "1024");
  const SimResult full_prefill = run_synthetic(d, 50, "8000", "1");
  set_gpu_frequency(d.cluster.gpu, 1000e6);
  EXPECT_NEAR(d.cluster.gpu.peak_bf16, 989.4e12 * 1000 / 1980, 1e9);
  const SimResult slow_decode = run_synthetic(d, 64, "128", "1024");
  const SimResult slow_prefill = run_synthetic(d, 50, "8000", "1");
  EXPECT_LT(slow_decode.energy_per_output_token_j, full_decode.energy_per_output_token_j);
  EXPECT_LT(slow_decode.tpot.mean, full_decode.tpot.mean * 1.3);    // decode is memory-bound
  EXPECT_GT(slow_prefill.ttft.mean, full_prefill.ttft.mean * 1.5);  // prefill is compute-bound
  EXPECT_THROW(set_gpu_frequency(d.cluster.gpu, 2500e6), UserError);
  EXPECT_THROW(set_gpu_frequency(d.cluster.gpu, 100e6), UserError);
}

TEST(Energy, PerRequestAndPerTokenAreConsistent) {
  Deployment d = make_deployment("llama-3.1-8b", "a100-sxm-80gb", 1);
  const SimResult r = run_synthetic(d, 40, "500", "100");
  EXPECT_NEAR(r.energy_per_request_j * 40, r.energy_j, 1e-6 * r.energy_j);
  EXPECT_NEAR(r.energy_per_output_token_j * 4000, r.energy_j, 1e-6 * r.energy_j);
  EXPECT_GE(r.mean_power_per_gpu_w, d.cluster.gpu.power_idle_w);
  EXPECT_LE(r.mean_power_per_gpu_w, d.cluster.gpu.power_max_w);
}

}  // namespace
}  // namespace apex

namespace apex {
namespace {

TEST(Engine, TheVllm060ValidationSetupIsExpressible) {
  // vLLM 0.6.0, Llama-3.1-70B bf16 on 2x H100-SXM-80GB, --gpu-memory-utilization 0.98, custom
  // all-reduce disabled, --max-model-len 52720 (the largest that fits on 2 GPUs).
  Deployment d;
  d.model = load_model("llama-3.1-70b");
  d.cluster = make_cluster("h100-sxm", 1, 2);
  d.engine = "vllm-0.6";
  d.engine_overrides.gpu_memory_utilization = 0.98;
  d.engine_overrides.custom_all_reduce = false;
  d.max_model_len = 52720;
  d.validate();
  const EnginePolicy e = d.engine_policy();
  EXPECT_TRUE(e.chunked_prefill);  // 52720 > 32K
  EXPECT_EQ(e.max_num_batched_tokens, 512);
  EXPECT_FALSE(e.costs.custom_all_reduce);
  Plan p;
  p.tp = 2;
  make_plan_or_throw(d, p);
  EXPECT_FALSE(memory_check(d, p, e, 52720).has_value());  // one max-length request fits
  const MemoryFootprint f = memory_footprint(d.model, d.cluster, p, d.precision, e.memory_knobs());
  EXPECT_LT(f.kv_tokens(), 3 * 52720);  // ... and not many more: the reason for 52720
}

}  // namespace
}  // namespace apex

namespace apex {
namespace {

TEST(Simulator, PerRequestRecordsMatchTheSummaries) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 2);
  Plan p;
  p.dp = 2;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.rate = 30;
  s.num_requests = 200;
  s.prompt = LengthDist::parse("lognormal:600:300", "p");
  s.output = LengthDist::parse("lognormal:80:40", "o");
  auto src = synthetic_source(s);
  const SimResult r = simulate_plan(d, p, *src, {}, true);
  ASSERT_EQ(r.request_records.size(), 200u);
  std::vector<bool> seen(200, false);
  double e2e = 0;
  int replica1 = 0;
  for (const auto& q : r.request_records) {
    ASSERT_LT(q.id, 200u);
    EXPECT_FALSE(seen[q.id]) << "request " << q.id << " reported twice";
    seen[q.id] = true;
    e2e += q.e2e;
    replica1 += q.replica;
    EXPECT_GE(q.e2e, q.ttft);
  }
  EXPECT_NEAR(e2e / 200, r.e2e.mean, 1e-9);
  EXPECT_GT(replica1, 50);  // both replicas served
  EXPECT_LT(replica1, 150);
  auto again = synthetic_source(s);
  EXPECT_TRUE(simulate_plan(d, p, *again).request_records.empty());  // off by default: constant memory
}

// ---------------------------------------------------------------------------------------------
// Load stages (RunOptions::stages) and the front-end latency

SimResult run_with(const Deployment& d, const Plan& p, const Trace& t, const RunOptions& o) {
  const PlanInstance inst = instantiate_or_throw(d, p, {}, required_kv_tokens(d, t.max_total()));
  auto src = source_of(t);
  return simulate(inst, *src, o);
}

SyntheticSpec staged_spec(const std::string& profile) {
  SyntheticSpec s;
  s.stages = parse_load_stages(profile, "--rate");
  s.prompt = LengthDist::parse("lognormal:600:300", "p");
  s.output = LengthDist::parse("lognormal:120:60", "o");
  s.seed = 5;
  return s;
}

TEST(LoadStages, OneStageMetricsEqualTheRunsEveryPerRequestMetric) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const SyntheticSpec s = staged_spec("6:60");
  RunOptions o;
  o.stages = s.stages;
  const SimResult r = run_with(d, p, synthesize(s), o);
  ASSERT_EQ(r.stages.size(), 1u);
  EXPECT_EQ(r.stages[0].rate, 6.0);
  EXPECT_EQ(r.stages[0].start, 0.0);
  EXPECT_EQ(r.stages[0].end, 60.0);
  int compared = 0;
  for (const Metric& m : metric_registry()) {
    if (!m.per_request) continue;
    SCOPED_TRACE(m.id);
    EXPECT_EQ(metric_raw_json(m, r.stages[0].metrics), metric_raw_json(m, r));
    ++compared;
  }
  EXPECT_EQ(compared, 13);  // TTFT, TPOT, ITL, E2E, queue, 5 rates and ratios, 3 counts
  // Without stages to measure, a run has no stage results (and a plain run is unchanged).
  EXPECT_TRUE(run_with(d, p, synthesize(s), RunOptions{}).stages.empty());
}

TEST(LoadStages, EachRequestCountsInTheStageItArrivedInAndTheStateCarriesOver) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  // An overload (far above what one H100 serves at these lengths), then a light load: the light
  // stage starts with the backlog the first one left, so its requests wait longer than the same
  // light load run alone.
  const SyntheticSpec s = staged_spec("200:20,1:60");
  RunOptions o;
  o.stages = s.stages;
  const Trace t = synthesize(s);
  const SimResult r = run_with(d, p, t, o);
  ASSERT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.stages[0].end, 20.0);
  EXPECT_EQ(r.stages[1].start, r.stages[0].end);  // the second stage starts at the first's end
  EXPECT_EQ(r.stages[1].end, 80.0);
  std::uint64_t arrived[2] = {0, 0};
  for (const Request& q : t.requests)
    ++arrived[q.stage];
  EXPECT_EQ(r.stages[0].metrics.requests, arrived[0]);
  EXPECT_EQ(r.stages[1].metrics.requests, arrived[1]);
  EXPECT_EQ(r.stages[0].metrics.requests + r.stages[1].metrics.requests, r.requests);
  EXPECT_EQ(r.stages[0].metrics.output_tokens + r.stages[1].metrics.output_tokens, r.output_tokens);
  EXPECT_EQ(r.stages[0].metrics.ttft.count + r.stages[1].metrics.ttft.count, r.ttft.count);
  EXPECT_GE(r.stages[1].metrics.first_arrival, 20.0);
  // Overloaded: the first stage is served well below its offered rate.
  EXPECT_LT(r.stages[0].metrics.requests_per_s, 0.97 * 200);
  // The light stage alone (its own arrivals shifted to t = 0) against the same stage after the
  // overload.
  const SyntheticSpec light = staged_spec("1:60");
  const SimResult alone = run_with(d, p, synthesize(light), RunOptions{});
  EXPECT_GT(r.stages[1].metrics.ttft.mean, 3 * alone.ttft.mean);
}

TEST(FrontendLatency, AddsExactlyToTtftAndE2eButNotToDecode) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const Trace t = one_request(800, 40);
  const SimResult base = run(d, p, t);
  d.engine_overrides.frontend_latency_s = 10e-3;
  EXPECT_EQ(d.engine_policy().costs.frontend_latency, 10e-3);
  const SimResult fe = run(d, p, t);
  // In integer nanoseconds: exactly 10 ms more.
  EXPECT_EQ(seconds_to_ns(fe.ttft.mean) - seconds_to_ns(base.ttft.mean), 10'000'000);
  EXPECT_EQ(seconds_to_ns(fe.e2e.mean) - seconds_to_ns(base.e2e.mean), 10'000'000);
  EXPECT_EQ(fe.tpot.mean, base.tpot.mean);  // bit for bit
  EXPECT_EQ(fe.itl.mean, base.itl.mean);
  EXPECT_EQ(fe.queue.mean, base.queue.mean);
  EXPECT_EQ(fe.makespan, base.makespan);  // the engine's schedule is unchanged
  EXPECT_EQ(fe.iterations, base.iterations);
  // 0 is the engine-side measurement.
  d.engine_overrides.frontend_latency_s = 0.0;
  EXPECT_EQ(run(d, p, t).ttft.mean, base.ttft.mean);
}

TEST(FrontendLatency, SloAttainmentUsesTheClientSideTtft) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const Trace t = one_request(800, 40);
  const SimResult base = run(d, p, t);
  d.ttft_slo = base.ttft.mean + 5e-3;  // met engine-side, missed once 10 ms are added
  EXPECT_EQ(run(d, p, t).slo_attainment, 1.0);
  d.engine_overrides.frontend_latency_s = 10e-3;
  const SimResult fe = run(d, p, t);
  EXPECT_EQ(fe.slo_attainment, 0.0);
  EXPECT_EQ(fe.goodput_requests_per_s, 0.0);
}

TEST(FrontendLatency, BadValuesAreUserErrors) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  for (double v :
       {-1e-3, 61.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    SCOPED_TRACE(v);
    d.engine_overrides.frontend_latency_s = v;
    EXPECT_CONTAINS(testing::user_error_of([&] { (void)d.engine_policy(); }),
                    opt("frontend_latency_ms") + " must be a number of milliseconds between 0 and 60000");
  }
}

}  // namespace
}  // namespace apex

// ---------------------------------------------------------------------------------------------
// Memory per request: the collector's statistics are bounded histograms (issue #10)

namespace apex {
namespace {

// Feeds `n` requests with latencies from fixed ranges straight into a collector (no simulation:
// two million requests in well under a second) and returns its statistics' memory.
std::size_t collector_bytes_after(const PlanInstance& inst, std::uint64_t n, SimResult* out = nullptr) {
  MetricsCollector m(inst, RunOptions{});
  std::uint64_t state = 42;
  auto ms = [&](double lo, double hi) {  // uniform, in ns
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<TimeNs>((lo + (hi - lo) * static_cast<double>(state >> 11) * 0x1.0p-53) * 1e6);
  };
  for (std::uint64_t i = 0; i < n; ++i) {
    ActiveRequest a;
    a.id = i;
    a.arrival = static_cast<TimeNs>(i) * 1'000'000;
    a.prompt = 100;
    a.output = 4;
    m.on_arrival(a, 1);
    m.on_scheduled(a, a.arrival + ms(1, 50));
    TimeNs t = a.arrival + ms(60, 2000);
    for (int k = 0; k < a.output; ++k) {
      m.on_tokens(a, 1, t);
      t += ms(5, 50);
    }
    m.on_finish(a, t);
  }
  const std::size_t bytes = m.stats_memory_bytes();
  if (out != nullptr) *out = m.result(inst.memory);
  return bytes;
}

TEST(CollectorMemory, RunLengthTokenIntervalsEqualOneAddPerInterval) {
  // add_itl counts equal successive intervals together; the histogram after flush_itl must be the
  // one built by adding each interval as it came (counts, buckets, mean and extremes).
  RequestStats runs(false);
  LogHistogram plain;
  std::uint64_t state = 7;
  std::int64_t gap = 9'000'000;
  for (int i = 0; i < 5000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    if ((state >> 60) < 3) gap = 1 + static_cast<std::int64_t>((state >> 20) % 40'000'000);
    const std::uint64_t times = 1 + (state >> 33) % 4;
    runs.add_itl(gap, times);
    plain.add(gap, times);
  }
  runs.add_itl(1, 0);  // a zero-length run changes nothing
  runs.flush_itl();
  runs.flush_itl();  // idempotent
  EXPECT_EQ(runs.itl.count(), plain.count());
  EXPECT_EQ(runs.itl.first_bucket(), plain.first_bucket());
  EXPECT_EQ(runs.itl.bucket_counts(), plain.bucket_counts());
  const Summary a = runs.itl.summary_seconds(), b = plain.summary_seconds();
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.p99, b.p99);
}

TEST(CollectorMemory, DoesNotGrowWithTheNumberOfRequests) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const PlanInstance inst = instantiate_or_throw(d, plan_of(d, 1, 1, 1), {}, std::nullopt);
  const std::size_t small = collector_bytes_after(inst, 10'000);
  SimResult r;
  const std::size_t large = collector_bytes_after(inst, 2'000'000, &r);
  EXPECT_EQ(r.requests, 2'000'000u);
  EXPECT_EQ(r.ttft.count, 2'000'000u);
  EXPECT_EQ(r.itl.count, 6'000'000u);
  // 200x the requests, the same ranges: at most a few buckets more (the extremes), never the
  // 4 x 8 bytes per request the exact vectors took (64 MB here).
  EXPECT_LE(large, small + 5 * 512 * 8);  // at most one more 512-bucket chunk per histogram
  EXPECT_LT(large, 256u * 1024);
  EXPECT_NEAR(r.ttft.p50, 1.03, 0.01);      // uniform 60 ms .. 2 s
  EXPECT_NEAR(r.queue.p90, 0.0451, 0.001);  // uniform 1 .. 50 ms
}

// A simulation without per-request records summarizes from the histograms; with them, exactly.
// The two agree to the stated resolution on every percentile, and exactly on counts and means.
TEST(CollectorMemory, HistogramPercentilesMatchTheExactOnesOfARun) {
  Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
  const Plan p = plan_of(d, 1, 1, 1);
  const SyntheticSpec s = staged_spec("12:120");
  const Trace t = synthesize(s);
  RunOptions approx;
  approx.stages = s.stages;
  RunOptions exact = approx;
  exact.record_requests = true;
  const SimResult a = run_with(d, p, t, approx), e = run_with(d, p, t, exact);
  ASSERT_GT(e.requests, 1000u);
  EXPECT_TRUE(a.request_records.empty());
  EXPECT_EQ(e.request_records.size(), e.requests);
  auto same = [](const Summary& g, const Summary& w, const char* what) {
    SCOPED_TRACE(what);
    EXPECT_EQ(g.count, w.count);
    EXPECT_NEAR(g.mean, w.mean, w.mean * 1e-14);
    EXPECT_EQ(g.min, w.min);
    EXPECT_EQ(g.max, w.max);
    const double res = LogHistogram::kRelativeResolution * (1 + 1e-9);
    EXPECT_LE(std::abs(g.p50 - w.p50), w.p50 * res);
    EXPECT_LE(std::abs(g.p90 - w.p90), w.p90 * res);
    EXPECT_LE(std::abs(g.p99 - w.p99), w.p99 * res);
  };
  for (const SimResult* r : {&a, &e})
    ASSERT_EQ(r->stages.size(), 1u);
  for (auto [g, w] : {std::pair{&a, &e}, {&a.stages[0].metrics, &e.stages[0].metrics}}) {
    same(g->ttft, w->ttft, "ttft");
    same(g->tpot, w->tpot, "tpot");
    same(g->e2e, w->e2e, "e2e");
    same(g->queue, w->queue, "queue");
    EXPECT_EQ(g->itl.p99, w->itl.p99);  // ITL is always the histogram
  }
  // At least one percentile really came from the histogram (not a disguised exact path).
  EXPECT_NE(a.ttft.p90, e.ttft.p90);
}

}  // namespace
}  // namespace apex

// ---------------------------------------------------------------------------------------------
// Physical invariants on every run (issue #10 part 4): ITL >= the weight-read time of a step,
// TTFT >= the prefill compute bound

namespace apex {
namespace {

// The analytical backend with every kernel `factor` times faster: a cost model that beats the
// hardware, as a broken backend or an unchecked table would.
class FasterThanHardware final : public OpModel {
 public:
  FasterThanHardware(const Gpu& gpu, double factor) : base_(make_analytical_ops(gpu)), f_(factor) {}
  std::string name() const override { return "faster-than-hardware"; }
  double gemm(const GemmArgs& a) const override { return base_->gemm(a) * f_; }
  double attention_prefill(const PrefillAttnArgs& a) const override {
    return base_->attention_prefill(a) * f_;
  }
  double attention_decode(const DecodeAttnArgs& a) const override { return base_->attention_decode(a) * f_; }
  double collective(Collective op, double bytes, const CommGroup& g) const override {
    return base_->collective(op, bytes, g) * f_;
  }
  double elementwise(double bytes) const override { return base_->elementwise(bytes) * f_; }
  double moe(const MoeArgs& a) const override { return base_->moe(a) * f_; }

 private:
  std::unique_ptr<OpModel> base_;
  double f_;
};

std::string internal_error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const InternalError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InternalError, got: " << e.what();
  }
  return {};
}

TEST(PhysicalInvariants, AStepFasterThanHbmTripsTheItlFloor) {
  Deployment d = make_deployment("llama-3.1-70b", "h100-sxm", 8);
  const Plan p = plan_of(d, 1, 8, 1);
  const Trace t = one_request(16, 64);  // a prompt too short for the TTFT floor to matter
  // The real cost model: the token interval is above the weight-read time (70B / 8 GPUs / HBM).
  const SimResult ok = run(d, p, t);
  const double read_s = 2 * 70.6e9 / 8 / d.cluster.gpu.hbm_bandwidth;
  EXPECT_GT(ok.itl.min, read_s * 0.9);
  d.ops = std::make_shared<FasterThanHardware>(d.cluster.gpu, 1e-3);
  EXPECT_CONTAINS(internal_error_of([&] { run(d, p, t); }), "ITL below the weight-read time of a step");
}

TEST(PhysicalInvariants, APrefillFasterThanPeakTripsTheTtftFloor) {
  Deployment d = make_deployment("llama-3.1-70b", "h100-sxm", 8);
  const Plan p = plan_of(d, 1, 8, 1);
  const Trace t = one_request(16000, 1);  // one token: no ITL sample
  const SimResult ok = run(d, p, t);
  const double compute_s = 2 * 70e9 * 16000 / (8 * d.cluster.gpu.peak_bf16);
  EXPECT_GT(ok.ttft.min, compute_s);
  d.ops = std::make_shared<FasterThanHardware>(d.cluster.gpu, 1e-3);
  const std::string msg = internal_error_of([&] { run(d, p, t); });
  EXPECT_CONTAINS(msg, "TTFT below the prefill compute bound: request 0 (16000 prompt tokens to compute)");
}

// What a user can set cannot break them: a custom GPU at the edges of the plausible ranges (the
// cluster loader refuses anything beyond, test_hw), and the profile backend's tables (clamped to
// the roofline, rows far below it refused: test_perf).
TEST(PhysicalInvariants, GpusAtTheEdgesOfThePlausibleRangesKeepThem) {
  for (const auto& [bw, peak] : {std::pair{1e15, 1e18}, {1e15, 1e12}, {1e9, 1e18}, {1e9, 1e12}}) {
    SCOPED_TRACE(std::to_string(bw) + " B/s, " + std::to_string(peak) + " FLOP/s");
    Deployment d = make_deployment("llama-3.1-8b", "h100-sxm", 1);
    d.cluster.gpu.hbm_bandwidth = bw;
    d.cluster.gpu.peak_bf16 = d.cluster.gpu.peak_fp16 = peak;
    const SimResult r = run(d, plan_of(d, 1, 1, 1), one_request(2000, 8));
    EXPECT_GE(r.itl.min, 16.06e9 * 0.8 / bw);  // the weights (embedding aside) read at least once
    EXPECT_GE(r.ttft.min, 2 * 6.98e9 * 2000 / peak);
    EXPECT_LE(r.mbu, 1.0);
    EXPECT_LE(r.mfu, 1.0);
  }
}

}  // namespace
}  // namespace apex
