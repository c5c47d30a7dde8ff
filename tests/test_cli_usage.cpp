// What a user meets in the first hour (issue #11), checked against the real `apex` binary: messages
// that say what to do, warnings on stderr only, part of a node for one plan, progress on stderr,
// length-only traces and re-rated traces.
#include <gtest/gtest.h>

#include "cli_run.h"
#include "test_util.h"

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;
// The shared CLI runner (cli_run.h), declared here so that `apex` names the runner, not the namespace.
using apex_cli_test::apex;
using apex_cli_test::CliRun;
using apex_cli_test::expect_user_error;
using apex_cli_test::kData;
using apex_cli_test::quote;
using apex_cli_test::slurp;

const std::string kSynthetic = "--rate 10 --num-requests 20 --prompt-len 128 --output-len 16";

json parse_json(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << text.substr(0, 2000);
    return json::object();
  }
}

// --- #11 item 6 -------------------------------------------------------------------------------

TEST(CliUsage, SharedPrefixHelpSaysItAddsToThePromptLength) {
  const CliRun r = apex("simulate --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_CONTAINS(r.out, "added to --prompt-len");
}

TEST(CliUsage, MaxModelLenAdviceIsConsistent) {
  // Below the model's context: raising --max-model-len helps, up to that context.
  expect_user_error("simulate --model llama-3.1-8b --gpus-per-node 1 --max-model-len 100 " + kSynthetic,
                    "max model length is 100; shorten it or raise --max-model-len",
                    "up to the model's context of 131072 tokens");
  // At the model's context: it cannot be raised, and the message does not suggest it.
  const std::string args =
      "simulate --model llama-3.1-8b --gpus-per-node 1 --trace " + quote(kData + "/long_prompt.csv");
  expect_user_error(args, "the max model length is 131072; llama-3.1-8b's own context length",
                    "--max-model-len cannot raise; shorten the request");
  EXPECT_EQ(apex(args).err.find("raise --max-model-len"), std::string::npos);
  // The search's up-front check says the same.
  expect_user_error("search --model llama-3.1-8b --gpus-per-node 1 --max-model-len 100 " + kSynthetic,
                    "but the max model length is 100; shorten it or raise --max-model-len",
                    "up to the model's context of 131072 tokens");
}

TEST(CliUsage, CustomGpuWithoutBaseWarnsOnStderrOnly) {
  const std::string plan = " --tp 4 " + kSynthetic + " --format json";
  const CliRun custom =
      apex("simulate --model llama-3.1-8b --cluster " + quote(kData + "/cluster_full_custom.json") + plan);
  ASSERT_EQ(custom.code, 0) << custom.err;
  EXPECT_EQ(custom.err.rfind("apex: warning: GPU 'toy-accel' of ", 0), 0u) << custom.err;
  EXPECT_CONTAINS(custom.err, "has no \"base\"");
  EXPECT_CONTAINS(custom.err, "uncalibrated roofline defaults");
  EXPECT_CONTAINS(custom.err, "give \"base\"");
  EXPECT_EQ(std::count(custom.err.begin(), custom.err.end(), '\n'), 1) << "warned once:\n" << custom.err;
  // stdout is the document alone, the same as before the warning existed.
  const json j = parse_json(custom.out);
  EXPECT_EQ(j["plan"]["tp"], 4);
  EXPECT_EQ(custom.out.find("warning"), std::string::npos);
  EXPECT_EQ(apex("simulate --model llama-3.1-8b --cluster " + quote(kData + "/cluster_full_custom.json") +
                 plan + " 2>/dev/null")
                .out,
            custom.out);
  // A GPU with a base inherits its calibration: no warning.
  const CliRun based =
      apex("simulate --model llama-3.1-8b --cluster " + quote(kData + "/custom_cluster.json") + " --tp 8 " +
           kSynthetic + " --format json");
  ASSERT_EQ(based.code, 0) << based.err;
  EXPECT_TRUE(based.err.empty()) << based.err;
  // The search warns too, once.
  const CliRun search =
      apex("search --model llama-3.1-8b --cluster " + quote(kData + "/cluster_full_custom.json") + " " +
           kSynthetic + " --format json");
  ASSERT_EQ(search.code, 0) << search.err;
  EXPECT_EQ(std::count(search.err.begin(), search.err.end(), '\n'), 1) << search.err;
  EXPECT_CONTAINS(search.err, "apex: warning: GPU 'toy-accel'");
}

TEST(CliUsage, SimulateMayUsePartOfANode) {
  const std::string args = "simulate --model llama-3.1-8b --gpu h100-sxm --tp 2 " + kSynthetic;
  const CliRun part = apex(args + " --format json");
  ASSERT_EQ(part.code, 0) << part.err;
  const json j = parse_json(part.out);
  EXPECT_EQ(j["plan"]["gpus"], 2);
  EXPECT_EQ(j["run"]["cluster"],
            "1 node x 8 x h100-sxm (nvlink4, single node); the plan uses 2 of its 8 GPUs");
  const CliRun table = apex(args + " --format table");
  ASSERT_EQ(table.code, 0) << table.err;
  // The title may wrap at 100 columns: compare with the line breaks and indents collapsed.
  std::string flat;
  for (char c : table.out) {
    if (c == '\n') c = ' ';
    if (c != ' ' || flat.empty() || flat.back() != ' ') flat += c;
  }
  EXPECT_CONTAINS(flat, "the plan uses 2 of its 8 GPUs");
  // The same plan on a 2-GPU node: identical metrics, every per-GPU figure counts the plan's 2 GPUs
  // (not the node's 8), and no note when every GPU is used.
  const CliRun whole = apex("simulate --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 --tp 2 " +
                            kSynthetic + " --format json");
  ASSERT_EQ(whole.code, 0) << whole.err;
  const json w = parse_json(whole.out);
  EXPECT_EQ(w["run"]["cluster"], "1 node x 2 x h100-sxm (nvlink4, single node)");
  json a = j, b = w;
  a.erase("run");
  b.erase("run");
  EXPECT_EQ(a, b) << "a plan's figures do not depend on the GPUs it leaves unused";
  EXPECT_GT(j["metrics"]["mbu"].get<double>(), 0.0);
  EXPECT_GT(j["metrics"]["mean_power_per_gpu_w"].get<double>(), 0.0);
}

// --- #11 item 11: length-only traces, re-rated traces -----------------------------------------

struct RequestRow {
  double arrival = 0;
  int prompt = 0, output = 0;
};

// The --per-request CSV by request id.
std::vector<RequestRow> per_request_rows(const std::string& path) {
  std::vector<RequestRow> rows;
  std::istringstream in(slurp(path));
  std::string line;
  std::getline(in, line);  // header: id,arrival_s,prompt_tokens,output_tokens,...
  EXPECT_EQ(line.rfind("id,arrival_s,prompt_tokens,output_tokens,", 0), 0u) << line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, arrival, prompt, output;
    std::getline(f, id, ',');
    std::getline(f, arrival, ',');
    std::getline(f, prompt, ',');
    std::getline(f, output, ',');
    const auto i = static_cast<std::size_t>(std::stoul(id));
    if (rows.size() <= i) rows.resize(i + 1);
    rows[i] = RequestRow{std::stod(arrival), std::stoi(prompt), std::stoi(output)};
  }
  return rows;
}

