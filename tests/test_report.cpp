// Report tests: the JSON contract of CLI.md, CSV, table, HTML and launch commands.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "api/api.h"
#include "model/registry.h"
#include "report/format.h"
#include "report/report.h"
#include "report/svg.h"
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

TEST(ReportFormat, NumbersCarryThreeFiguresAndTheirUnit) {
  EXPECT_EQ(sig3(11.32), "11.3");
  EXPECT_EQ(sig3(0.00994), "0.00994");
  EXPECT_EQ(sig3(9.996), "10.0");
  EXPECT_EQ(sig3(0), "0");
  EXPECT_EQ(human_count(434.8), "435");
  EXPECT_EQ(human_count(1896.4), "1896");
  EXPECT_EQ(human_count(14613), "14.6k");
  EXPECT_EQ(human_count(1385712), "1.39M");
  EXPECT_EQ(human_duration(0.131), "131 ms");
  EXPECT_EQ(human_duration(11.32), "11.3 s");
  EXPECT_EQ(human_duration(0.0099), "9.90 ms");
  EXPECT_EQ(human_duration(0.00085), "850 µs");
  EXPECT_EQ(human_duration(0.99996), "1.00 s");  // not "1000 ms"
  EXPECT_EQ(human_duration(750), "12.5 min");
  EXPECT_EQ(objective_text(Objective::Throughput, 14613), "14.6k tok/s");
  EXPECT_EQ(objective_text(Objective::E2eMean, 11.32), "11.3 s");
  EXPECT_EQ(objective_text(Objective::TpotP99, 0.131), "131 ms");
  EXPECT_EQ(objective_text(Objective::Cost, 0.4213), "$0.42/Mtok");
  EXPECT_EQ(objective_text(Objective::Cost, 15.333), "$15.33/Mtok");
  EXPECT_EQ(objective_text(Objective::Goodput, 3.2), "3.20 req/s");
  EXPECT_EQ(objective_text(Objective::Energy, 1.287), "1.29 J/tok");
  EXPECT_EQ(objective_text(Objective::Cost, std::numeric_limits<double>::infinity()), "n/a");
  EXPECT_DOUBLE_EQ(speedup_over(Objective::E2eMean, 1.01, 3.52), 3.52 / 1.01);  // lower is better
  EXPECT_DOUBLE_EQ(speedup_over(Objective::Throughput, 200, 100), 2.0);
  EXPECT_EQ(speedup_over(Objective::Throughput, 200, 0), 0.0);
}

TEST(ReportFormat, WrapKeepsWidthIndentAndUnits) {
  const std::string w = wrap("weights 13.5 GiB, KV cache 55.6 GiB, activations 1.8 GiB", 30, "  x ", "    ");
  EXPECT_EQ(w, "  x weights 13.5 GiB, KV cache\n    55.6 GiB, activations\n    1.8 GiB\n");
  // A launch command: continuations, a flag kept with its value, a quoted argument whole, the
  // engine's "   # ..." notes on comment lines of their own.
  const std::string c = wrap_command(
      "vllm serve m --tensor-parallel-size 8 --speculative-config '{\"a\": 1, \"b\": 2}' --block-size 16   # "
      "x2 "
      "servers",
      40, "$ ", "  ");
  EXPECT_EQ(
      c,
      "$ vllm serve m \\\n  --tensor-parallel-size 8 \\\n  --speculative-config '{\"a\": 1, \"b\": 2}' \\\n"
      "  --block-size 16\n  # x2 servers\n");
  EXPECT_EQ(display_width("≤ 1 µs"), 6u);
}

