// Report tests: the JSON contract of CLI.md, CSV, table, HTML and launch commands.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "model/registry.h"
#include "report/report.h"
#include "sim/metrics/registry.h"
#include "test_util.h"

namespace apex {
namespace {

struct Fixture {
  Deployment d;
  Plan plan;
  SimResult result;
  SearchReport report;
};

Fixture make() {
  Fixture f;
  f.d.model = load_model("llama-3.1-8b");
  f.d.cluster = make_cluster("h100-sxm", 1, 2);
  f.plan.dp = 2;
  make_plan_or_throw(f.d, f.plan);
  SyntheticSpec s;
  s.rate = 5;
  s.num_requests = 30;
  s.prompt = LengthDist::parse("256", "p");
  s.output = LengthDist::parse("32", "o");
  auto src = synthetic_source(s);
  f.result = simulate_plan(f.d, f.plan, *src);
  SearchOptions o;
  o.top = 3;
  f.report = search(f.d, synthesize(s), o);
  return f;
}

TEST(Report, ResultJsonHasTheCliContractKeys) {
  const Fixture f = make();
  const Json j = result_json(f.result);
  for (const char* k : {"dp", "tp", "pp", "ep"})
    EXPECT_TRUE(j["plan"].contains(k)) << k;
  EXPECT_TRUE(j["feasible"].get<bool>());
  for (const char* m : {"ttft_s", "tpot_s", "itl_s", "e2e_s"}) {
    for (const char* p : {"mean", "p50", "p90", "p99"})
      EXPECT_TRUE(j["metrics"][m].contains(p)) << m << "." << p;
  }
  for (const char* m : {"throughput_tokens_per_s", "requests_per_s", "makespan_s", "mfu", "mbu", "energy_j",
                        "slo_attainment"}) {
    EXPECT_TRUE(j["metrics"].contains(m)) << m;
  }
  for (const char* m : {"weights_bytes_per_gpu", "kv_cache_bytes_per_gpu", "activation_bytes_per_gpu"}) {
    EXPECT_TRUE(j["memory"].contains(m)) << m;
  }
  EXPECT_DOUBLE_EQ(j["metrics"]["ttft_s"]["p99"].get<double>(), f.result.ttft.p99);  // seconds
}

TEST(Report, SearchJsonHasBestPlansAndStats) {
  const Fixture f = make();
  const Json j = search_json(f.report, RunInfo{});
  EXPECT_EQ(j["best"], j["plans"][0]);
  EXPECT_EQ(j["plans"].size(), f.report.ranked.size());
  for (const char* k : {"enumerated", "simulated", "wall_s", "rejected"})
    EXPECT_TRUE(j["stats"].contains(k)) << k;
  EXPECT_TRUE(j["stats"]["rejected"].is_object());
}

TEST(Report, CsvHasAHeaderAndOneRowPerPlan) {
  const Fixture f = make();
  const std::string one = simulate_csv(f.result);
  EXPECT_EQ(std::count(one.begin(), one.end(), '\n'), 2);
  EXPECT_EQ(one.rfind("plan,dp,tp,pp,ep,gpus,ttft_mean_s", 0), 0u);
  const std::string many = search_csv(f.report);
  EXPECT_EQ(static_cast<std::size_t>(std::count(many.begin(), many.end(), '\n')), f.report.ranked.size() + 1);
}

TEST(Report, TablesNameTheirSections) {
  const Fixture f = make();
  const EnginePolicy e = f.d.engine_policy();
  RunInfo info{"llama-3.1-8b", "cluster", "workload", "vllm", "bf16", 3.0, {launch_command(f.d, f.plan, e)}};
  const std::string t = simulate_table(f.result, info, e);
  for (const char* s :
       {"TTFT", "TPOT", "ITL", "E2E", "throughput", "MFU", "energy", "memory per GPU", "launch it"}) {
    EXPECT_CONTAINS(t, s);
  }
  const std::string st = search_table(f.report, info);
  EXPECT_CONTAINS(st, "best plan:");
  EXPECT_CONTAINS(st, "enumerated");
}

TEST(Report, HtmlIsSelfContainedAndEscapesNames) {
  const Fixture f = make();
  const EnginePolicy e = f.d.engine_policy();
  RunInfo info{"model<&>", "cluster", "workload", "vllm", "bf16", 3.0, {}};
  const std::string h = simulate_html(f.result, info, e);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_CONTAINS(h, "<svg");
  EXPECT_CONTAINS(h, "</html>");
  EXPECT_CONTAINS(h, "model&lt;&amp;&gt;");
  EXPECT_EQ(h.find("model<&>"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);  // no scripts, no network
  const std::string s = search_html(f.report, info);
  EXPECT_CONTAINS(s, f.report.ranked.front().candidate.label());
  EXPECT_EQ(std::count(s.begin(), s.end(), '<') - std::count(s.begin(), s.end(), '>'), 0);  // balanced tags
}

TEST(Report, LaunchCommandsPerEngine) {
  Fixture f = make();
  EXPECT_EQ(launch_command(f.d, f.plan, f.d.engine_policy())
                .rfind("vllm serve meta-llama/Llama-3.1-8B-Instruct --tensor-parallel-size 1 "
                       "--pipeline-parallel-size 1 "
                       "--data-parallel-size 2",
                       0),
            0u);
  f.d.engine = "sglang";
  EXPECT_EQ(launch_command(f.d, f.plan, f.d.engine_policy()).rfind("python -m sglang.launch_server", 0), 0u);
  f.d.engine = "trtllm";
  EXPECT_CONTAINS(launch_command(f.d, f.plan, f.d.engine_policy()),
                  "trtllm-serve meta-llama/Llama-3.1-8B-Instruct");
  EXPECT_THROW(parse_format("htm"), UserError);
  EXPECT_EQ(parse_format("html"), Format::HTML);
}

TEST(Report, CsvColumnsAreTheRegistryInOrder) {
  const Fixture f = make();
  const std::string csv = simulate_csv(f.result);
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(
      header,
      "plan,dp,tp,pp,ep,gpus,ttft_mean_s,ttft_p50_s,ttft_p90_s,ttft_p99_s,tpot_mean_s,tpot_p50_s,tpot_p90_s,"
      "tpot_p99_s,itl_mean_s,itl_p99_s,e2e_mean_s,e2e_p50_s,e2e_p90_s,e2e_p99_s,throughput_tokens_per_s,"
      "requests_per_s,makespan_s,mfu,mbu,energy_j,slo_attainment,weights_bytes_per_gpu,kv_cache_bytes_per_"
      "gpu,activation_bytes_per_gpu");
  const std::string row = csv.substr(header.size() + 1);
  EXPECT_EQ(std::count(row.begin(), row.end(), ','), std::count(header.begin(), header.end(), ','));
  EXPECT_EQ(row.rfind("dp2-tp1-pp1,2,1,1,1,2,", 0), 0u);
  // Bytes are whole numbers; the weights column is the third from the end.
  EXPECT_CONTAINS(row, fmt::format(",{:.0f},{:.0f},{:.0f}\n", f.result.memory.weights,
                                   f.result.memory.kv_cache, f.result.memory.activation));
}

TEST(Report, TableLinesAndDerivedMetricsComeFromTheRegistry) {
  SimResult r;
  r.requests = 5;
  r.prompt_tokens = 700;
  r.output_tokens = 90;
  r.prefix_hit_tokens = 175;
  r.iterations = 12;
  r.mean_batch_seqs = 3.26;
  r.mean_batch_tokens = 100.4;
  r.preemptions = 2;
  r.peak_kv_utilization = 0.456;
  r.memory.kv_blocks = 10;
  r.memory.block_size = 16;
  EXPECT_EQ(metric_table_line(r, "requests"), "5 (700 prompt + 90 output tokens)");
  EXPECT_EQ(metric_table_line(r, "scheduler"),
            "12 iterations, mean batch 3.3 seqs / 100 tokens, 2 preemptions, peak KV use 46%");
  EXPECT_EQ(metric_table_line(r, "prefix cache"), "25.0% of prompt tokens served from cached prefixes");
  const Json j = result_json(r);
  EXPECT_DOUBLE_EQ(j["counters"]["prefix_cache_hit_rate"].get<double>(), 0.25);
  EXPECT_EQ(j["memory"]["kv_cache_tokens_per_replica"].get<std::int64_t>(), 160);
  EXPECT_FALSE(j.contains("breakdown"));                      // only when measured
  EXPECT_FALSE(j["counters"].contains("prefix_hit_tokens"));  // raw, reported through the rate
  r.time.measured = true;
  r.time.kernels.gemm = 3;
  r.time.cpu_overhead = 1;
  const Json b = result_json(r)["breakdown"];
  EXPECT_DOUBLE_EQ(b["total_s"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(b["share"]["gemm"].get<double>(), 0.75);
  EXPECT_EQ(b["seconds"].size(), 10u);
}

}  // namespace
}  // namespace apex