const std::string kOneGpu = "--model llama-3.1-8b --gpu h100-sxm --gpus-per-node 1";
const std::string kLengths = kData + "/lengths_only.csv";

TEST(CliTraces, ALengthOnlyTraceTakesPoissonArrivalsFromRate) {
  const std::string csv = ::testing::TempDir() + "/apex_lengths_rate.csv";
  const CliRun r = apex("simulate " + kOneGpu + " --trace " + quote(kLengths) +
                        " --rate 5 --seed 3 --format json --per-request " + quote(csv));
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_json(r.out);
  EXPECT_EQ(j["metrics"]["requests"], 200);
  EXPECT_CONTAINS(j["run"]["workload"].get<std::string>(),
                  "lengths only: arrivals at 5 req/s (Poisson), seed 3");
  const std::vector<RequestRow> rows = per_request_rows(csv);
  ASSERT_EQ(rows.size(), 200u);
  double last = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rows[i].prompt, static_cast<int>(40 + (i * 37) % 400));  // the file's lengths, in order
    EXPECT_EQ(rows[i].output, static_cast<int>(8 + (i * 13) % 90));
    EXPECT_GE(rows[i].arrival, last);
    last = rows[i].arrival;
  }
  EXPECT_EQ(rows.front().arrival, 0.0);
  // Mean rate (n-1)/span within 25% of 5 req/s: 199 Poisson gaps estimate it with a 7% sd.
  EXPECT_NEAR(199.0 / rows.back().arrival, 5.0, 5.0 * 0.25);
  // --seed and --burstiness act as on synthetic traffic.
  const std::string csv2 = ::testing::TempDir() + "/apex_lengths_rate2.csv";
  ASSERT_EQ(apex("simulate " + kOneGpu + " --trace " + quote(kLengths) +
                 " --rate 5 --seed 4 --burstiness 4 --format json --per-request " + quote(csv2))
                .code,
            0);
  EXPECT_NE(per_request_rows(csv2)[1].arrival, rows[1].arrival);
  const std::string csv3 = ::testing::TempDir() + "/apex_lengths_rate3.csv";
  EXPECT_EQ(apex("simulate " + kOneGpu + " --trace " + quote(kLengths) +
                 " --rate 5 --seed 3 --format json --per-request " + quote(csv3))
                .out,
            r.out);  // reproducible
}

