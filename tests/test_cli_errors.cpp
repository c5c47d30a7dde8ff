// Hardening (issue #10), the reviewers' second round, checked against the real `apex` binary: flags
// that do nothing where they are given, empty and duplicated values, duplicate JSON keys,
// impossible clocks, an empty output path, load stages without a request, did-you-means.
#include <gtest/gtest.h>

#include "cli_run.h"
#include "test_util.h"

#include <algorithm>
#include <fstream>
#include <string>

namespace {

using apex_cli_test::apex;
using apex_cli_test::CliRun;
using apex_cli_test::expect_user_error;
using apex_cli_test::kData;
using apex_cli_test::quote;

const std::string kModel = "--model llama-3.1-8b --gpu h100-sxm --nodes 1 --gpus-per-node 1 ";
const std::string kSynthetic = "--rate 2 --num-requests 20 --prompt-len 128 --output-len 16";
const std::string kSim = "simulate " + kModel + kSynthetic;

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/apex_cli_errors_" + name;
  std::ofstream(path) << text;
  return path;
}

// A run that succeeds with exactly one warning line on stderr holding `needle`, and the same stdout
// as `baseline` (the run without the flag that does nothing); JSON unless the arguments say.
void expect_warning(const std::string& args, const std::string& baseline, const std::string& needle,
                    const std::string& needle2 = {}) {
  SCOPED_TRACE("apex " + args);
  const std::string format = args.find("--format") == std::string::npos ? " --format json" : "";
  const CliRun r = apex(args + format);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("apex: warning: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "want one line, got:\n" << r.err;
  EXPECT_CONTAINS(r.err, needle);
  if (!needle2.empty()) {
    EXPECT_CONTAINS(r.err, needle2);
  }
  const CliRun base = apex(baseline + format);
  ASSERT_EQ(base.code, 0) << base.err;
  EXPECT_TRUE(base.err.empty()) << base.err;
  EXPECT_EQ(r.out, base.out) << "a warning never changes the document";
}

// --- 1. flags that have no effect where they are given -----------------------------------------

TEST(CliNoEffect, BurstinessOnATimedTraceIsAnErrorAndSeedAWarning) {
  const std::string trace = "simulate " + kModel + "--trace " + quote(kData + "/trace_basic.csv");
  expect_user_error(trace + " --burstiness 2", "has its own arrival times",
                    "--burstiness 2 cannot reshape; drop --burstiness");
  expect_warning(trace + " --seed 3", trace, "--seed 3 has no effect",
                 "gives every arrival time and length, so nothing is drawn at random");
  // --seed 0 is the default: nothing to warn about.
  EXPECT_TRUE(apex(trace + " --seed 0 --format json").err.empty());
}

TEST(CliNoEffect, ArrivalOptionsWithoutArrivalGapsWarn) {
  const std::string lengths = "simulate " + kModel + "--trace " + quote(kData + "/lengths_only.csv");
  expect_warning(lengths + " --rate inf --burstiness 3 --seed 4", lengths + " --rate inf",
                 "--burstiness 3 and --seed 4 have no effect", "every request of");
  expect_warning(lengths + " --concurrency 3 --seed 4", lengths + " --concurrency 3",
                 "--seed 4 has no effect", "without --rate the closed loop");
  const std::string closed =
      "simulate " + kModel + "--concurrency 2 --num-requests 10 --prompt-len 12 --output-len 3";
  expect_warning(closed + " --burstiness 3", closed, "--burstiness 3 has no effect");
  // A length-only trace with a finite rate draws its gaps from both.
  const CliRun drawn = apex(lengths + " --rate 3 --burstiness 3 --seed 4 --format json");
  EXPECT_EQ(drawn.code, 0) << drawn.err;
  EXPECT_TRUE(drawn.err.empty()) << drawn.err;
}

TEST(CliNoEffect, ExpertOptionsOnADenseModelAreErrors) {
  expect_user_error(kSim + " --expert-skew 1.2", "--expert-skew 1.2 describes the experts",
                    "llama-3.1-8b is dense");
  expect_user_error(kSim + " --expert-capacity-factor 1.5", "--expert-capacity-factor 1.5",
                    "llama-3.1-8b is dense");
  expect_user_error("search " + kModel + kSynthetic + " --expert-skew 1", "--expert-skew 1 describes");
}

TEST(CliNoEffect, AsyncSchedulingOnVllmV0IsAnError) {
  expect_user_error(kSim + " --engine vllm-0.6 --async-scheduling on", "--async-scheduling on",
                    "engine 'vllm-0.6'");
  // off is what V0 does anyway.
  const CliRun off = apex(kSim + " --engine vllm-0.6 --async-scheduling off --format json");
  EXPECT_EQ(off.code, 0) << off.err;
  EXPECT_EQ(off.out, apex(kSim + " --engine vllm-0.6 --format json").out);
}

TEST(CliNoEffect, PerfFallbackWithoutAProfileIsAnError) {
  expect_user_error(kSim + " --perf-fallback analytical", "--perf-fallback",
                    "it is only used with --perf profile");
  expect_user_error(kSim + " --perf analytical --perf-fallback bogus", "--perf-fallback",
                    "only used with --perf profile");
}

TEST(CliNoEffect, WideOutsideATableWarns) {
  const std::string search = "search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 " + kSynthetic;
  // (CSV: the JSON document holds the search's wall time, which differs from run to run.)
  expect_warning(search + " --format csv --wide", search + " --format csv", "--wide has no effect",
                 "csv output already holds");
  const CliRun json = apex(search + " --format json --wide");
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_CONTAINS(json.err, "apex: warning: --wide has no effect");
  const CliRun table = apex(search + " --wide --format table");
  EXPECT_EQ(table.code, 0) << table.err;
  EXPECT_TRUE(table.err.empty()) << table.err;
}

// --- 2. --tune: no knob, a knob twice, a value twice -------------------------------------------

TEST(CliTune, EmptyAndDuplicatedKnobsAreErrors) {
  const std::string search = "search --model llama-3.1-8b --gpu h100-sxm --gpus-per-node 2 " + kSynthetic;
  expect_user_error(search + " --tune ''", "--tune: an empty value; give one, or drop --tune");
  expect_user_error(search + " --tune max-num-seqs,max-num-seqs", "max-num-seqs is given twice",
                    "max-num-seqs=a/b/c");
  expect_user_error(search + " --tune max-num-seqs=64,max-num-seqs=128", "max-num-seqs is given twice");
  expect_user_error(search + " --tune max-num-seqs,", "an empty knob name");
  expect_user_error(search + " --tune max-num-batched-tokens=2048/2048", "--tune max-num-batched-tokens",
                    "2048 is listed twice");
}

// --- 3. a key given twice in a JSON input: nlohmann would keep the last silently ---------------

TEST(CliJson, DuplicateKeysAreRejectedInEveryJsonInput) {
  expect_user_error("simulate --model " + quote(kData + "/duplicate_key_config.json") +
                        " --gpu h100-sxm --gpus-per-node 1 " + kSynthetic,
                    "duplicate_key_config.json: key 'num_hidden_layers' is given twice", "remove one");
  expect_user_error("simulate --model llama-3.1-8b --cluster " +
                        quote(kData + "/cluster_duplicate_key.json") + " " + kSynthetic,
                    "cluster_duplicate_key.json: key 'gpu.name' is given twice");
  expect_user_error("simulate " + kModel + "--trace " + quote(kData + "/bad_duplicate_key.jsonl"),
                    "bad_duplicate_key.jsonl:2: key 'ContextTokens' is given twice");
}

// --- 4. clocks and powers a GPU cannot have --------------------------------------------------

TEST(CliClusterValues, AZeroClockOrPowerIsOutsideThePlausibleRange) {
  const std::string clock = write_temp(
      "zero_clock.json", R"({"gpu": {"base": "h100-sxm", "boost_clock": "0GHz"}, "gpus_per_node": 1})");
  expect_user_error("simulate --model llama-3.1-8b --cluster " + quote(clock) + " " + kSynthetic,
                    "gpu: 'boost_clock': '0GHz' is outside the physically plausible range 100MHz to 10GHz");
  const std::string power = write_temp(
      "zero_power.json",
      R"({"gpu": {"base": "h100-sxm", "power_idle": "0W", "power_max": "0W"}, "gpus_per_node": 1})");
  expect_user_error("simulate --model llama-3.1-8b --cluster " + quote(power) + " " + kSynthetic,
                    "'power_max': '0W' is outside the physically plausible range 1W to 100kW");
}

// --- 5. an empty value (`-o "$OUT"` with OUT unset) is never the default in disguise ----------

TEST(CliEmptyValues, AnEmptyPathOrValueIsRefused) {
  expect_user_error(kSim + " -o ''", "--output: an empty path; give a file name, or drop --output");
  expect_user_error(kSim + " --per-request ''", "--per-request: an empty path");
  expect_user_error("simulate " + kModel + "--trace ''", "--trace: an empty path");
  expect_user_error(kSim + " --format ''", "--format: an empty value; give one, or drop --format");
  expect_user_error("calibrate --measurements " + quote(kData) + " -o ''", "--output: an empty path");
  expect_user_error("validate serving --reference ''", "--reference: an empty path");
}

// --- 6. a load stage expecting no request would report empty metrics ---------------------------

TEST(CliLoadStages, AStageExpectingFewerThanOneRequestIsAnError) {
  const std::string sim = "simulate " + kModel + "--prompt-len 128 --output-len 16 --rate ";
  expect_user_error(sim + "0.001:1",
                    "--rate: load stage 1 (0.001:1, 0.001 req/s for 1 s) expects 0.001 requests",
                    "rate x duration at least 1");
  expect_user_error(sim + "2:10,0.01:10", "load stage 2 (0.01:10", "fewer than 1 to measure");
  // A stage that expects a request but draws none by chance says so on stderr (seed 1: stage 2 of
  // 2:10,0.1:12 expects 1.2 requests and gets none); the document is unchanged.
  const CliRun r = apex(sim + "2:10,0.1:12 --seed 1 --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.rfind("apex: warning: load stage 2 (0.1 req/s, 10-22 s) received no request", 0), 0u)
      << r.err;
  EXPECT_CONTAINS(r.err, "its metrics are empty");
  EXPECT_CONTAINS(r.out, "\"stages\"");
  const CliRun two = apex(sim + "2:10,0.1:12 --seed 2 --format json");
  ASSERT_EQ(two.code, 0) << two.err;
  EXPECT_TRUE(two.err.empty()) << two.err;
}

// --- 7. did-you-means that point somewhere useful ------------------------------------------------

TEST(CliDidYouMean, AFlagOfAnotherCommandSaysWhichCommandTakesIt) {
  // It suggested '--nodes' (the two shared their dashes).
  expect_user_error(kSim + " --progress",
                    "--progress is an option of `apex validate`, `apex calibrate` and `apex search`, not of "
                    "`apex simulate`");
  EXPECT_EQ(apex(kSim + " --progress").err.find("--nodes"), std::string::npos);
  expect_user_error(kSim + " --progres", "unknown flag '--progres' for `apex simulate`",
                    "'--progress' is an option of `apex validate`, `apex calibrate` and `apex search`");
  expect_user_error("search " + kModel + kSynthetic + " --dp 2",
                    "--dp is an option of `apex simulate`, not of `apex search`");
  expect_user_error(kSim + " --tune max-num-seqs", "--tune is an option of `apex search`, not of");
  // A typo of one of the command's own flags is still suggested; validate, calibrate and list
  // report unknown flags the same way (CLI11 said "The following argument was not expected").
  expect_user_error(kSim + " --per-requests x.csv", "did you mean '--per-request'?");
  expect_user_error("calibrate --measurements x --progres", "unknown flag '--progres' for `apex calibrate`",
                    "did you mean '--progress'?");
  expect_user_error("validate ops --rate 3", "--rate is an option of `apex simulate` and `apex search`",
                    "not of `apex validate`");
  expect_user_error("list models --quiet", "--quiet is an option of", "not of `apex list`");
  expect_user_error("list models extra", "unexpected argument 'extra' for `apex list`");
}

TEST(CliDidYouMean, ALengthDistributionTypoSuggestsTheKind) {
  const std::string sim = "simulate " + kModel + "--rate 2 --num-requests 20 --output-len 16 --prompt-len ";
  expect_user_error(sim + "unifrom:1:10", "unknown distribution 'unifrom' (did you mean 'uniform'?)",
                    "write N, uniform:LO:HI");
  expect_user_error(sim + "lognorm:100:10", "(did you mean 'lognormal'?)");
  const CliRun far = apex(sim + "foo:1:10");
  EXPECT_EQ(far.code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

// --- 8. a parallel degree out of range names its flag --------------------------------------------

TEST(CliPlanDegrees, ADegreeOutOfRangeNamesTheFlagAndTheRange) {
  expect_user_error(kSim + " --dp -1",
                    "--dp must be at least 1 and at most 1 (the GPUs of the cluster), got -1");
  expect_user_error(kSim + " --tp 0", "--tp must be at least 1 and at most 1", "got 0");
  expect_user_error(kSim + " --pp 2147483647", "--pp must be at least 1 and at most 1");
  expect_user_error(kSim + " --ep -3", "--ep must be at least 1 and at most 1");
  // Each degree within the cluster, their product not: no int overflow (it wrapped negative and
  // passed the GPU-count check).
  expect_user_error(
      "simulate --model llama-3.1-8b --nodes 2000 --gpus-per-node 1 --dp 2000 --tp 2000 --pp 2000 " +
          kSynthetic,
      "dp×tp×pp = 8000000000 GPUs exceeds the cluster's 2000");
}

}  // namespace

namespace {
// A value option given twice was CLI11's "--rate: At Most 1 required but received 2"; it names
// the count and says to give it once, for every command (flags may repeat).
TEST(CliErrors, AnOptionGivenTwiceIsNamedWithItsCount) {
  expect_user_error(kSim + " --seed 1 --seed 2", "--seed is given 2 times; give it once",
                    "`apex simulate --help`");
  expect_user_error("search " + kModel + kSynthetic + " --tune max-num-seqs --tune max-num-batched-tokens",
                    "--tune is given 2 times; give it once");
  expect_user_error(kSim + " -o a.json --output b.json --output c.json", "--output is given 3 times");
  expect_user_error("validate ops --measurements a --measurements b", "--measurements is given 2 times",
                    "`apex validate --help`");
  const CliRun r = apex(kSim + " --format json --breakdown --breakdown");
  EXPECT_EQ(r.code, 0) << r.err;
}
}  // namespace