TEST(ReportSvg, NiceTicksAreRoundOneTwoFiveSteps) {
  EXPECT_DOUBLE_EQ(svg::nice_step(118000, 5), 20000);
  EXPECT_DOUBLE_EQ(svg::nice_step(14.3, 5), 2);
  EXPECT_DOUBLE_EQ(svg::nice_step(0.0748, 5), 0.01);
  EXPECT_DOUBLE_EQ(svg::nice_step(56.3, 5), 10);
  EXPECT_DOUBLE_EQ(svg::nice_step(3.4, 6), 0.5);
  const svg::Ticks a = svg::nice_ticks(0, 1.18e5, 5);  // the old report printed 1.18e+05
  EXPECT_EQ(a.values, (std::vector<double>{0, 20000, 40000, 60000, 80000, 100000, 120000}));
  std::vector<std::string> labels;
  for (double v : a.values)
    labels.push_back(svg::tick_label(v, a.step));
  EXPECT_EQ(labels, (std::vector<std::string>{"0", "20k", "40k", "60k", "80k", "100k", "120k"}));
  const svg::Ticks b = svg::nice_ticks(31.3, 87.6, 5);
  EXPECT_EQ(b.lo, 30);
  EXPECT_EQ(b.hi, 90);
  EXPECT_EQ(b.values.size(), 7u);
  const svg::Ticks c = svg::nice_ticks(0.0123, 0.0871, 5);
  EXPECT_DOUBLE_EQ(c.step, 0.01);
  EXPECT_DOUBLE_EQ(c.lo, 0.01);
  EXPECT_DOUBLE_EQ(c.hi, 0.09);
  EXPECT_EQ(svg::tick_label(c.values[1], c.step), "0.02");
  EXPECT_EQ(svg::tick_label(0.04, c.step), "0.04");  // not 0.04000000001
  EXPECT_EQ(svg::tick_label(1.5e6, 5e5), "1.5M");
  EXPECT_EQ(svg::tick_label(7.5, 2.5), "7.5");
  const svg::Ticks d = svg::nice_ticks(237, 237, 5);  // one value: a range around it
  EXPECT_LT(d.lo, 237);
  EXPECT_GT(d.hi, 237);
}

TEST(ReportSvg, ParetoFrontKeepsOnlyUndominatedPoints) {
  // Higher is better on both: (87, 452) and (138, 237) are the frontier.
  const std::vector<double> x = {87, 138, 120, 80, 138};
  const std::vector<double> y = {452, 237, 236, 450, 230};
  EXPECT_EQ(svg::pareto_front(x, y, true, true), (std::vector<bool>{true, true, false, false, false}));
  // Lower is better on both (TTFT vs TPOT).
  EXPECT_EQ(svg::pareto_front({7.2, 8.3, 6.0}, {24, 20, 40}, false, false),
            (std::vector<bool>{true, true, true}));
  EXPECT_EQ(svg::pareto_front({7.2, 8.3}, {24, 30}, false, false), (std::vector<bool>{true, false}));
}

