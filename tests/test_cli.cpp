// The command-line contract of ../shared/docs/CLI.md, checked against the real `apex` binary:
// every user error exits 2 with one message line on stderr naming what is wrong; results parse as JSON
// with the stable keys; runs are deterministic.
#include <gtest/gtest.h>

#include "cli_run.h"
#include "test_util.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;

// The shared CLI runner (cli_run.h), declared here so that `apex` names the runner, not the namespace.
using apex_cli_test::apex;
using apex_cli_test::CliRun;
using apex_cli_test::expect_user_error;
using apex_cli_test::kBinary;
using apex_cli_test::kData;
using apex_cli_test::quote;
using apex_cli_test::slurp;

// A small, fast deployment: Llama 3.1 8B on one H100.
const std::string kModel1Gpu = "--model llama-3.1-8b --gpu h100-sxm --gpus-per-node 1";
const std::string kSynthetic = "--rate 10 --num-requests 20 --prompt-len 128 --output-len 16";
const std::string kSim = "simulate " + kModel1Gpu + " " + kSynthetic;

json parse_or_fail(const std::string& text) {
  try {
    return json::parse(text);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "output is not JSON (" << e.what() << "):\n" << text.substr(0, 2000);
    return json::object();
  }
}

void expect_summary(const json& m, const char* key) {
  SCOPED_TRACE(key);
  ASSERT_TRUE(m.contains(key));
  const json& s = m[key];
  for (const char* k : {"mean", "p50", "p90", "p99"}) {
    ASSERT_TRUE(s.contains(k)) << k;
    ASSERT_TRUE(s[k].is_number()) << k;
    EXPECT_GE(s[k].get<double>(), 0.0) << k;
  }
  EXPECT_LE(s["p50"].get<double>(), s["p90"].get<double>() * (1 + 1e-12));
  EXPECT_LE(s["p90"].get<double>(), s["p99"].get<double>() * (1 + 1e-12));
}

// Checks one result object against CLI.md.
void expect_result_object(const json& r) {
  ASSERT_TRUE(r.is_object());
  ASSERT_TRUE(r.contains("plan"));
  for (const char* k : {"dp", "tp", "pp", "ep"}) {
    ASSERT_TRUE(r["plan"].contains(k)) << k;
    EXPECT_TRUE(r["plan"][k].is_number_integer()) << k;
    EXPECT_GE(r["plan"][k].get<int>(), 1) << k;
  }
  ASSERT_TRUE(r.contains("feasible"));
  ASSERT_TRUE(r["feasible"].is_boolean());
  ASSERT_TRUE(r["feasible"].get<bool>());
  ASSERT_TRUE(r.contains("metrics"));
  const json& m = r["metrics"];
  for (const char* k : {"ttft_s", "tpot_s", "itl_s", "e2e_s"})
    expect_summary(m, k);
  for (const char* k : {"throughput_tokens_per_s", "requests_per_s", "makespan_s", "mfu", "mbu", "energy_j",
                        "slo_attainment"}) {
    ASSERT_TRUE(m.contains(k)) << k;
    ASSERT_TRUE(m[k].is_number()) << k;
  }
  EXPECT_GT(m["throughput_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(m["requests_per_s"].get<double>(), 0);
  EXPECT_GT(m["makespan_s"].get<double>(), 0);
  EXPECT_GT(m["mfu"].get<double>(), 0);
  EXPECT_LE(m["mfu"].get<double>(), 1);
  EXPECT_GT(m["mbu"].get<double>(), 0);
  EXPECT_LE(m["mbu"].get<double>(), 1);
  EXPECT_GT(m["energy_j"].get<double>(), 0);
  EXPECT_GE(m["slo_attainment"].get<double>(), 0);
  EXPECT_LE(m["slo_attainment"].get<double>(), 1);
  EXPECT_GE(m["e2e_s"]["mean"].get<double>(), m["ttft_s"]["mean"].get<double>());
  ASSERT_TRUE(r.contains("memory"));
  for (const char* k : {"weights_bytes_per_gpu", "kv_cache_bytes_per_gpu", "activation_bytes_per_gpu"}) {
    ASSERT_TRUE(r["memory"].contains(k)) << k;
    ASSERT_TRUE(r["memory"][k].is_number()) << k;
    EXPECT_GT(r["memory"][k].get<double>(), 0) << k;
  }
}

// ---------------------------------------------------------------------------------------------
// User errors: exit 2 and one clear line

// A profile table faster than the GPU could run it would let a step read the weights faster than
// HBM (ITL below the weight-read time, an internal error at the end): refused up front, exit 2.
TEST(CliErrors, ProfileTableFasterThanTheGpuIsAUserError) {
  const std::string dir = ::testing::TempDir() + "/apex_cli_fast_profile";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/gemm.csv") << "m,n,k,dtype,latency_us\n1,4096,4096,bf16,0.001\n";
  expect_user_error(
      "simulate --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 1 --perf profile --profile-dir " +
          quote(dir) +
          " --perf-fallback analytical --rate 1 --num-requests 4 --prompt-len 100 "
          "--output-len 10",
      "gemm.csv: gemm m=1 n=4096 k=4096 bf16 takes 0.001 us, below half the h100-sxm roofline",
      "not a measurement of this GPU?");
}

TEST(CliErrors, UnknownModelDidYouMean) {
  expect_user_error("simulate --model llama-3.1-70 --gpus-per-node 1 " + kSynthetic,
                    "unknown model 'llama-3.1-70'", "did you mean 'llama-3.1-70b'?");
}

TEST(CliErrors, UnknownGpuDidYouMean) {
  expect_user_error("simulate --model llama-3.1-8b --gpu h100 --gpus-per-node 1 " + kSynthetic,
                    "unknown gpu 'h100'", "did you mean 'h100-sxm'?");
}

TEST(CliErrors, UnknownFlagDidYouMean) {
  expect_user_error(kSim + " --tpp 2", "unknown flag '--tpp'", "did you mean '--tp'?");
  expect_user_error(kSim + " --requests 3", "unknown flag '--requests'", "did you mean '--num-requests'?");
  expect_user_error("search " + kModel1Gpu + " " + kSynthetic + " --objectve throughput",
                    "unknown flag '--objectve'", "did you mean '--objective'?");
}

TEST(CliErrors, UnknownSubcommand) {
  expect_user_error("simulat " + kModel1Gpu, "unknown command 'simulat'", "did you mean 'simulate'?");
  expect_user_error("list modles", "unknown list 'modles'", "did you mean 'models'?");
}

TEST(CliErrors, NoSubcommand) {
  const CliRun r = apex("");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("apex: ", 0), 0u) << r.err;
}

TEST(CliErrors, MissingTraceFile) {
  expect_user_error("simulate " + kModel1Gpu + " --trace /nonexistent/apex/trace.csv",
                    "/nonexistent/apex/trace.csv", "does not exist");
}

TEST(CliErrors, DirectoryAsTrace) {
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData), "is a directory");
}

TEST(CliErrors, UnreadableTrace) {
  if (::geteuid() == 0) GTEST_SKIP() << "running as root: file permissions do not apply";
  const std::string path = ::testing::TempDir() + "/apex_unreadable.csv";
  {
    std::ofstream f(path);
    f << "arrival_s,prompt_tokens,output_tokens\n0,1,1\n";
  }
  ASSERT_EQ(::chmod(path.c_str(), 0), 0);
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(path), "cannot be read");
  std::remove(path.c_str());
}

TEST(CliErrors, MalformedCsvLineNamesFileAndLine) {
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/bad_nonnumeric.csv"),
                    "bad_nonnumeric.csv:3:", "not an integer");
}

TEST(CliErrors, MalformedJsonlLine) {
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/bad_malformed.jsonl"),
                    "bad_malformed.jsonl:2:", "malformed JSON");
}

TEST(CliErrors, NegativeLength) {
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/bad_negative_output.csv"),
                    "bad_negative_output.csv:3:", "output length");
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/bad_zero_prompt.csv"),
                    "bad_zero_prompt.csv:4:", "prompt length");
}

TEST(CliErrors, NonMonotonicArrivals) {
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/bad_nonmonotonic.csv"),
                    "bad_nonmonotonic.csv:4:", "sorted");
}

TEST(CliErrors, EmptyTrace) {
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/empty.csv"), "empty.csv",
                    "empty");
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/header_only.csv"),
                    "header_only.csv", "no requests");
}

TEST(CliErrors, TpDoesNotDivideHeads) {
  expect_user_error(
      "simulate --model llama-3.1-70b --gpu h100-sxm --gpus-per-node 3 --tp 3 --dp 1 " + kSynthetic,
      "tp=3 does not divide the 64 attention heads");
}

TEST(CliErrors, PlanGpuCountMismatch) {
  // A plan may use part of the cluster (test_cli_usage.cpp), never more than it has.
  expect_user_error(
      "simulate --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 --dp 2 --tp 2 " + kSynthetic,
      "4 GPUs exceeds the cluster's 2", "dp×tp×pp");
}

