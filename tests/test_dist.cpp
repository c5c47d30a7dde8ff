// Serialization of simulated outcomes for the MPI sweep: lossless round trip.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "dist/serialize.h"
#include "model/registry.h"
#include "report/report.h"
#include "sim/metrics/registry.h"

namespace apex {
namespace {

TEST(Dist, OutcomeRoundTripsExactly) {
  Deployment d;
  d.model = load_model("llama-3.1-8b");
  d.cluster = make_cluster("h100-sxm", 1, 2);
  Plan p;
  p.dp = 2;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.rate = 9;
  s.num_requests = 80;
  s.prompt = LengthDist::parse("lognormal:700:300", "p");
  s.output = LengthDist::parse("lognormal:90:40", "o");
  auto src = synthetic_source(s);
  PlanOutcome o;
  o.result = simulate_plan(d, p, *src);
  o.score = 1.0 / 3.0;
  o.cost_per_million_tokens = 2.718281828459045;
  const std::string text = outcome_to_json(o).dump();
  PlanOutcome back;
  outcome_from_json(Json::parse(text), back);
  ASSERT_TRUE(back.result.has_value());
  EXPECT_EQ(back.score, o.score);
  EXPECT_EQ(back.cost_per_million_tokens, o.cost_per_million_tokens);
  // Every field survives bit for bit: the re-serialized text is identical.
  EXPECT_EQ(outcome_to_json(back).dump(), text);
  EXPECT_EQ(back.result->ttft.p99, o.result->ttft.p99);
  EXPECT_EQ(back.result->plan.label(), "dp2-tp1-pp1");
  EXPECT_EQ(back.result->plan.stages.size(), 1u);
}

TEST(Dist, LoadStageResultsRoundTripExactly) {
  Deployment d;
  d.model = load_model("llama-3.1-8b");
  d.cluster = make_cluster("h100-sxm", 1, 1);
  Plan p;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.stages = parse_load_stages("3:10,9:10", "--rate");
  s.prompt = LengthDist::parse("lognormal:700:300", "p");
  s.output = LengthDist::parse("lognormal:90:40", "o");
  const Trace t = synthesize(s);
  const PlanInstance inst = instantiate_or_throw(d, p, {}, required_kv_tokens(d, t.max_total()));
  RunOptions options;
  options.stages = s.stages;
  auto src = source_of(t);
  PlanOutcome o;
  o.result = simulate(inst, *src, options);
  ASSERT_EQ(o.result->stages.size(), 2u);
  const std::string text = outcome_to_json(o).dump();
  PlanOutcome back;
  outcome_from_json(Json::parse(text), back);
  EXPECT_EQ(outcome_to_json(back).dump(), text);
  ASSERT_EQ(back.result->stages.size(), 2u);
  EXPECT_EQ(back.result->stages[1].start, 10.0);
  EXPECT_EQ(back.result->stages[1].rate, 9.0);
  EXPECT_EQ(back.result->stages[1].metrics.ttft.p90, o.result->stages[1].metrics.ttft.p90);
  EXPECT_EQ(back.result->stages[0].metrics.requests, o.result->stages[0].metrics.requests);
}

// A value of the field's type, distinct for each registry index i (and from every default).
MetricValue distinct(const MetricValue& like, std::size_t i) {
  const auto k = static_cast<double>(i);
  return std::visit(
      [&](const auto& x) -> MetricValue {
        using T = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return !x;
        } else if constexpr (std::is_same_v<T, int>) {
          return static_cast<int>(100 + i);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return -static_cast<std::int64_t>(1'000'000'000'000 + i);  // negative and wider than 32 bits
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
          return (std::uint64_t{1} << 63) + i;  // above the int64 range
        } else if constexpr (std::is_same_v<T, double>) {
          return (k + 1) / 7.0 + 1e-3;  // no short decimal: a lossy round trip would show
        } else if constexpr (std::is_same_v<T, std::string>) {
          return "engine-" + std::to_string(i);
        } else {
          return Summary{1000 + i,    k + 1 / 3.0, k + 2 / 3.0, k + 1 / 7.0,
                         k + 2 / 7.0, k - 1 / 9.0, k + 8 / 9.0};
        }
      },
      like);
}

bool same_double(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// Exact equality, bit for bit for doubles.
bool same(const MetricValue& a, const MetricValue& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<double>(&a)) return same_double(*x, std::get<double>(b));
  if (const auto* x = std::get_if<Summary>(&a)) {
    const auto& y = std::get<Summary>(b);
    return x->count == y.count && same_double(x->mean, y.mean) && same_double(x->p50, y.p50) &&
           same_double(x->p90, y.p90) && same_double(x->p99, y.p99) && same_double(x->min, y.min) &&
           same_double(x->max, y.max);
  }
  return std::visit(
      [&b](const auto& x) {
        using T = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Summary>) {
          return false;  // handled above
        } else {
          return x == std::get<T>(b);
        }
      },
      a);
}

std::vector<const Metric*> raw_metrics() {
  std::vector<const Metric*> out;
  for (const Metric& m : metric_registry()) {
    if (m.raw()) out.push_back(&m);
  }
  return out;
}

