// Serialization of simulated outcomes for the MPI sweep: lossless round trip.
#include <gtest/gtest.h>

#include "dist/serialize.h"
#include "model/registry.h"

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

}  // namespace
}  // namespace apex