TEST(CliTraces, ALengthOnlyTraceRunsAsAClosedLoopAndSearches) {
  const CliRun r =
      apex("simulate " + kOneGpu + " --trace " + quote(kLengths) + " --concurrency 4 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_json(r.out);
  EXPECT_EQ(j["metrics"]["requests"], 200);
  EXPECT_CONTAINS(j["run"]["workload"].get<std::string>(), "lengths only), closed loop: 4 clients");
  EXPECT_LE(j["counters"]["peak_active_requests"].get<int>(), 4);
  const CliRun s = apex("search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 --trace " +
                        quote(kLengths) + " --rate 5 --format json");
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_GE(parse_json(s.out)["plans"].size(), 1u);
}

TEST(CliTraces, ALengthOnlyTraceNeedsRateOrConcurrency) {
  expect_user_error("simulate " + kOneGpu + " --trace " + quote(kLengths), "gives lengths only",
                    "pass --rate R for arrivals at R requests/s");
  expect_user_error("simulate " + kOneGpu + " --trace " + quote(kLengths), "--concurrency N");
  expect_user_error("simulate " + kOneGpu + " --trace " + quote(kLengths) + " --rate 3:10", "load stages",
                    "give --rate a single rate");
  expect_user_error("simulate " + kOneGpu + " --trace " + quote(kLengths) + " --rate 0",
                    "--rate '0' must be");
  expect_user_error("simulate " + kOneGpu + " --trace " + quote(kLengths) + " --rate 5 --rate-scale 2",
                    "--rate-scale re-rates a trace's arrival times", "gives lengths only");
  // A trace with arrivals keeps them: --rate is refused, pointing at --rate-scale.
  expect_user_error("simulate " + kOneGpu + " --trace " + quote(kData + "/small_trace.csv") + " --rate 5",
                    "has its own arrival times", "--rate-scale X");
}

TEST(CliTraces, RateScaleDividesEveryArrivalTime) {
  const std::string trace = quote(kData + "/small_trace.csv");
  const std::string one = ::testing::TempDir() + "/apex_scale1.csv";
  const std::string two = ::testing::TempDir() + "/apex_scale2.csv";
  ASSERT_EQ(
      apex("simulate " + kOneGpu + " --trace " + trace + " --format json --per-request " + quote(one)).code,
      0);
  const CliRun r = apex("simulate " + kOneGpu + " --trace " + trace +
                        " --rate-scale 2 --format json --per-request " + quote(two));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(parse_json(r.out)["run"]["workload"].get<std::string>(), "arrivals re-rated x2");
  const auto a = per_request_rows(one), b = per_request_rows(two);
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(b[i].arrival * 2, a[i].arrival);  // exact: 0, 0.05, 0.1, 0.2 s are even nanoseconds
    EXPECT_EQ(b[i].prompt, a[i].prompt);
    EXPECT_EQ(b[i].output, a[i].output);
  }
  for (const char* bad : {"0", "-2", "inf", "nan", "fast"}) {
    expect_user_error("simulate " + kOneGpu + " --trace " + trace + " --rate-scale " + bad, "--rate-scale");
  }
  expect_user_error("simulate " + kOneGpu + " " + kSynthetic + " --rate-scale 2",
                    "--rate-scale re-rates a --trace");
}