TEST(Dist, RegistryCoversEveryLeafFieldOfSimResult) {
  // 1 engine name + 5 summaries + 25 scalars + 9 memory-footprint fields + 11 time-breakdown fields
  // (measured, 8 kernel classes, CPU overhead, PP transfer); plan, request_records and the load
  // stages are sent whole. registry.cpp counts the fields by structured bindings, so a new field breaks the
  // build.
  EXPECT_EQ(raw_metrics().size(), 53u);
  for (const Metric& m : metric_registry()) {
    EXPECT_FALSE(m.id.empty());
    EXPECT_FALSE(m.description.empty()) << m.id;
    EXPECT_EQ(m.section.empty(), m.key.empty()) << m.id;
  }
  EXPECT_FALSE(metric("prefix_cache_hit_rate").raw());  // derived, never sent
  EXPECT_FALSE(metric("memory.kv_tokens").raw());
  EXPECT_THROW(metric("no_such_metric"), std::logic_error);
}

TEST(Dist, EveryRegisteredFieldRoundTripsExactly) {
  SimResult r;
  const auto raw = raw_metrics();
  std::vector<MetricValue> expected;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    expected.push_back(distinct(raw[i]->get(r), i));
    raw[i]->set(r, expected.back());
  }
  // Setters and getters address one field each: no two entries share a field.
  for (std::size_t i = 0; i < raw.size(); ++i)
    EXPECT_TRUE(same(raw[i]->get(r), expected[i])) << raw[i]->id << " aliases another entry";
  r.plan.dp = 3;
  r.plan.attn_dp = true;
  r.plan.stages = {Stage{0, 7, {7}, true, false}, Stage{7, 9, {2}, false, true}};
  r.request_records = {RequestRecord{42, 0.5, 0.25, 3.5, 0.125, 700, 90, 1, 2}};

  const SimResult back = sim_result_from_json(Json::parse(sim_result_to_json(r).dump()));
  for (std::size_t i = 0; i < raw.size(); ++i)
    EXPECT_TRUE(same(raw[i]->get(back), expected[i])) << raw[i]->id << " did not survive the round trip";
  for (const Metric& m : metric_registry()) {
    if (!m.raw()) {
      EXPECT_TRUE(same(m.get(back), m.get(r))) << m.id;
    }
  }
  // The fields the old hand-written list dropped, read directly.
  EXPECT_EQ(back.prefix_hit_tokens, r.prefix_hit_tokens);
  EXPECT_GT(back.prefix_hit_tokens, std::uint64_t{1} << 63);
  EXPECT_TRUE(back.time.measured);
  EXPECT_EQ(back.time.kernels.draft, r.time.kernels.draft);
  EXPECT_EQ(back.time.cpu_overhead, r.time.cpu_overhead);
  EXPECT_EQ(back.memory.kv_blocks, r.memory.kv_blocks);
  EXPECT_EQ(back.memory.block_size, r.memory.block_size);
  EXPECT_EQ(back.engine, r.engine);
  EXPECT_EQ(back.plan.label(), r.plan.label());
  ASSERT_EQ(back.plan.stages.size(), 2u);
  EXPECT_EQ(back.plan.stages[1].cell_counts, std::vector<std::int64_t>{2});
  EXPECT_TRUE(back.plan.stages[1].has_lm_head);
  ASSERT_EQ(back.request_records.size(), 1u);
  EXPECT_EQ(back.request_records[0].id, 42u);
  EXPECT_EQ(back.request_records[0].preemptions, 2);
  EXPECT_EQ(back.request_records[0].tpot, 0.125);
}

TEST(Dist, NonFiniteDoublesRoundTrip) {
  SimResult r;
  r.makespan = std::numeric_limits<double>::infinity();
  r.mfu = -std::numeric_limits<double>::infinity();
  r.ttft.p99 = std::numeric_limits<double>::quiet_NaN();
  const SimResult back = sim_result_from_json(Json::parse(sim_result_to_json(r).dump()));
  EXPECT_EQ(back.makespan, r.makespan);
  EXPECT_EQ(back.mfu, r.mfu);
  EXPECT_TRUE(std::isnan(back.ttft.p99));
}

TEST(Dist, AResultFromAnotherBuildIsRejected) {
  SimResult r;
  Json j = sim_result_to_json(r);
  Json extra = j;
  extra["fields"]["a_field_this_build_lacks"] = 1;
  EXPECT_THROW(sim_result_from_json(extra), std::runtime_error);
  j["fields"].erase("prefix_hit_tokens");
  EXPECT_THROW(sim_result_from_json(j), Json::out_of_range);
}

TEST(Dist, SharedPrefixResultReportsTheSameAfterTheWire) {
  // The defect this fixes: the hit rate of a plan simulated on another rank came back as 0.
  Deployment d;
  d.model = load_model("llama-3.1-8b");
  d.cluster = make_cluster("h100-sxm", 1, 1);
  Plan p;
  make_plan_or_throw(d, p);
  SyntheticSpec s;
  s.rate = 8;
  s.num_requests = 60;
  s.prompt = LengthDist::parse("lognormal:900:300", "p");
  s.output = LengthDist::parse("64", "o");
  s.shared_prefix = 512;
  s.prefix_groups = 3;
  auto src = synthetic_source(s);
  const SimResult r = simulate_plan(d, p, *src, {}, false, /*breakdown=*/true);
  ASSERT_GT(r.prefix_hit_tokens, 0u);
  const SimResult back = sim_result_from_json(Json::parse(sim_result_to_json(r).dump()));
  const Json before = result_json(r), after = result_json(back);
  EXPECT_GT(after["counters"]["prefix_cache_hit_rate"].get<double>(), 0.2);
  EXPECT_TRUE(after.contains("breakdown"));
  EXPECT_EQ(after.dump(), before.dump());
  EXPECT_EQ(simulate_csv(back), simulate_csv(r));
}

}  // namespace
}  // namespace apex