TEST(CliErrors, ModelDoesNotFit) {
  SCOPED_TRACE("405B in bf16 on one 80 GB GPU");
  const CliRun r = apex("simulate --model llama-3.1-405b --gpu h100-sxm --gpus-per-node 1 " + kSynthetic);
  EXPECT_EQ(r.code, 2);
  EXPECT_CONTAINS(r.err, "does not fit in memory");
  EXPECT_CONTAINS(r.err, "GiB");
  EXPECT_CONTAINS(r.err, "756.0 GiB");  // 405.85e9 params × 2 bytes
  EXPECT_CONTAINS(r.err, "has ");       // what is available
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(CliErrors, PromptLongerThanContext) {
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/long_prompt.csv"), "200000",
                    "max model length");
}

TEST(CliErrors, BadFormat) {
  expect_user_error(kSim + " --format xml", "unknown format 'xml'", "json");
}

TEST(CliErrors, BadObjective) {
  expect_user_error("search " + kModel1Gpu + " " + kSynthetic + " --objective throughpt",
                    "unknown objective 'throughpt'", "did you mean 'throughput'?");
}

TEST(CliErrors, NegativeSlo) {
  expect_user_error(kSim + " --ttft-slo-ms -5", "--ttft-slo-ms", "-5");
  expect_user_error(kSim + " --tpot-slo-ms=-1", "--tpot-slo-ms");
}

TEST(CliErrors, ZeroOrBadRate) {
  expect_user_error("simulate " + kModel1Gpu + " --rate 0 --num-requests 20 --prompt-len 128 --output-len 16",
                    "--rate '0'", "positive");
  expect_user_error(
      "simulate " + kModel1Gpu + " --rate fast --num-requests 20 --prompt-len 128 --output-len 16",
      "--rate 'fast'");
  expect_user_error("simulate " + kModel1Gpu + " --rate 10 --num-requests 0 --prompt-len 128 --output-len 16",
                    "--num-requests");
}

// "1:1,1:1,...": n load stages of one second each.
std::string stage_list(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += "1:1";
  }
  return out;
}

TEST(CliErrors, BadLoadStagesNameTheRateAndTheAcceptedForm) {
  const std::string lengths = " --prompt-len 128 --output-len 16";
  const std::string too_many = stage_list(65);
  for (const std::string bad : {"8:", "8:-1", "a:5", "8:600,", "8:0", "8:inf", "8:nan", "inf:600", "8:1:2"}) {
    expect_user_error("simulate " + kModel1Gpu + " --rate " + quote(bad) + lengths, "--rate '" + bad + "'",
                      "RATE:DURATION_S[,RATE:DURATION_S...]");
  }
  expect_user_error("simulate " + kModel1Gpu + " --rate " + too_many + lengths, "more than 64 stages");
  // The stages' durations set the number of requests: --num-requests with them is rejected.
  expect_user_error("simulate " + kModel1Gpu + " --rate 8:60,20:60 --num-requests 100" + lengths,
                    "--rate '8:60,20:60' gives load stages", "drop --num-requests 100");
  expect_user_error("simulate " + kModel1Gpu + " --frontend-latency-ms -1 " + kSynthetic,
                    "--frontend-latency-ms must be a number of milliseconds between 0 and 60000", "-1");
  expect_user_error("simulate " + kModel1Gpu + " --frontend-latency-ms nan " + kSynthetic,
                    "--frontend-latency-ms: 'nan' is not a number");
}

TEST(CliSimulate, LoadStagesReportEachStageInJsonAndTable) {
  const std::string args = "simulate " + kModel1Gpu + " --rate 4:10,12:10 --prompt-len 128 --output-len 16";
  const CliRun j = apex(args + " --format json");
  ASSERT_EQ(j.code, 0) << j.err;
  const json r = parse_or_fail(j.out);
  expect_result_object(r);
  ASSERT_TRUE(r.contains("stages"));
  ASSERT_EQ(r["stages"].size(), 2u);
  double requests = 0;
  for (std::size_t k = 0; k < 2; ++k) {
    SCOPED_TRACE(k);
    const json& st = r["stages"][k];
    EXPECT_EQ(st["rate"].get<double>(), k == 0 ? 4.0 : 12.0);
    EXPECT_EQ(st["start_s"].get<double>(), k == 0 ? 0.0 : 10.0);
    EXPECT_EQ(st["end_s"].get<double>(), k == 0 ? 10.0 : 20.0);
    for (const char* key : {"ttft_s", "tpot_s", "itl_s", "e2e_s"})
      expect_summary(st["metrics"], key);
    requests += st["metrics"]["requests"].get<double>();
    EXPECT_GT(st["metrics"]["requests_per_s"].get<double>(), 0.0);
    // Only the per-request metrics: no GPU counters per stage.
    EXPECT_FALSE(st["metrics"].contains("mfu"));
  }
  EXPECT_EQ(requests, r["metrics"]["requests"].get<double>());
  const CliRun t = apex(args + " --format table");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_CONTAINS(t.out, "load stages 4 req/s for 10 s, then 12 req/s for 10 s (Poisson within each)");
  EXPECT_CONTAINS(t.out, "    0-10 s ");
  EXPECT_CONTAINS(t.out, "    10-20 s ");
  // A single rate (or a single stage) has no "stages".
  const CliRun one =
      apex("simulate " + kModel1Gpu + " --rate 4:10 --prompt-len 128 --output-len 16 --format json");
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_FALSE(parse_or_fail(one.out).contains("stages"));
  EXPECT_FALSE(parse_or_fail(apex(kSim + " --format json").out).contains("stages"));
}

TEST(CliSimulate, FrontendLatencyIsReportedAndAddedToTtft) {
  // 0 = engine-side figures; vLLM's default is the fitted latency (data/engine_fits.json).
  const CliRun a = apex(kSim + " --frontend-latency-ms 0 --format json");
  const CliRun b = apex(kSim + " --frontend-latency-ms 25 --format json");
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  const json x = parse_or_fail(a.out), y = parse_or_fail(b.out);
  EXPECT_FALSE(x["engine"].contains("frontend_latency_ms"));
  EXPECT_NEAR(parse_or_fail(apex(kSim + " --format json").out)["engine"]["frontend_latency_ms"].get<double>(),
              9.1, 1e-9);
  EXPECT_EQ(y["engine"]["frontend_latency_ms"].get<double>(), 25.0);
  EXPECT_NEAR(y["metrics"]["ttft_s"]["mean"].get<double>() - x["metrics"]["ttft_s"]["mean"].get<double>(),
              0.025, 1e-9);
  EXPECT_EQ(y["metrics"]["tpot_s"]["mean"].get<double>(), x["metrics"]["tpot_s"]["mean"].get<double>());
  const CliRun t = apex(kSim + " --frontend-latency-ms 25 --format table");
  EXPECT_CONTAINS(t.out, "front end           25.0 ms per request included in TTFT and E2E");
}

TEST(CliErrors, MissingSyntheticOptions) {
  expect_user_error("simulate " + kModel1Gpu + " --rate 10", "synthetic workload is missing",
                    "--num-requests, --prompt-len, --output-len");
  expect_user_error("simulate " + kModel1Gpu, "no workload");
  expect_user_error(
      "simulate " + kModel1Gpu + " " + kSynthetic + " --trace " + quote(kData + "/small_trace.csv"),
      "mutually exclusive");
}

TEST(CliErrors, BadLengthDistribution) {
  expect_user_error(
      "simulate " + kModel1Gpu + " --rate 10 --num-requests 20 --prompt-len uniform:5 --output-len 16",
      "--prompt-len", "uniform:LO:HI");
}

TEST(CliErrors, UnknownEngine) {
  expect_user_error(kSim + " --engine vllmx", "unknown engine 'vllmx'", "did you mean 'vllm'?");
}

TEST(CliErrors, BadDtype) {
  expect_user_error(kSim + " --kv-dtype fp9", "--kv-dtype", "unknown dtype 'fp9'");
}

TEST(CliErrors, ClusterFileProblems) {
  expect_user_error(
      "simulate --model llama-3.1-8b --cluster " + quote(kData + "/cluster_bad_unit.json") + " " + kSynthetic,
      "cluster_bad_unit.json", "unknown unit 'TB'");
  expect_user_error("simulate --model llama-3.1-8b --gpu h100-sxm --cluster " +
                        quote(kData + "/custom_cluster.json") + " " + kSynthetic,
                    "--cluster");
}

TEST(CliErrors, MalformedModelConfigNamesFileAndLine) {
  expect_user_error(
      "simulate --model " + quote(kData + "/malformed_config.json") + " --gpus-per-node 1 " + kSynthetic,
      "malformed_config.json:5:", "malformed JSON");
  expect_user_error(
      "simulate --model " + quote(kData + "/unknown_type_config.json") + " --gpus-per-node 1 " + kSynthetic,
      "unknown model_type 'llamma'", "did you mean 'llama'?");
}