// A minimal XML well-formedness check: every element closed in order, attributes quoted, entities
// known. Returns an empty string when well-formed, else what is wrong and where.
std::string xml_problem(const std::string& doc) {
  std::vector<std::string> open;
  std::size_t i = 0;
  const auto entity_ok = [&](std::size_t at) {
    static const std::regex ent("&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);");
    return std::regex_search(doc.begin() + static_cast<long>(at),
                             doc.begin() + static_cast<long>(std::min(doc.size(), at + 12)), ent,
                             std::regex_constants::match_continuous);
  };
  while (i < doc.size()) {
    if (doc[i] == '&' && !entity_ok(i)) return fmt::format("bad entity at {}", i);
    if (doc[i] != '<') {
      ++i;
      continue;
    }
    if (doc.compare(i, 9, "<!DOCTYPE") == 0) {
      i = doc.find('>', i) + 1;
      continue;
    }
    const std::size_t end = doc.find('>', i);
    if (end == std::string::npos) return "unterminated tag";
    std::string tag = doc.substr(i + 1, end - i - 1);
    if (tag.empty()) return fmt::format("empty tag at {}", i);
    if (tag[0] == '/') {
      if (open.empty() || open.back() != tag.substr(1))
        return fmt::format("</{}> closes <{}> at {}", tag.substr(1), open.empty() ? "" : open.back(), i);
      open.pop_back();
    } else {
      const bool self = tag.back() == '/';
      if (self) tag.pop_back();
      const std::string name = tag.substr(0, tag.find_first_of(" \n"));
      static const std::regex attrs(R"(^[A-Za-z][\w:-]*(\s+[\w:-]+="[^"<]*")*\s*$)");
      if (!std::regex_match(tag, attrs)) return fmt::format("malformed tag <{}> at {}", tag.substr(0, 60), i);
      if (!self) open.push_back(name);
    }
    i = end + 1;
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

// A search with SLOs over a MoE model, its knobs tuned: labels with -ep and -dpattn, a tie.
api::SearchResponse moe_search() {
  api::SearchRequest r;
  r.deployment.model.model = "mixtral-8x7b";
  r.deployment.cluster.gpu = "h100-sxm";
  r.deployment.cluster.gpus_per_node = 8;
  r.deployment.slo.ttft_ms = 300;
  r.deployment.slo.tpot_ms = 30;
  r.workload.rate = "10";
  r.workload.num_requests = 150;
  r.workload.prompt_len = "800";
  r.workload.output_len = "200";
  r.search.tune = "max-num-seqs=64/256";
  r.search.allow_fewer_gpus = true;
  r.search.top = 10;
  return api::search(r);
}

std::size_t widest_line(const std::string& text) {
  std::size_t widest = 0, start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    widest = std::max(widest, display_width(std::string_view(text).substr(start, end - start)));
    start = end + 1;
  }
  return widest;
}

TEST(ReportTable, SearchTableFitsOneHundredColumnsAndExplainsItsLabels) {
  api::SearchResponse s = moe_search();
  const std::string t = s.render(Format::Table);
  EXPECT_LE(widest_line(t), kTableWidth) << t;
  // The objective in its unit, no exponent anywhere.
  EXPECT_CONTAINS(t, objective_text(s.report.objective, s.report.ranked.front().score));
  EXPECT_CONTAINS(t, "best plan: dp1-tp8-pp1-seqs64 — e2e = 1.43 s");
  EXPECT_FALSE(std::regex_search(t, std::regex("[0-9]e[+-][0-9]"))) << t;
  // The legend names what the labels present mean; the SLO column shows with SLOs.
  EXPECT_CONTAINS(t, "-epE: MoE experts split over E of the T GPUs");
  EXPECT_CONTAINS(t, "-dpattn: attention data-parallel");
  EXPECT_CONTAINS(t, "SLO met");
  EXPECT_CONTAINS(t, "(--wide adds");
  EXPECT_EQ(t.find("preempt"), std::string::npos);  // no plan preempts
  // --wide shows every column.
  s.info.wide = true;
  const std::string wide = s.render(Format::Table);
  for (const char* h : {"weights/GPU", "KV tokens", "TTFT p99", "E2E p99", "MFU", "MBU", "E2E s"})
    EXPECT_CONTAINS(wide, h);
  EXPECT_GT(widest_line(wide), kTableWidth);
  EXPECT_EQ(wide.find("--wide adds"), std::string::npos);
  // A plan that preempts brings the preemption column; without SLOs there is no SLO column.
  s.info.wide = false;
  s.report.ranked[1].result->preemptions = 7;
  s.report.ranking.slo = false;
  const std::string p = s.render(Format::Table);
  EXPECT_CONTAINS(p, "preempt");
  EXPECT_EQ(p.find("SLO met"), std::string::npos);
  EXPECT_LE(widest_line(p), kTableWidth) << p;
  // The JSON is unaffected by the table's options.
  s.info.wide = true;
  EXPECT_EQ(s.json().dump(), [&] {
    s.info.wide = false;
    return s.json().dump();
  }());
}

TEST(ReportTable, SimulateTableFitsOneHundredColumns) {
  api::SimulateRequest r;
  r.deployment.model.model = "mixtral-8x7b";
  r.deployment.cluster.gpus_per_node = 8;
  r.deployment.slo.ttft_ms = 300;
  r.plan.tp = 8;
  r.plan.ep = 8;
  r.plan.dp_attention = true;
  r.workload.rate = "8";
  r.workload.num_requests = 60;
  r.workload.prompt_len = "lognormal:900:500";
  r.workload.output_len = "lognormal:250:150";
  r.breakdown = true;
  const std::string t = api::simulate(r).render(Format::Table);
  EXPECT_LE(widest_line(t), kTableWidth) << t;
  EXPECT_CONTAINS(t, "time breakdown");
  EXPECT_CONTAINS(t, "launch it           vllm serve mistralai/Mixtral-8x7B-Instruct-v0.1 ");
  EXPECT_CONTAINS(t, " \\\n                        --");  // the command continues on the next line
}

TEST(ReportHtml, PagesAreWellFormedXmlWithRoundTicksAndUnits) {
  const api::SearchResponse s = moe_search();
  const std::string h = s.render(Format::HTML);
  EXPECT_EQ(xml_problem(h), "");
  EXPECT_EQ(h.find("<script"), std::string::npos);
  for (const char* fetch : {"src=", "href=", "@import", "url(http"})  // nothing fetched
    EXPECT_EQ(h.find(fetch), std::string::npos) << fetch;
  for (const char* part : {"Pareto frontier", "TTFT distribution", "TPOT distribution", "E2E distribution",
                           "Memory per GPU", "Where a request", "Speed-up over the naive plan dp1-tp8-pp1",
                           "Rejected plans", "memory-weights", "output tokens/s per GPU", "mean TPOT, ms"}) {
    EXPECT_CONTAINS(h, part);
  }
  // Every number drawn in the SVGs is plain: no exponent in any text element.
  EXPECT_FALSE(std::regex_search(h, std::regex(">[-0-9.]+e[+-][0-9]+<")));
  // Within each chart, the labels do not overlap (boxes by the placement's own estimate of text width).
  const std::regex lbl(
      R"svg(<text x="([0-9.]+)" y="([0-9.]+)" text-anchor="(\w+)" class="lbl">([^<]*)</text>)svg");
  std::size_t labelled = 0;
  for (std::size_t at = h.find("<svg"); at != std::string::npos; at = h.find("<svg", at + 1)) {
    const std::string chart = h.substr(at, h.find("</svg>", at) - at);
    std::vector<std::array<double, 4>> boxes;
    for (auto it = std::sregex_iterator(chart.begin(), chart.end(), lbl); it != std::sregex_iterator();
         ++it) {
      const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
      const double w = 6.8 * static_cast<double>(display_width((*it)[4].str()));
      const std::string anchor = (*it)[3];
      const double x0 = anchor == "start" ? x : anchor == "end" ? x - w : x - w / 2;
      for (const auto& o : boxes) {
        EXPECT_FALSE(x0 < o[2] && o[0] < x0 + w && y - 10 < o[3] && o[1] < y + 2) << (*it)[4] << " overlaps";
      }
      boxes.push_back({x0, y - 10, x0 + w, y + 2});
      ++labelled;
    }
  }
  EXPECT_GE(labelled, 2u);  // the frontier points carry labels
  const Fixture f = make();
  const EnginePolicy e = f.d.engine_policy();
  const std::string sim =
      simulate_html(f.result, RunInfo{"m", "c", "w", "vllm", "bf16", 3.0, {"vllm serve x"}}, e);
  EXPECT_EQ(xml_problem(sim), "");
  EXPECT_CONTAINS(sim, "TTFT distribution");
  EXPECT_EQ(xml_problem("<svg><g></svg>"), "</svg> closes <g> at 8");  // the checker can fail
  EXPECT_EQ(xml_problem("<p a=1></p>"), "malformed tag <p a=1> at 0");
  EXPECT_EQ(xml_problem("<p>&nbsp;</p>"), "bad entity at 3");
}

// Headless Chromium renders the page (when installed): the screenshot is not a blank page.
TEST(ReportHtml, RendersInHeadlessChromium) {
  if (std::system("command -v chromium >/dev/null 2>&1") != 0) GTEST_SKIP() << "chromium is not on PATH";
  namespace fs = std::filesystem;
  const std::string dir = ::testing::TempDir();
  const auto shot = [&](const std::string& name, const std::string& html) {
    const std::string page = apex::testing::write_temp_file(name + ".html", html);
    const std::string png = dir + "/" + name + ".png";
    std::error_code ec;
    fs::remove(png, ec);
    const std::string cmd = fmt::format(
        "timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
        "--user-data-dir={}/chr-{} "
        "--screenshot={} --window-size=1400,3000 file://{} >/dev/null 2>&1",
        dir, name, png, page);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return fs::exists(png, ec) ? fs::file_size(png, ec) : 0;
  };
  const std::uintmax_t blank = shot("blank", "<!DOCTYPE html><html><body></body></html>");
  const std::uintmax_t report = shot("report", moe_search().render(Format::HTML));
  ASSERT_GT(blank, 0u);
  // A blank 1400x3000 page compresses to ~19 kB; charts, tables and text to ~340 kB.
  EXPECT_GT(report, 10 * blank) << "blank " << blank << " B, report " << report << " B";
  EXPECT_GT(report, 100000u);
}

}  // namespace
}  // namespace apex