// --- #11 item 8: progress on stderr --------------------------------------------------------------

// The document without its wall-clock field (stats.wall_s differs between any two runs).
json without_wall_clock(const std::string& text) {
  json j = parse_json(text);
  if (j.contains("stats")) j["stats"].erase("wall_s");
  return j;
}

TEST(CliProgress, ProgressGoesToStderrAndNeverChangesStdout) {
  const std::string args =
      "search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 " + kSynthetic + " --format json";
  const CliRun plain = apex(args);
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_TRUE(plain.err.empty()) << "stderr is not a terminal: no progress\n" << plain.err;
  const CliRun forced = apex(args + " --progress");
  ASSERT_EQ(forced.code, 0) << forced.err;
  // A run under the 1 s delay draws nothing but the summary line --progress asks for.
  const json stats = parse_json(forced.out)["stats"];
  const std::string summary = "search: " + std::to_string(stats["feasible"].get<int>()) + "/" +
                              std::to_string(stats["feasible"].get<int>()) + " plans, " +
                              std::to_string(stats["simulated"].get<int>()) + " simulated, " +
                              std::to_string(stats["pruned"].get<int>()) + " pruned, ";
  EXPECT_EQ(forced.err.substr(forced.err.rfind('\n', forced.err.size() - 2) + 1).rfind(summary, 0), 0u)
      << forced.err;
  EXPECT_TRUE(forced.err.ends_with(" elapsed\n")) << forced.err;
  EXPECT_EQ(forced.out.find("search: "), std::string::npos);
  EXPECT_EQ(without_wall_clock(forced.out), without_wall_clock(plain.out));
  // The table too is the same, byte for byte (it shows no wall clock).
  EXPECT_EQ(apex(args + " --format table --progress 2>/dev/null").out, apex(args + " --format table").out);
  const CliRun quiet = apex(args + " --quiet");
  ASSERT_EQ(quiet.code, 0);
  EXPECT_TRUE(quiet.err.empty()) << quiet.err;
  EXPECT_EQ(without_wall_clock(quiet.out), without_wall_clock(plain.out));
  expect_user_error(args + " --progress --quiet", "--progress and --quiet contradict each other");
}

TEST(CliProgress, ValidateAndCalibrateTakeTheFlags) {
  for (const char* cmd : {"validate", "calibrate"}) {
    const CliRun help = apex(std::string(cmd) + " --help");
    EXPECT_CONTAINS(help.out, "--progress");
    EXPECT_CONTAINS(help.out, "--quiet");
  }
  EXPECT_EQ(apex("simulate --help").out.find("--progress"), std::string::npos);  // one run, no progress
  // The measured tables are in ../shared (CI has them; a lone clone does not).
  const std::string dir = std::string(APEX_SHARED_DIR) + "/measurements";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  const std::string meas = quote(dir);
  const CliRun v = apex("validate ops --measurements " + meas + " --gpu v100_pcie --progress");
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(v.err.rfind("validate ops: 1/1 GPUs, ", 0), 0u) << v.err;
  EXPECT_EQ(v.out, apex("validate ops --measurements " + meas + " --gpu v100_pcie").out);
  EXPECT_TRUE(apex("validate ops --measurements " + meas + " --gpu v100_pcie --quiet").err.empty());
}

}  // namespace