TEST(CliErrors, ClusterShapePlanAndEngineKnobs) {
  const std::string m = "simulate --model llama-3.1-8b ";
  expect_user_error(m + "--gpus-per-node 9 " + kSynthetic, "--gpus-per-node 9", "8-GPU");
  expect_user_error(m + "--nodes 0 " + kSynthetic, "--nodes");
  expect_user_error(m + "--gpus-per-node 1 --pp 0 " + kSynthetic, "at least 1");
  expect_user_error(m + "--gpus-per-node 2 --tp 2 --ep 2 " + kSynthetic, "mixture-of-experts");
  expect_user_error("simulate --model " + quote(kData + "/tiny_llama_config.json") +
                        " --gpus-per-node 8 --pp 8 " + kSynthetic,
                    "pp=8 exceeds the model's 4 layers");
  expect_user_error(m + "--gpus-per-node 1 --max-num-seqs 0 " + kSynthetic, "--max-num-seqs");
  expect_user_error(m + "--gpus-per-node 1 --block-size 3 " + kSynthetic, "--block-size");
  expect_user_error(m + "--gpus-per-node 1 --gpu-memory-utilization 1.5 " + kSynthetic,
                    "--gpu-memory-utilization");
  expect_user_error(m + "--gpus-per-node 1 --router foo " + kSynthetic, "unknown router 'foo'");
  expect_user_error(m + "--gpus-per-node 1 --chunked-prefill maybe " + kSynthetic, "--chunked-prefill");
  expect_user_error(m + "--gpus-per-node 1 --burstiness 0 " + kSynthetic, "--burstiness");
  expect_user_error(m + "--gpus-per-node 1 --max-model-len 100 " + kSynthetic, "max model length is 100");
  expect_user_error(m + "--gpu a100-sxm-80gb --gpus-per-node 1 --activation-dtype fp8 " + kSynthetic,
                    "--activation-dtype fp8", "a100-sxm-80gb");
  expect_user_error(m + "--gpus-per-node 1 " + kSynthetic + " -o /nonexistent/dir/out.json",
                    "/nonexistent/dir/out.json");
  expect_user_error("search " + kModel1Gpu + " " + kSynthetic + " --top 0", "--top");
  expect_user_error(m + "--gpus-per-node 1 --rate 10 --num-requests abc --prompt-len 1 --output-len 1",
                    "--num-requests");
}

TEST(CliErrors, NegativeSeedRejected) {
  // Regression test for a bug found by review (fixed).
  expect_user_error(kSim + " --seed -1", "--seed");
}

TEST(CliErrors, MissingRequiredModel) {
  const CliRun r = apex("simulate --gpus-per-node 1 " + kSynthetic);
  EXPECT_EQ(r.code, 2);
  EXPECT_CONTAINS(r.err, "--model");
}

// ---------------------------------------------------------------------------------------------
// Success paths

TEST(CliList, ModelsGpusEngines) {
  CliRun r = apex("list models");
  EXPECT_EQ(r.code, 0) << r.err;
  for (const char* m : {"llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "gemma-2-9b", "mistral-7b"}) {
    EXPECT_CONTAINS(r.out, m);
  }
  r = apex("list gpus");
  EXPECT_EQ(r.code, 0) << r.err;
  for (const char* g : {"h100-sxm", "h200-sxm", "b200", "a100-sxm-80gb"})
    EXPECT_CONTAINS(r.out, g);
  r = apex("list engines");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "vllm");
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CliList, VersionAndHelp) {
  CliRun r = apex("--version");
  EXPECT_EQ(r.code, 0);
  EXPECT_CONTAINS(r.out, "0.1.0");
  r = apex("simulate --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_CONTAINS(r.out + r.err, "--model");
}

TEST(CliSimulate, JsonHasContractKeys) {
  const CliRun r = apex(kSim + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  expect_result_object(j);
  EXPECT_EQ(j["plan"]["dp"], 1);
  EXPECT_EQ(j["plan"]["tp"], 1);
  EXPECT_EQ(j["plan"]["pp"], 1);
  EXPECT_EQ(j["plan"]["ep"], 1);
  const json& m = j["metrics"];
  // 20 requests over the makespan.
  EXPECT_NEAR(m["requests_per_s"].get<double>() * m["makespan_s"].get<double>(), 20.0, 0.2);
  // Token throughput counts output tokens (20 × 16) or all tokens (20 × 144) over the makespan.
  const double tokens = m["throughput_tokens_per_s"].get<double>() * m["makespan_s"].get<double>();
  EXPECT_TRUE(std::fabs(tokens - 320) < 3.2 || std::fabs(tokens - 2880) < 28.8) << tokens;
  // The makespan covers at least the arrivals (≈2 s at 10 req/s) and is far below a pathological value.
  EXPECT_GT(m["makespan_s"].get<double>(), 0.5);
  EXPECT_LT(m["makespan_s"].get<double>(), 20);
  // Llama 3.1 8B in bf16 on one GPU: 8.03e9 × 2 bytes of weights.
  EXPECT_NEAR(j["memory"]["weights_bytes_per_gpu"].get<double>(), 16.06e9, 0.02 * 16.06e9);
  // No SLO given: every request attains it.
  EXPECT_DOUBLE_EQ(m["slo_attainment"].get<double>(), 1.0);
}

TEST(CliSimulate, DefaultFormatOffTerminalIsJson) {
  const CliRun r = apex(kSim);
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  EXPECT_TRUE(j.contains("metrics"));
}

TEST(CliSimulate, ByteIdenticalAcrossRuns) {
  const CliRun a = apex(kSim + " --format json --seed 3");
  const CliRun b = apex(kSim + " --format json --seed 3");
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_FALSE(a.out.empty());
  EXPECT_EQ(a.out, b.out);
  const CliRun c = apex(kSim + " --format json --seed 4");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_NE(a.out, c.out);  // the seed matters
}

TEST(CliSimulate, TensorParallelShardsWeights) {
  const CliRun one = apex(kSim + " --format json");
  const CliRun two = apex("simulate --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 --tp 2 " +
                          kSynthetic + " --format json");
  ASSERT_EQ(one.code, 0) << one.err;
  ASSERT_EQ(two.code, 0) << two.err;
  const json a = parse_or_fail(one.out), b = parse_or_fail(two.out);
  expect_result_object(b);
  EXPECT_EQ(b["plan"]["tp"], 2);
  const double w1 = a["memory"]["weights_bytes_per_gpu"].get<double>();
  const double w2 = b["memory"]["weights_bytes_per_gpu"].get<double>();
  EXPECT_NEAR(w2, w1 / 2, 0.05 * w1);
}

TEST(CliSimulate, SloAttainmentReflectsTheSlo) {
  const CliRun tight = apex(kSim + " --format json --ttft-slo-ms 0.001");
  const CliRun loose = apex(kSim + " --format json --ttft-slo-ms 100000 --tpot-slo-ms 100000");
  ASSERT_EQ(tight.code, 0) << tight.err;
  ASSERT_EQ(loose.code, 0) << loose.err;
  EXPECT_DOUBLE_EQ(parse_or_fail(tight.out)["metrics"]["slo_attainment"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(parse_or_fail(loose.out)["metrics"]["slo_attainment"].get<double>(), 1.0);
}

TEST(CliSimulate, CsvAndJsonlTracesGiveTheSameResult) {
  const CliRun csv =
      apex("simulate " + kModel1Gpu + " --trace " + quote(kData + "/trace_basic.csv") + " --format json");
  const CliRun jsonl =
      apex("simulate " + kModel1Gpu + " --trace " + quote(kData + "/trace_basic.jsonl") + " --format json");
  ASSERT_EQ(csv.code, 0) << csv.err;
  ASSERT_EQ(jsonl.code, 0) << jsonl.err;
  const json a = parse_or_fail(csv.out), b = parse_or_fail(jsonl.out);
  expect_result_object(a);
  EXPECT_EQ(a["metrics"], b["metrics"]);
  EXPECT_EQ(a["memory"], b["memory"]);
}

TEST(CliSimulate, OutputFileAndCsvFormat) {
  const std::string path = ::testing::TempDir() + "/apex_cli_out_" + std::to_string(::getpid()) + ".json";
  const CliRun r = apex(kSim + " -o " + quote(path));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  const json j = parse_or_fail(slurp(path));  // the extension picks JSON
  EXPECT_TRUE(j.contains("metrics"));
  std::remove(path.c_str());

  const CliRun c = apex(kSim + " --format csv");
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_FALSE(c.out.empty());
  EXPECT_NE(c.out.find(','), std::string::npos);
  EXPECT_NE(c.out.find('\n'), std::string::npos);
  EXPECT_NE(c.out.front(), '{');

  const CliRun t = apex(kSim + " --format table");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_FALSE(t.out.empty());
  EXPECT_NE(t.out.front(), '{');
}

TEST(CliSimulate, InfiniteRateQueuesEveryRequestAtZero) {
  const CliRun inf = apex("simulate " + kModel1Gpu +
                          " --rate inf --num-requests 20 --prompt-len 128 --output-len 16 --format json");
  const CliRun ten = apex(kSim + " --format json");
  ASSERT_EQ(inf.code, 0) << inf.err;
  ASSERT_EQ(ten.code, 0) << ten.err;
  const json a = parse_or_fail(inf.out), b = parse_or_fail(ten.out);
  expect_result_object(a);
  // All 20 arrive together: they share the first prefill, so TTFT is higher than with spread arrivals and the
  // run ends sooner.
  EXPECT_GT(a["metrics"]["ttft_s"]["mean"].get<double>(), b["metrics"]["ttft_s"]["mean"].get<double>());
  EXPECT_LT(a["metrics"]["makespan_s"].get<double>(), b["metrics"]["makespan_s"].get<double>());
  EXPECT_NEAR(a["metrics"]["requests_per_s"].get<double>() * a["metrics"]["makespan_s"].get<double>(), 20.0,
              0.2);
}

TEST(CliSimulate, EmbeddedSampleTraceAndConfigFileModel) {
  const CliRun s = apex("simulate " + kModel1Gpu + " --trace @sample --format json");
  ASSERT_EQ(s.code, 0) << s.err;
  const json j = parse_or_fail(s.out);
  expect_result_object(j);
  EXPECT_NEAR(j["metrics"]["requests_per_s"].get<double>() * j["metrics"]["makespan_s"].get<double>(), 100.0,
              1.0);

  const CliRun t = apex("simulate --model " + quote(kData + "/tiny_llama_config.json") +
                        " --gpus-per-node 1 " + kSynthetic + " --format json");
  ASSERT_EQ(t.code, 0) << t.err;
  const json k = parse_or_fail(t.out);
  expect_result_object(k);
  // 3,283,200 parameters in bf16.
  EXPECT_NEAR(k["memory"]["weights_bytes_per_gpu"].get<double>(), 2 * 3283200.0, 0.05 * 2 * 3283200.0);
}

TEST(CliSimulate, MixtureOfExpertsWithExpertParallelism) {
  const CliRun r = apex("simulate --model " + quote(kData + "/mixtral_8x7b_config.json") +
                        " --gpu h100-sxm --gpus-per-node 2 --tp 2 --ep 2 " + kSynthetic + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  expect_result_object(j);
  EXPECT_EQ(j["plan"]["tp"], 2);
  EXPECT_EQ(j["plan"]["ep"], 2);
  // 46.7e9 bf16 parameters over two GPUs.
  EXPECT_NEAR(j["memory"]["weights_bytes_per_gpu"].get<double>(), 46.7e9, 0.05 * 46.7e9);
}

// --breakdown: where the time goes, as seconds and shares; the shares sum to 1 and the seconds
// to the replica time, which for one replica kept busy is at most the makespan.
TEST(CliSimulate, BreakdownSharesSumToOne) {
  const CliRun plain = apex(kSim + " --format json");
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_FALSE(parse_or_fail(plain.out).contains("breakdown"));
  const CliRun r = apex(kSim + " --format json --breakdown");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  ASSERT_TRUE(j.contains("breakdown"));
  const json& b = j["breakdown"];
  double shares = 0, seconds = 0;
  for (const char* k : {"gemm", "moe", "attention", "communication", "elementwise", "lm_head",
                        "kernel_launch", "pp_transfer", "cpu_overhead"}) {
    ASSERT_TRUE(b["share"].contains(k)) << k;
    shares += b["share"][k].get<double>();
    seconds += b["seconds"][k].get<double>();
  }
  EXPECT_NEAR(shares, 1.0, 1e-9);
  EXPECT_NEAR(seconds, b["total_s"].get<double>(), 1e-9);
  EXPECT_EQ(b["seconds"]["moe"].get<double>(), 0.0);  // a dense model
  EXPECT_GT(b["share"]["gemm"].get<double>(), 0.3);   // 8B decode: reading the weights dominates
  EXPECT_LE(b["total_s"].get<double>(), j["metrics"]["makespan_s"].get<double>() * (1 + 1e-9));
  // The metrics are the same with and without it.
  EXPECT_EQ(j["metrics"].dump(), parse_or_fail(plain.out)["metrics"].dump());
  const CliRun t = apex(kSim + " --format table --breakdown");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_CONTAINS(t.out, "time breakdown");
}

TEST(CliSimulate, SpeculativeDecoding) {
  const CliRun off = apex(kSim + " --format json");
  const CliRun on = apex(kSim + " --format json --spec-tokens 3 --spec-acceptance 0.9");
  ASSERT_EQ(off.code, 0) << off.err;
  ASSERT_EQ(on.code, 0) << on.err;
  const json a = parse_or_fail(off.out), b = parse_or_fail(on.out);
  EXPECT_LT(b["metrics"]["tpot_s"]["mean"].get<double>(), 0.7 * a["metrics"]["tpot_s"]["mean"].get<double>());
  EXPECT_CONTAINS(b["launch"].get<std::string>(), "--speculative-config");
  expect_user_error(kSim + " --spec-tokens 40", "--spec-tokens must be between 0 (off) and 16");
  expect_user_error(kSim + " --spec-tokens 2 --spec-acceptance 1.5",
                    "--spec-acceptance must be a probability");
  expect_user_error(kSim + " --spec-acceptance 0.5", "--spec-acceptance needs --spec-tokens");
  expect_user_error(
      "simulate --model whisper-large-v3 --gpu l40s --gpus-per-node 1 --rate 1 --num-requests 2 "
      "--prompt-len 1500 --output-len 20 --spec-tokens 2",
      "speculative decoding of encoder-decoder models");
}

TEST(CliSimulate, SharedPrefixAndPrefixCaching) {
  const std::string sim = "simulate " + kModel1Gpu +
                          " --rate 5 --num-requests 30 --prompt-len 100 --output-len 8 "
                          "--shared-prefix 1024 --format json";
  const CliRun on = apex(sim);
  const CliRun off = apex(sim + " --prefix-caching off");
  ASSERT_EQ(on.code, 0) << on.err;
  ASSERT_EQ(off.code, 0) << off.err;
  const json a = parse_or_fail(on.out), b = parse_or_fail(off.out);
  EXPECT_NEAR(a["counters"]["prefix_cache_hit_rate"].get<double>(), 29.0 * 1024 / (30 * 1124), 1e-9);
  EXPECT_EQ(b["counters"]["prefix_cache_hit_rate"].get<double>(), 0.0);
  EXPECT_LT(a["metrics"]["ttft_s"]["mean"].get<double>(), b["metrics"]["ttft_s"]["mean"].get<double>());
  EXPECT_CONTAINS(a["run"]["workload"].get<std::string>(), "shared prefix 1024 tokens in 1 group");
  expect_user_error(sim + " --prefix-caching maybe", "--prefix-caching 'maybe': expected on or off");
  expect_user_error(sim + " --prefix-groups 0", "--prefix-groups must be at least 1");
  expect_user_error("simulate " + kModel1Gpu + " --trace @sample --shared-prefix 10",
                    "--shared-prefix and --prefix-groups describe synthetic prompts");
}

TEST(CliSimulate, ClosedLoopConcurrency) {
  const std::string burst =
      "simulate " + kModel1Gpu + " --rate inf --num-requests 40 --prompt-len 128 --output-len 16";
  const CliRun open = apex(burst + " --format json");
  ASSERT_EQ(open.code, 0) << open.err;
  EXPECT_EQ(parse_or_fail(open.out)["counters"]["peak_active_requests"].get<int>(), 40);  // all at t=0
  const CliRun r = apex(burst + " --format json --concurrency 4");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  EXPECT_CONTAINS(j["run"]["workload"].get<std::string>(), "closed loop: 4 clients");
  EXPECT_EQ(j["counters"]["peak_active_requests"].get<int>(), 4);
  EXPECT_EQ(j["metrics"]["requests"].get<int>(), 40);
  expect_user_error(kSim + " --concurrency -3", "--concurrency must be a number of clients");
}

TEST(CliSearch, JsonHasBestPlansStats) {
  const CliRun r = apex("search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 " + kSynthetic +
                        " --format json --top 3");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  ASSERT_TRUE(j.contains("best"));
  ASSERT_TRUE(j.contains("plans"));
  ASSERT_TRUE(j.contains("stats"));
  expect_result_object(j["best"]);
  ASSERT_TRUE(j["plans"].is_array());
  ASSERT_GE(j["plans"].size(), 1u);
  EXPECT_LE(j["plans"].size(), 3u);
  for (const auto& p : j["plans"]) {
    expect_result_object(p);
    EXPECT_EQ(p["plan"]["dp"].get<int>() * p["plan"]["tp"].get<int>() * p["plan"]["pp"].get<int>(), 2);
  }
  EXPECT_EQ(j["best"]["plan"], j["plans"][0]["plan"]);
  // Ranked best first for the default objective (mean E2E; plans within 1% tie and are ordered by
  // the tie-breaks, so each plan is at most 1% worse than the one ranked above it).
  EXPECT_EQ(j["ranking"]["objective"], "e2e");
  EXPECT_EQ(j["ranking"]["objective_is_default"], true);
  for (std::size_t i = 1; i < j["plans"].size(); ++i) {
    EXPECT_LE(j["plans"][i - 1]["metrics"]["e2e_s"]["mean"].get<double>(),
              j["plans"][i]["metrics"]["e2e_s"]["mean"].get<double>() / (1 - 0.01) * (1 + 1e-9));
  }
  const json& s = j["stats"];
  for (const char* k : {"enumerated", "simulated", "wall_s"}) {
    ASSERT_TRUE(s.contains(k)) << k;
    ASSERT_TRUE(s[k].is_number()) << k;
  }
  EXPECT_GE(s["enumerated"].get<double>(), s["simulated"].get<double>());
  EXPECT_GE(s["simulated"].get<double>(), 1);
  EXPECT_GE(s["wall_s"].get<double>(), 0);
  ASSERT_TRUE(s.contains("rejected"));
  EXPECT_TRUE(s["rejected"].is_object());
  for (const auto& [reason, count] : s["rejected"].items()) {
    EXPECT_FALSE(reason.empty());
    EXPECT_TRUE(count.is_number_integer()) << reason;
  }
}

TEST(CliSearch, ObjectiveTtftRanksByTtft) {
  const CliRun r = apex("search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 " + kSynthetic +
                        " --format json --objective ttft --exhaustive");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  ASSERT_TRUE(j.contains("plans"));
  for (std::size_t i = 1; i < j["plans"].size(); ++i) {
    EXPECT_LE(j["plans"][i - 1]["metrics"]["ttft_s"]["mean"].get<double>(),
              j["plans"][i]["metrics"]["ttft_s"]["mean"].get<double>() * (1 + 1e-9));
  }
}

}  // namespace

namespace {

// Out-of-range values found by review: each is a clear exit-2 error, never an overflow.
TEST(CliErrors, OutOfRangeValuesAreRefused) {
  expect_user_error(kSim + " --step-overhead-ms 1e300", "--step-overhead-ms");
  expect_user_error(
      "search " + kModel1Gpu + " --rate 10 --num-requests 100000000000 --prompt-len 8 --output-len 8",
      "--num-requests");
  expect_user_error("simulate " + kModel1Gpu + " --trace " + quote(kData + "/far_future.csv"),
                    "far_future.csv:3:", "horizon");
  expect_user_error(
      "search " + kModel1Gpu + " --rate 10 --num-requests 5 --prompt-len 8 --output-len 1 --objective tpot",
      "undefined");
}

TEST(Cli, ACsvWithAByteOrderMarkIsRead) {
  const CliRun r =
      apex("simulate " + kModel1Gpu + " --trace " + quote(kData + "/bom.csv") + " --format json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_or_fail(r.out)["metrics"]["requests"], 2);
}

}  // namespace

namespace {

// The option table generates every subcommand's flags and their help (src/api/options.cpp).
TEST(CliHelp, EveryFlagIsListedWithItsHelp) {
  const CliRun sim = apex("simulate --help");
  EXPECT_EQ(sim.code, 0);
  for (const char* s :
       {"--model TEXT REQUIRED", "--tp INT=1", "--max-num-seqs INT", "Engine: max sequences per step",
        "--disable-custom-all-reduce", "--seed UINT:NONNEGATIVE=0", "--router TEXT=least-loaded",
        "-o,--output TEXT", "--breakdown", "--per-request TEXT"}) {
    EXPECT_CONTAINS(sim.out, s);
  }
  EXPECT_EQ(sim.out.find("--objective"), std::string::npos);
  const CliRun srch = apex("search --help");
  EXPECT_EQ(srch.code, 0);
  for (const char* s :
       {"--objective TEXT=e2e", "--min-attainment FLOAT", "--top INT=10", "--tune TEXT", "--allow-fewer-gpus",
        "--gpu-price FLOAT", "--spec-tokens INT", "--prefix-caching TEXT"}) {
    EXPECT_CONTAINS(srch.out, s);
  }
  EXPECT_EQ(srch.out.find("--dp-attention"), std::string::npos);
  const CliRun cal = apex("calibrate --help");
  EXPECT_CONTAINS(cal.out, "-o,--output TEXT=data/calibration.json");
}

TEST(CliErrors, ValuesOfTheWrongKindNameTheFlag) {
  expect_user_error(kSim + " --tp 2.5", "--tp: '2.5' is not an integer");
  expect_user_error(kSim + " --max-num-seqs many", "--max-num-seqs: 'many' is not an integer");
  expect_user_error(kSim + " --gpu-memory-utilization high",
                    "--gpu-memory-utilization: 'high' is not a number");
  expect_user_error("validate ops", "apex validate ops needs --measurements DIR");
  expect_user_error("calibrate --measurements /nonexistent/apex",
                    "--measurements '/nonexistent/apex' is not a");
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Issue #10, input side (hostile files and values reaching the model, workload and hw readers):
// each exits 2 with one line naming the flag or file and the valid range.
namespace {

TEST(CliHostileInputs, DistributionsAndBurstinessAreBounded) {
  const std::string base = "simulate " + kModel1Gpu + " --rate 10 --num-requests 20 --prompt-len 128 ";
  expect_user_error(base + "--output-len lognormal:100:1e200", "--output-len 'lognormal:100:1e200'",
                    "above the limit of 16777216");
  // Was a hang: the Gamma sampler looped forever on an infinite shape.
  expect_user_error(base + "--output-len 16 --burstiness 1e-160",
                    "--burstiness must be between 0.001 and 1000");
  expect_user_error(base + "--output-len 16 --burstiness 1e160",
                    "--burstiness must be between 0.001 and 1000");
}

TEST(CliHostileInputs, EndlessFilesStopAtALimit) {
  expect_user_error("simulate " + kModel1Gpu + " --trace /dev/zero",
                    "/dev/zero:1: line is longer than the limit");
  expect_user_error("simulate --model /dev/zero --gpu h100-sxm --gpus-per-node 1 " + kSynthetic,
                    "model config '/dev/zero' is larger than the limit of 8 MiB");
  expect_user_error("simulate --model llama-3.1-8b --cluster /dev/zero " + kSynthetic,
                    "cluster file '/dev/zero' is larger than the limit of 8 MiB");
}

TEST(CliHostileInputs, ConfigsAndClustersThatCannotExist) {
  const std::string sim = " --gpu h100-sxm --gpus-per-node 1 " + kSynthetic;
  expect_user_error("simulate --model " + quote(kData + "/llama4_bad_vision_config.json") + sim,
                    "vision_config: 'hidden_size' must be an integer, found 1.5");
  expect_user_error("simulate --model " + quote(kData + "/overflowing_number_config.json") + sim,
                    "overflowing_number_config.json:5:", "out of range");
  expect_user_error("simulate --model " + quote(kData + "/zero_intermediate_config.json") + sim,
                    "'intermediate_size' must be positive");
  expect_user_error("simulate --model " + quote(kData + "/model_type_number_config.json") + sim,
                    "'model_type' must be a string");
  const std::string model = "simulate --model llama-3.1-8b " + kSynthetic + " --cluster ";
  expect_user_error(model + quote(kData + "/cluster_implausible_bandwidth.json"),
                    "'1e307TB/s' is outside the physically plausible range 1GB/s to 1000TB/s");
  expect_user_error(model + quote(kData + "/cluster_implausible_peak.json"), "'1e305PFLOPS' is outside");
  expect_user_error(model + quote(kData + "/cluster_nodes_overflow.json"), "'nodes' = 4294967297 is above");
  expect_user_error(model + quote(kData + "/cluster_negative_price.json"), "'price_per_hour_usd' = -3");
  expect_user_error(model + quote(kData + "/cluster_unknown_calibration.json"),
                    "unknown calibration 'h100sxm'; did you mean 'h100_sxm'?");
  expect_user_error(
      "simulate --model llama-3.1-8b --gpu h100-sxm --nodes 2147483647 " + kSynthetic,
      "--nodes 2147483647 x --gpus-per-node 8 is 17179869176 GPUs, more than the limit of 65536");
}

TEST(CliHostileInputs, TracesWithBadShapes) {
  const std::string sim = "simulate " + kModel1Gpu + " --trace ";
  expect_user_error(sim + quote(kData + "/overflowing_number.jsonl"),
                    "overflowing_number.jsonl:2:", "'1e400'");
  expect_user_error(sim + quote(kData + "/bad_duplicate_column.csv"), "column 'prompt_tokens' appears twice");
  expect_user_error(sim + quote(kData + "/bad_extra_field.csv"), "bad_extra_field.csv:3: the row has 4");
  expect_user_error(sim + quote(kData + "/bad_prefix_lengths.csv"),
                    "bad_prefix_lengths.csv:3: prefix_group 7 has prefix_tokens 500 here but 1000 at line 2");
  const CliRun r = apex(sim + quote(kData + "/bom.jsonl") + " --format json");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(parse_or_fail(r.out)["metrics"]["requests"], 2);
}

}  // namespace

// ---- Hardening (issue #10), the output / CLI / limits part: lost writes, overflowing and
// ---- unbounded command-line values, physical invariants reached from user input.
namespace {

// A lost write: exit code 1, and stderr ends with one line "apex: <needle>..." (after the progress
// lines of calibrate, if any).
void expect_write_failure(const std::string& args, const std::string& needle, int progress_lines = 0) {
  SCOPED_TRACE("apex " + args);
  const CliRun r = apex(args);
  EXPECT_EQ(r.code, 1) << "stderr: " << r.err;
  const std::size_t last = r.err.rfind('\n', r.err.size() >= 2 ? r.err.size() - 2 : 0);
  const std::string final_line = r.err.substr(progress_lines == 0 ? 0 : last + 1);
  EXPECT_EQ(final_line.rfind("apex: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1 + progress_lines) << "got:\n" << r.err;
  EXPECT_CONTAINS(r.err, needle);
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

bool have_dev_full() {
  return ::access("/dev/full", W_OK) == 0;
}

TEST(CliHardening, EveryWriteToAFullDeviceExits1NamingIt) {
  if (!have_dev_full()) GTEST_SKIP() << "no /dev/full";
  const std::string full = "could not write /dev/full: No space left on device";
  const std::string out = "could not write to standard output: No space left on device";
  expect_write_failure(kSim + " --format json >/dev/full", out);
  expect_write_failure(kSim + " --format table >/dev/full", out);
  expect_write_failure(kSim + " -o /dev/full --format json", full);
  expect_write_failure(kSim + " --per-request /dev/full --format json >/dev/null", full);
  expect_write_failure("search " + kModel1Gpu + " " + kSynthetic + " --top 1 --format csv >/dev/full", out);
  expect_write_failure("search " + kModel1Gpu + " " + kSynthetic + " --top 1 -o /dev/full --format json",
                       full);
  expect_write_failure("list models >/dev/full", out);
  expect_write_failure("--version >/dev/full", "could not write to standard output");
  expect_write_failure("simulate --help >/dev/full", "could not write to standard output");
}

TEST(CliHardening, CalibrateChecksItsOutput) {
  const std::string shared = std::string(APEX_SHARED_DIR) + "/measurements/v100_pcie";
  struct stat st {};
  if (::stat(shared.c_str(), &st) != 0) GTEST_SKIP() << "no " << shared;
  const std::string dir = ::testing::TempDir() + "/apex_cal_" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::symlink(shared.c_str(), (dir + "/v100_pcie").c_str()), 0);
  if (have_dev_full())
    expect_write_failure("calibrate --measurements " + quote(dir) + " -o /dev/full",
                         "could not write /dev/full: No space left on device", 1);
  // A GPU filter that matches no folder would print an empty table with exit 0.
  expect_user_error("validate ops --measurements " + quote(dir) + " --gpu h100-sxm",
                    "--gpu: unknown measured GPU 'h100-sxm'", "valid: v100_pcie (the folders of " + dir);
  // An unwritable path is found before the fits.
  expect_user_error("calibrate --measurements " + quote(dir) + " -o /nonexistent-apex-dir/c.json",
                    "could not write /nonexistent-apex-dir/c.json: No such file or directory");
  std::remove((dir + "/v100_pcie").c_str());
  ::rmdir(dir.c_str());
}

TEST(CliHardening, AnUnwritablePathIsAUserErrorBeforeTheRun) {
  const std::string missing = "/nonexistent-apex-dir/out";
  expect_user_error(kSim + " -o " + missing + ".json", "could not write " + missing + ".json: No such file");
  expect_user_error(kSim + " --per-request " + missing + ".csv",
                    "could not write " + missing + ".csv: No such file");
  expect_user_error(kSim + " -o " + quote(::testing::TempDir()), "could not write");
}

TEST(CliHardening, HugeClustersAreRefusedWithoutOverflow) {
  for (const char* cmd : {"simulate", "search"}) {
    expect_user_error(std::string(cmd) + " --model llama-3.1-8b --nodes 2147483647 " + kSynthetic,
                      "--nodes 2147483647 x --gpus-per-node 8 is 17179869176 GPUs",
                      "more than the limit of 65536");
  }
  expect_user_error("search --model llama-3.1-8b --nodes 1000000 " + kSynthetic, "8000000 GPUs");
}

TEST(CliHardening, TuneValuesAreParsedWholeAndRangeChecked) {
  const std::string srch = "search " + kModel1Gpu + " " + kSynthetic;
  expect_user_error(srch + " --tune max-num-seqs=99999999999",
                    "--tune max-num-seqs: 99999999999 is above the limit of 1048576");
  expect_user_error(srch + " --tune max-num-seqs=64/2000000", "2000000 is above the limit of 1048576");
  expect_user_error(srch + " --tune max-num-batched-tokens=4096/999999999999",
                    "--tune max-num-batched-tokens: 999999999999 is above the limit of 268435456");
  expect_user_error(srch + " --tune max-num-seqs=0", "'0' is not a positive integer");
  // --tune takes a value: a flag right after it is not a knob list.
  expect_user_error(srch + " --tune --progress", "--tune needs the knobs to search");
}

TEST(CliHardening, EngineCountKnobsHaveAnUpperBound) {
  // 2 x max_num_seqs (vLLM's graph capture sizes) overflowed an int.
  expect_user_error(kSim + " --max-num-seqs 2000000000", "--max-num-seqs must be at most 1048576");
  expect_user_error(kSim + " --max-num-batched-tokens 2000000000",
                    "--max-num-batched-tokens must be at most 268435456");
  // At the limit the knob is accepted (what stops it is the memory its activations need).
  expect_user_error(kSim + " --max-num-seqs 1048576", "does not fit in memory");
}

TEST(CliHardening, APlanSpaceAboveTheLimitIsRefusedUpFront) {
  expect_user_error("search --model llama-3.1-8b --nodes 8192 --allow-fewer-gpus " + kSynthetic,
                    "more than the limit of 200000; narrow the search", "--allow-fewer-gpus");
}

TEST(CliHardening, EmptyMeasurementFoldersAreUserErrors) {
  const std::string dir = ::testing::TempDir() + "/apex_empty_" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  const std::string out = dir + "/calibration.json";
  expect_user_error("calibrate --measurements " + quote(dir) + " -o " + quote(out),
                    "no GPU measurement folders found in " + dir, "expected one of: h100_sxm");
  struct stat st {};
  EXPECT_NE(::stat(out.c_str(), &st), 0) << "an empty calibration was written";
  expect_user_error("validate ops --measurements " + quote(dir), "no GPU measurement folders found in");
  ::rmdir(dir.c_str());
}

// A GPU folder that holds no usable row, or whose table is /dev/zero or a directory, fitted nothing
// and wrote a calibration of defaults with exit 0.
TEST(CliHardening, GpuFoldersWithoutUsableRowsAreUserErrors) {
  const std::string dir = ::testing::TempDir() + "/apex_gpu_folders_" + std::to_string(::getpid());
  const std::string gpu = dir + "/v100_pcie";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(gpu.c_str(), 0755), 0);
  const std::string out = dir + "/calibration.json";
  const std::string cal = "calibrate --measurements " + quote(dir) + " -o " + quote(out);
  const std::string val = "validate ops --measurements " + quote(dir);
  for (const std::string& cmd : {cal, val}) {
    expect_user_error(cmd, "measurement folder '" + gpu + "' (--measurements) holds no rows", "gemm.csv");
  }
  const std::string gemm = gpu + "/gemm.csv";
  ASSERT_EQ(::symlink("/dev/zero", gemm.c_str()), 0);
  for (const std::string& cmd : {cal, val}) {
    expect_user_error(cmd, "measurement table '" + gemm + "' is larger than the limit of 64 MiB");
  }
  std::remove(gemm.c_str());
  ASSERT_EQ(::mkdir(gemm.c_str(), 0755), 0);
  for (const std::string& cmd : {cal, val}) {
    expect_user_error(cmd, "measurement table '" + gemm + "' is a directory, expected a file");
  }
  ::rmdir(gemm.c_str());
  { std::ofstream(gemm) << "m,n,k,dtype,latency_us\n4096,4096,4096,int4_wo,120\n"; }
  for (const std::string& cmd : {cal, val}) {
    expect_user_error(cmd,
                      "measurement folder '" + gpu + "' (--measurements) holds no row the op model prices",
                      "1 rows of gemm int4_wo");
  }
  struct stat st {};
  EXPECT_NE(::stat(out.c_str(), &st), 0) << "a calibration of defaults was written";
  std::remove(gemm.c_str());
  ::rmdir(gpu.c_str());
  ::rmdir(dir.c_str());
}

// The reference files of `validate serving` are read bounded, and a file of which no run can be
// simulated is an error rather than a report of 0 stages.
TEST(CliHardening, ValidateServingReferenceFilesAreChecked) {
  expect_user_error("validate serving --stage-reference /dev/zero",
                    "staged serving runs '/dev/zero' is larger than the limit of 64 MiB");
  expect_user_error("validate serving --reference /dev/zero",
                    "serving measurements '/dev/zero' is larger than the limit of 64 MiB");
  expect_user_error("validate serving --stage-reference " + quote(kData),
                    "staged serving runs '" + kData + "' is a directory, expected a file");
  expect_user_error("validate serving --reference /nonexistent/apex/ref.csv",
                    "serving measurements '/nonexistent/apex/ref.csv' does not exist");
  const std::string path =
      ::testing::TempDir() + "/apex_staged_unknown_" + std::to_string(::getpid()) + ".csv";
  std::ofstream(path) << "experiment,scope,model,key_flags,gpu,tp,dtype,workload,metric,value,unit\n"
                         "r1,stage_0,foo/bar,,H100,1,bf16,\"2 system prompts x 3 users, "
                         "system_prompt_len=100, question_len=200, "
                         "output_len=50; stages: 8 req/s x 60 s; x\",ttft_mean_s,0.05,s\n";
  expect_user_error(
      "validate serving --stage-reference " + quote(path),
      "no run of --stage-reference '" + path + "' can be simulated (first: r1: no preset for foo/bar)");
  std::remove(path.c_str());
}

// Options of the other validate subcommand, and formats a subcommand does not write, were ignored.
TEST(CliHardening, ValidateOptionsBelongToTheirSubcommand) {
  const std::string dir = ::testing::TempDir() + "/apex_validate_opts_" + std::to_string(::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((dir + "/v100_pcie").c_str(), 0755), 0);
  const std::string gemm = dir + "/v100_pcie/gemm.csv";
  { std::ofstream(gemm) << "m,n,k,dtype,latency_us\n4096,4096,4096,bf16,1200\n8192,8192,8192,bf16,9000\n"; }
  const std::string ops = "validate ops --measurements " + quote(dir);
  for (const char* f : {"xyz", "csv"}) {
    expect_user_error(ops + " --format " + f, std::string("--format: unknown format '") + f + "'",
                      "valid: table, json");
  }
  expect_user_error("validate serving --stage-reference x.csv --format json",
                    "--format is an option of `apex validate ops` (table or json); `apex validate serving` "
                    "writes a markdown report");
  expect_user_error("validate serving --stage-reference x.csv --measurements " + quote(dir),
                    "--measurements is an option of `apex validate ops`, not of `apex validate serving`");
  expect_user_error("validate serving --reference x.csv --gpu h100-sxm",
                    "--gpu is an option of `apex validate ops`, not of `apex validate serving`");
  expect_user_error(ops + " --reference x.csv",
                    "--reference is an option of `apex validate serving`, not of `apex validate ops`");
  expect_user_error(ops + " --stage-reference x.csv",
                    "--stage-reference is an option of `apex validate serving`, not of `apex validate ops`");
  // -o writes what stdout would show, through the checked writer.
  const CliRun table = apex(ops);
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_CONTAINS(table.out, "v100_pcie  gemm bf16");
  const std::string out = dir + "/ops.txt";
  const CliRun to_file = apex(ops + " -o " + quote(out));
  EXPECT_EQ(to_file.code, 0) << to_file.err;
  EXPECT_TRUE(to_file.out.empty()) << to_file.out;
  EXPECT_EQ(slurp(out), table.out);
  const CliRun json_file = apex(ops + " --format json -o " + quote(out));
  EXPECT_EQ(json_file.code, 0) << json_file.err;
  EXPECT_EQ(json::parse(slurp(out))["v100_pcie"]["gemm bf16"]["rows"], 2);
  if (have_dev_full())
    expect_write_failure(ops + " -o /dev/full", "could not write /dev/full: No space left on device");
  expect_user_error(ops + " -o /nonexistent-apex-dir/ops.txt",
                    "could not write /nonexistent-apex-dir/ops.txt");
  std::remove(out.c_str());
  std::remove(gemm.c_str());
  ::rmdir((dir + "/v100_pcie").c_str());
  ::rmdir(dir.c_str());
}

// flan-t5-xxl decode counted the encoder's weights as streamed every step: "MBU above 100%", exit 1.
TEST(CliHardening, EncoderDecoderUtilizationsArePhysical) {
  const CliRun r = apex(
      "simulate --model flan-t5-xxl --gpu h100-sxm --gpus-per-node 1 --rate 5 --num-requests 100 "
      "--prompt-len 512 --output-len 128 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json m = parse_or_fail(r.out)["metrics"];
  EXPECT_GT(m["mbu"].get<double>(), 0.3);
  EXPECT_LE(m["mbu"].get<double>(), 1.0);
  EXPECT_GT(m["mfu"].get<double>(), 0.0);
  EXPECT_LE(m["mfu"].get<double>(), 1.0);
}

}  // namespace

// ---- Ranking (issue #11): the default objective is printed, ties say what decided them, SLOs
// bring a minimum attainment, SLO attainment is reported only when an SLO was given.
namespace {

const std::string kItem7 =
    "search --model llama-3.1-8b --rate 20 --num-requests 1000 --prompt-len 1024 --output-len 256 "
    "--objective cost "
    "--allow-fewer-gpus --ttft-slo-ms 100 --tpot-slo-ms 20";

TEST(CliRanking, CostWithSlosDoesNotPickAPlanMissingThem) {
  const CliRun r = apex(kItem7 + " --format json --top 3");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  EXPECT_EQ(j["best"]["plan"]["label"], "dp1-tp2-pp1");
  EXPECT_GE(j["best"]["metrics"]["slo_attainment"].get<double>(), 0.9);
  for (const auto& p : j["plans"]) {
    EXPECT_GE(p["metrics"]["slo_attainment"].get<double>(), 0.9);
    // The objective is the cost per SLO-meeting token: the plain cost ÷ attainment.
    EXPECT_NEAR(
        p["objective"]["value"].get<double>(),
        p["cost_per_million_output_tokens_usd"].get<double>() / p["metrics"]["slo_attainment"].get<double>(),
        1e-12);
  }
  EXPECT_EQ(j["stats"]["rejected"]["slo-attainment-below-min"], 1);
  EXPECT_EQ(j["ranking"]["min_attainment"], 0.9);
  bool example = false;
  for (const auto& e : j["stats"]["rejected_examples"]) {
    if (e["reason_code"] != "slo-attainment-below-min") continue;
    example = true;
    EXPECT_EQ(e["plan"]["label"], "dp1-tp1-pp1");
    EXPECT_EQ(e["reason"], "meets the SLOs for 52.0% of requests, below --min-attainment 0.9");
  }
  EXPECT_TRUE(example);
  const CliRun t = apex(kItem7 + " --format table --top 3");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_CONTAINS(t.out, "SLOs       TTFT ≤ 100 ms, TPOT ≤ 20 ms; a plan must meet them for 90% of requests");
  EXPECT_CONTAINS(t.out, "slo-attainment-below-min     1  e.g. dp1-tp1-pp1: meets the SLOs for 52.0%");
  // A stricter minimum rejects more: dp1-tp1-pp2 meets the SLOs for 99.3%.
  const json strict = parse_or_fail(apex(kItem7 + " --format json --top 3 --min-attainment 1").out);
  EXPECT_GE(strict["stats"]["rejected"]["slo-attainment-below-min"].get<int>(), 2);
  for (const auto& p : strict["plans"])
    EXPECT_EQ(p["metrics"]["slo_attainment"].get<double>(), 1.0);
}

TEST(CliRanking, MinAttainmentIsAFractionAndNamedInErrors) {
  for (const char* bad : {"1.5", "-0.1", "2"}) {
    expect_user_error(
        "search " + kModel1Gpu + " " + kSynthetic + " --ttft-slo-ms 100 --min-attainment " + bad,
        "--min-attainment must be a fraction of requests in 0..1");
  }
  expect_user_error("search " + kModel1Gpu + " " + kSynthetic + " --min-attainment lots",
                    "--min-attainment: 'lots' is not a number");
  expect_user_error("search " + kModel1Gpu + " " + kSynthetic + " --min-attainment nan",
                    "--min-attainment: 'nan' is not a number");
  // Unmeetable SLOs under the default minimum: a user error saying how close the best plan came.
  expect_user_error(
      "search " + kModel1Gpu + " " + kSynthetic + " --tpot-slo-ms 0.01",
      "no plan meets the SLOs for 90.0% of requests (--min-attainment 0.9): the best, dp1-tp1-pp1, "
      "meets them for 0.0%",
      "lower --min-attainment (0 ranks every plan)");
}

TEST(CliRanking, DefaultObjectiveIsMeanE2eAndSaysSo) {
  const std::string args =
      "search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 4 --rate 1 --num-requests 60 "
      "--prompt-len 512 --output-len 64 --allow-fewer-gpus --top 6 --seed 1";
  const CliRun t = apex(args + " --format table");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_CONTAINS(t.out, "objective  e2e: mean end-to-end latency, s (lower is better; the default)");
  EXPECT_CONTAINS(t.out, "every plan serves the offered rate, so throughput cannot");
  EXPECT_EQ(t.out.find("SLOs "), std::string::npos);
  const json j = parse_or_fail(apex(args + " --format json").out);
  EXPECT_EQ(j["stats"]["objective"], "e2e");
  EXPECT_EQ(j["ranking"]["objective_is_default"], true);
  EXPECT_EQ(j["ranking"]["tie_tolerance"], 0.01);
  EXPECT_EQ(j["ranking"]["tie_breaks"], json({"fewer GPUs", "exact e2e", "enumeration order"}));
  EXPECT_EQ(j["best"]["plan"]["label"], "dp1-tp4-pp1");
  // Rank 2 and 3 tie within 1%: the 2-GPU plan goes first though its E2E is 0.5% higher.
  EXPECT_EQ(j["plans"][1]["plan"]["label"], "dp1-tp2-pp1");
  EXPECT_EQ(j["plans"][2]["plan"]["label"], "dp2-tp2-pp1");
  EXPECT_EQ(j["plans"][1]["objective"]["tie_group"], 2);
  EXPECT_EQ(j["plans"][2]["objective"]["tie_group"], 2);
  EXPECT_GT(j["plans"][1]["objective"]["value"].get<double>(),
            j["plans"][2]["objective"]["value"].get<double>());
  // An explicit objective is not "the default"; throughput still ranks (closed loop, offline).
  const json tp = parse_or_fail(apex(args + " --format json --objective throughput").out);
  EXPECT_EQ(tp["ranking"]["objective"], "throughput");
  EXPECT_EQ(tp["ranking"]["objective_is_default"], false);
  // Under open-loop arrivals every plan serves the offered rate: the top plans tie on throughput,
  // and the output says mean E2E decided.
  EXPECT_GE(tp["ranking"]["tied"].get<int>(), 3);
  EXPECT_EQ(tp["ranking"]["decided_by"], "mean E2E");
  EXPECT_EQ(tp["best"]["plan"]["label"], "dp1-tp4-pp1");
  const CliRun tt = apex(args + " --format table --objective throughput");
  EXPECT_CONTAINS(tt.out, "   1= dp1-tp4-pp1");
  EXPECT_CONTAINS(tt.out, "within 1%, below the simulator's error); mean E2E decided");
}

TEST(CliRanking, UnmeetableGoodputTiesAndFollowsMeanE2eOverAllPlans) {
  const std::string args =
      "search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 4 --rate 20 --num-requests "
      "200 --prompt-len 1024 --output-len 256 --seed 3 --allow-fewer-gpus --objective goodput "
      "--tpot-slo-ms 0.1 --min-attainment 0";
  const json all = parse_or_fail(apex(args + " --format json --top 100").out);
  double best_e2e = 1e300, best_ttft = 1e300;
  for (const auto& p : all["plans"]) {
    best_e2e = std::min(best_e2e, p["metrics"]["e2e_s"]["mean"].get<double>());
    best_ttft = std::min(best_ttft, p["metrics"]["ttft_s"]["mean"].get<double>());
  }
  EXPECT_EQ(all["ranking"]["tied"], all["plans"].size());
  const json j = parse_or_fail(apex(args + " --format json --top 2").out);
  EXPECT_EQ(j["ranking"]["tied"], 2);
  EXPECT_EQ(j["ranking"]["decided_by"], "mean E2E");
  EXPECT_EQ(j["best"]["metrics"]["e2e_s"]["mean"].get<double>(), best_e2e);
  const CliRun t = apex(args + " --format table --top 1");
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_CONTAINS(t.out, "SLOs       TPOT ≤ 0.1 ms; every plan is ranked (--min-attainment 0)");
  // The note is over every plan, whatever --top shows.
  char note[128];
  std::snprintf(note, sizeof note, "over all %zu simulated plans the best mean TTFT is %.1f ms",
                all["plans"].size(), best_ttft * 1e3);
  EXPECT_CONTAINS(t.out, note);
}

TEST(CliRanking, SloAttainmentIsShownOnlyWithAnSlo) {
  const CliRun plain = apex(kSim + " --format table");
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.out.find("SLO attainment"), std::string::npos) << plain.out;
  const CliRun slo = apex(kSim + " --format table --ttft-slo-ms 1000 --tpot-slo-ms 50");
  ASSERT_EQ(slo.code, 0) << slo.err;
  EXPECT_CONTAINS(slo.out, "SLO attainment      100.0% of requests meet TTFT ≤ 1000 ms, TPOT ≤ 50 ms");
  const CliRun tight = apex(kSim + " --format table --tpot-slo-ms 0.01");
  EXPECT_CONTAINS(tight.out, "SLO attainment      0.0% of requests meet TPOT ≤ 0.01 ms");
  const CliRun html = apex(kSim + " --format html");
  EXPECT_EQ(html.out.find("SLO attainment"), std::string::npos);
  // The JSON keeps its stable key (CLI contract): 1 without SLOs.
  EXPECT_EQ(parse_or_fail(apex(kSim + " --format json").out)["metrics"]["slo_attainment"], 1.0);
}

}  // namespace

namespace {

// Issue #11 item 5: a closed loop needs no rate; its clients cap the requests in flight.
TEST(CliClosedLoop, ConcurrencyWithoutARate) {
  const CliRun r = apex(
      "simulate --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 1 --concurrency 8 --num-requests 64 "
      "--prompt-len 128 --output-len 16 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = parse_or_fail(r.out);
  EXPECT_EQ(j["metrics"]["requests"].get<int>(), 64);
  EXPECT_EQ(j["counters"]["peak_active_requests"].get<int>(), 8);
  EXPECT_NE(j["run"]["workload"].get<std::string>().find("closed loop: 8 clients"), std::string::npos);
  // Without a closed loop a rate is still required.
  const CliRun open = apex(
      "simulate --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 1 --num-requests 64 --prompt-len 128 "
      "--output-len 16");
  EXPECT_EQ(open.code, 2);
  EXPECT_CONTAINS(open.err, "synthetic workload is missing --rate");
}

TEST(CliTable, SearchTableFitsOneHundredColumnsAndWideShowsEveryColumn) {
  const std::string args = "search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 4 " + kSynthetic +
                           " --allow-fewer-gpus --ttft-slo-ms 500";
  const CliRun narrow = apex(args + " --format table");
  const CliRun wide = apex(args + " --format table --wide");
  ASSERT_EQ(narrow.code, 0) << narrow.err;
  ASSERT_EQ(wide.code, 0) << wide.err;
  std::size_t widest = 0, line = 0;
  for (char c : narrow.out) {
    if (c == '\n') {
      widest = std::max(widest, line);
      line = 0;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++line;  // characters, not UTF-8 bytes (≤, ×)
    }
  }
  EXPECT_LE(widest, 100u) << narrow.out;
  EXPECT_CONTAINS(narrow.out, "SLO met");
  const auto header = [](const std::string& out) {
    const std::size_t at = out.find("  rank plan");
    return out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_EQ(header(narrow.out).find(" MBU"), std::string::npos) << narrow.out;
  EXPECT_CONTAINS(narrow.out, "(--wide adds");
  EXPECT_CONTAINS(header(wide.out), " MBU");
  // The JSON does not depend on it; simulate has no ranked plans to widen.
  EXPECT_EQ(parse_or_fail(apex(args + " --wide --format json").out)["plans"].dump(),
            parse_or_fail(apex(args + " --format json").out)["plans"].dump());
  expect_user_error(kSim + " --wide", "--wide is an option of `apex search`, not of `apex simulate`");
}

}  // namespace

namespace apex {
namespace {
// The cost objective needs a price; an absurd --gpu-price is a range error, not a 300-digit table.
TEST(CliHardening, CostNeedsAPriceAndThePriceIsRangeChecked) {
  const std::string srch = "search " + kModel1Gpu + " " + kSynthetic;
  expect_user_error(srch + " --gpu-price 1e300 --objective cost",
                    "--gpu-price must be above 0 and at most 1000 (USD per GPU-hour), got 1e+300");
  expect_user_error(srch + " --gpu-price 0", "--gpu-price must be above 0");
  const std::string cluster = testing::write_temp_file(
      "no_price.json",
      R"({"nodes": 1, "gpus_per_node": 1, "gpu": {"base": "h100-sxm", "name": "toy", "price_per_hour_usd": 0}})");
  expect_user_error(
      "search --model llama-3.1-8b --cluster " + cluster + " " + kSynthetic + " --objective cost",
      "--objective cost needs a GPU price");
}
}  // namespace
}  // namespace apex

namespace apex {
namespace {
// Two outputs on one file, or an output over the input trace, would lose data: refused up front.
TEST(CliHardening, OutputsMayNotOverwriteEachOtherOrTheTrace) {
  const std::string dir = ::testing::TempDir();
  const std::string out = dir + "/same_out.csv";
  expect_user_error(kSim + " --per-request " + out + " -o " + out,
                    "--output and --per-request name the same file");
  const std::string trace =
      testing::write_temp_file("own_trace.csv", "arrival_s,prompt_tokens,output_tokens\n0,16,4\n");
  expect_user_error(
      "simulate --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 1 --trace " + trace + " -o " + trace,
      "name the same file");
  std::ifstream in(trace);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header, "arrival_s,prompt_tokens,output_tokens");  // untouched
}
}  // namespace
}  // namespace apex
