// End-to-end fidelity held in place: a deterministic quarter of the expressible rows of
// ../shared/reference/serving_measurements.csv must stay within the bar (median absolute
// error <= 15%), and the full-run figures in docs/validation.md come from the same code.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "model/registry.h"
#include "sim/deployment.h"
#include "test_util.h"
#include "validate/serving.h"
#include "validate/serving_translate.h"
#include "validate/staged.h"

namespace apex {
namespace {

const std::string kReference = std::string(APEX_SHARED_DIR) + "/reference/serving_measurements.csv";

TEST(ServingValidation, MedianErrorWithinTheBar) {
  if (!std::filesystem::exists(kReference)) GTEST_SKIP() << kReference << " not present";
  const auto rows = read_serving_rows(kReference);
  ASSERT_GT(rows.size(), 300u);
  const auto cases = validate_serving(rows, 2, /*stride=*/4);
  std::vector<ServingCase> dense, moe;
  for (const auto& c : cases)
    (is_moe_case(c) ? moe : dense).push_back(c);
  const ErrorStats e = error_stats(dense);
  EXPECT_GE(e.n, 35u);
  EXPECT_LE(e.median, 0.15) << "median |error| over " << e.n << " dense rows";
  EXPECT_LE(e.p90, 0.60);
  EXPECT_LT(std::fabs(e.mean_signed), 0.25);
  // MoE rows: TensorRT-LLM's MoE kernels vs vLLM-calibrated ones (docs/validation.md); held so
  // the gap cannot silently widen.
  const ErrorStats m = error_stats(moe);
  EXPECT_GE(m.n, 8u);
  EXPECT_LE(m.median, 0.40) << "median |error| over " << m.n << " MoE rows";
}

// Issue #9's bar for the TensorRT-LLM set: every expressible row, the dense and the MoE median and
// p90 |error| no worse than before the issue (commit 79cc133: dense 10.5% / 24.8%, MoE 21.2% /
// 53.0%). Now (trtllm per-sequence step cost fitted, data/engine_fits.json): 9.4 / 24.6 and
// 20.8 / 50.8 (docs/validation.md).
TEST(ServingValidation, TensorRtLlmFiguresNoWorseThanBeforeTheVllmV1Work) {
  if (!std::filesystem::exists(kReference)) GTEST_SKIP() << kReference << " not present";
  const auto cases = validate_serving(read_serving_rows(kReference), 2, /*stride=*/1);
  std::vector<ServingCase> dense, moe;
  for (const auto& c : cases)
    (is_moe_case(c) ? moe : dense).push_back(c);
  const ErrorStats e = error_stats(dense);
  const ErrorStats m = error_stats(moe);
  EXPECT_EQ(e.n, 185u);
  EXPECT_EQ(m.n, 114u);
  EXPECT_LE(e.median, 0.105);
  EXPECT_LE(e.p90, 0.248);
  EXPECT_LE(m.median, 0.212);
  EXPECT_LE(m.p90, 0.530);
}

// The multi-GPU MoE rows (Qwen3-235B-A22B and Llama-4-Maverick on 8 GPUs, EP 8 with
// data-parallel attention as the source's recipe runs them; FP8 priced from the faster FP8 MoE
// kernel family; Maverick with chunked local attention): within 25% at the median.
TEST(ServingValidation, ExpertParallelRowsWithinTheBar) {
  if (!std::filesystem::exists(kReference)) GTEST_SKIP() << kReference << " not present";
  for (const std::string model : {"Qwen3-235B", "Llama-4-Maverick"}) {
    std::vector<ServingRow> rows;
    for (auto& r : read_serving_rows(kReference)) {
      if (r.model.find(model) != std::string::npos) rows.push_back(std::move(r));
    }
    ASSERT_GE(rows.size(), 20u) << model;
    const auto cases = validate_serving(rows, 2, /*stride=*/2);
    for (const auto& c : cases) {
      if (c.simulated) {
        EXPECT_NE(c.setup.find("-dpattn"), std::string::npos) << "line " << c.row.line << ": " << c.setup;
      }
    }
    const ErrorStats e = error_stats(cases);
    EXPECT_GE(e.n, 10u) << model;
    EXPECT_LE(e.median, 0.25) << "median |error| over " << e.n << " " << model << " rows";
  }
}

// vLLM 0.15.1 multi-stage runs (../shared/reference/vllm_v1_serving.csv, issue #9's goals): out of
// sample (front-end latency fitted leave-one-model-out) the median absolute error of stage mean E2E
// and clean decode is <= 10%, of stage mean TTFT <= 15%; the shipped front-end latency
// (data/engine_fits.json) is the fitted one. Saturation: two stages are known to disagree (both
// Qwen3-14B near capacity, docs/validation.md); the test holds that count.
const std::string kStaged = std::string(APEX_SHARED_DIR) + "/reference/vllm_v1_serving.csv";

TEST(StagedValidation, VllmV1RunsWithinTheGoalsOutOfSample) {
  if (!std::filesystem::exists(kStaged)) GTEST_SKIP() << kStaged << " not present";
  const auto runs = read_staged_runs(kStaged);
  ASSERT_EQ(runs.size(), 32u);
  const auto cases = simulate_staged(runs, 2);
  std::size_t simulated = 0;
  for (const auto& c : cases) {
    EXPECT_TRUE(c.simulated()) << c.run.id << ": " << c.skip_reason;
    simulated += c.simulated();
  }
  EXPECT_EQ(simulated, 32u);
  const StagedFit fit = fit_staged(cases);
  EXPECT_EQ(fit.out_of_sample.stages, 55u);
  EXPECT_LE(fit.out_of_sample.e2e_mean, 0.10);
  EXPECT_LE(fit.out_of_sample.decode, 0.10);
  EXPECT_LE(fit.out_of_sample.ttft_mean, 0.15);
  EXPECT_LE(fit.out_of_sample.saturation_mismatches, 1u);
  // The memory model against vLLM's own KV-cache block counts (logged for 10 runs): every dense
  // model within 3%, never more than 1% under (a planner must not promise capacity and then find
  // less; a little over is memory vLLM holds that APEX does not count, UNSURE which).
  std::size_t logged = 0;
  for (const auto& c : cases) {
    if (!c.simulated() || !c.run.gpu_kv_blocks || c.model.rfind("llama-4", 0) == 0) continue;
    ++logged;
    const double ratio = static_cast<double>(c.kv_blocks) / static_cast<double>(*c.run.gpu_kv_blocks);
    EXPECT_GT(ratio, 0.99) << c.run.id;
    EXPECT_LT(ratio, 1.03) << c.run.id;
  }
  EXPECT_GE(logged, 7u);
  EXPECT_EQ(fit.lomo_frontend.size(), 8u);
  // The default engine ships the in-sample fit.
  Deployment d;
  d.model = load_model("llama-3.1-8b");
  d.cluster = make_cluster("h100-sxm", 1, 1);
  EXPECT_NEAR(d.engine_policy().costs.frontend_latency, fit.frontend_s, 0.05e-3);
}

TEST(StagedValidation, ReadsTheWorkloadAndFlagsOfARun) {
  const std::string csv =
      "experiment,scope,model,engine,engine_version,key_flags,gpu,num_gpus,tp,pp,dp,ep,dtype,workload,metric,"
      "value,unit,source\n"
      "x1,stage_1 (6.0 req/s x 600 s),meta-llama/Llama-3.1-70B-Instruct,vllm,0.15.1,\"--tensor-parallel-size "
      "4 "
      "--max-num-batched-tokens 8192 --max-num-seqs 128; CPU KV blocks=6553\",H100-SXM-80GB,4,4,1,1,1,bf16,"
      "\"9 system prompts x 5 users, system_prompt_len=100, question_len=447 (random), output_len=248 (x); "
      "stages: 2.5 req/s x 600 s then 6.0 req/s x 600 s; scope=stage_1\",ttft_mean_s,0.05,s,src\n";
  const std::string path = testing::write_temp_file("staged_runs.csv", csv);
  const auto runs = read_staged_runs(path);
  ASSERT_EQ(runs.size(), 1u);
  const StagedRun& r = runs[0];
  EXPECT_EQ(r.tp, 4);
  EXPECT_EQ(r.max_num_batched_tokens, 8192);
  EXPECT_EQ(r.max_num_seqs, 128);
  EXPECT_TRUE(r.cpu_offload);
  EXPECT_EQ(r.groups, 9);
  EXPECT_EQ(r.users, 5);
  EXPECT_EQ(r.system_len, 100);
  EXPECT_EQ(r.question_len, 447);
  EXPECT_EQ(r.output_len, 248);
  ASSERT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.stages[0].rate, 2.5);
  EXPECT_EQ(r.stages[1].duration_s, 600);
  // Only TTFT mean was given for stage 1: an incomplete stage is not compared.
  EXPECT_FALSE(r.measured[1].has_value());
  EXPECT_EQ(preset_for_hf_model("RedHatAI/Llama-4-Scout-17B-16E-Instruct-FP8-dynamic"),
            "llama-4-scout-17b-16e");
  EXPECT_EQ(preset_for_hf_model("Qwen/Qwen2.5-7B-Instruct"), "qwen2.5-7b");
  EXPECT_EQ(preset_for_hf_model("mistralai/Mixtral-8x22B-v0.1"), "mixtral-8x22b");
  EXPECT_EQ(preset_for_hf_model("nobody/unknown-model"), "");
  // A stage the workload does not have is named with its line.
  const std::string bad = testing::write_temp_file("staged_bad.csv", csv.substr(0, csv.find("x1,stage_1")) +
                                                                         "x1,stage_7 (1 req/s x 1 s)" +
                                                                         csv.substr(csv.find(",meta-llama")));
  EXPECT_NE(testing::user_error_of([&] { (void)read_staged_runs(bad); }).find("staged_bad.csv:2"),
            std::string::npos);
}

TEST(ServingValidation, EverySkippedRowSaysWhy) {
  if (!std::filesystem::exists(kReference)) GTEST_SKIP() << kReference << " not present";
  const auto cases = validate_serving(read_serving_rows(kReference), 2, /*stride=*/1000);
  std::size_t skipped = 0;
  for (const auto& c : cases) {
    if (c.simulated) continue;
    ++skipped;
    EXPECT_FALSE(c.skip_reason.empty()) << "line " << c.row.line;
  }
  // MLPerf datasets (52), disaggregated deployments (15), closed-loop runs (5), unknown models (6), ...
  EXPECT_GE(skipped, 70u);
  EXPECT_LE(skipped, 90u);
  for (const auto& c : cases) {
    if (c.row.model.find("Llama-4") != std::string::npos) {
      EXPECT_TRUE(c.simulated) << "line " << c.row.line << ": " << c.skip_reason;
    }
  }
}

TEST(ServingValidation, ReadsTheRowFields) {
  const std::string path = ::testing::TempDir() + "/apex_serving.csv";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(
        "source,model,engine,gpu,num_gpus,tp,pp,dp,ep,dtype,input_len,output_len,concurrency_or_rate,metric,"
        "value,unit,notes\n"
        "s,Llama-2-7B,TensorRT-LLM v0.5,H100 SXM 80GB,1,1,1,1,,FP8,128,1,batch 1,TTFT,7,ms,\"a, b\"\n",
        f);
    std::fclose(f);
  }
  const auto rows = read_serving_rows(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].line, 2u);
  EXPECT_EQ(rows[0].model, "Llama-2-7B");
  EXPECT_EQ(rows[0].notes, "a, b");
  const auto cases = validate_serving(rows, 1);
  ASSERT_TRUE(cases[0].simulated) << cases[0].skip_reason;
  EXPECT_GT(cases[0].simulated_value, 1.0);   // ms
  EXPECT_LT(cases[0].simulated_value, 30.0);  // a 128-token prefill of a 7B model on one H100
}

// ---------------------------------------------------------------------------------------------
// Translator: a row in APEX terms

ServingRow row(std::string model, std::string engine, std::string load) {
  ServingRow r;
  r.line = 7;
  r.source = "github:NVIDIA/TensorRT-LLM docs";
  r.model = std::move(model);
  r.engine = std::move(engine);
  r.gpu = "H100 SXM 80GB";
  r.num_gpus = r.tp = 8;
  r.pp = 1;
  r.ep = "?";
  r.dtype = "FP8";
  r.input_len = "1024";
  r.output_len = "2048";
  r.load = std::move(load);
  r.metric = "output_throughput";
  r.value = 1000;
  r.unit = "tok/s";
  return r;
}

TEST(ServingTranslate, EngineNames) {
  EXPECT_EQ(serving::apex_engine("vLLM 0.6.3"), "vllm");
  EXPECT_EQ(serving::apex_engine("TensorRT-LLM v0.5 (trtllm-bench)"), "trtllm");
  EXPECT_EQ(serving::apex_engine("SGLang 0.4"), std::nullopt);
  const serving::Setup s = serving::translate(row("Llama-3.1-8B", "SGLang 0.4", "concurrency 8"));
  EXPECT_EQ(s.why_not, "engine 'SGLang 0.4' has no policy preset");
}

TEST(ServingTranslate, ClosedLoopRowWithAttentionDataParallel) {
  ServingRow r = row("Qwen3-235B-A22B", "TensorRT-LLM v1.0", "concurrency 256, max_batch 32/rank");
  r.notes = "enable_attention_dp";
  const serving::Setup s = serving::translate(r);
  ASSERT_EQ(s.why_not, "");
  EXPECT_EQ(s.model, "qwen3-235b-a22b");
  EXPECT_EQ(s.gpu, "h100-sxm");
  EXPECT_EQ(s.engine, "trtllm");
  EXPECT_EQ(s.tp, 8);
  EXPECT_EQ(s.ep, 8);  // '?' -> the TP group
  EXPECT_TRUE(s.attn_dp);
  EXPECT_EQ(s.concurrency, 256);
  EXPECT_EQ(s.requests, 4 * 256);
  EXPECT_EQ(s.knobs.max_num_seqs, 32 * 8);  // per attention rank x ranks
  EXPECT_EQ(s.measure, serving::Measure::OutputThroughput);
  EXPECT_TRUE(serving::is_moe_row(r));
  r.notes.clear();  // without attention DP the per-rank limit is the replica's
  EXPECT_EQ(serving::translate(r).knobs.max_num_seqs, 32);
  EXPECT_FALSE(serving::is_moe_row(row("Llama-3.1-8B", "vLLM", "batch 1")));
}

// ---------------------------------------------------------------------------------------------
// Writer: tables rendered into the template

std::vector<ServingCase> two_cases() {
  ServingCase a;
  a.row = row("Llama-3.1-8B", "vLLM 0.6.3", "batch 1");
  a.simulated = true;
  a.simulated_value = 1100;
  a.error = 0.1;
  a.setup = "vllm tp8";
  ServingCase b;
  b.row = row("Llama-3.1-405B", "vLLM 0.6.3", "batch 1");
  b.row.line = 9;
  b.skip_reason = "does not fit as BF16: 800 GiB of weights";
  ServingCase c = b;
  c.skip_reason = "does not fit as BF16: 900 GiB of weights";
  return {a, b, c};
}

TEST(ServingMarkdown, RendersTablesIntoTheTemplate) {
  const std::string md = serving_markdown(
      two_cases(), "ref.csv",
      "R={{reference}}\n{{summary}}\n{{per_source_table}}\n{{row_table}}\n{{skipped_table}}\n");
  EXPECT_EQ(md.rfind("R=ref.csv\n**Dense models: 1 rows — median |error| 10.0%", 0), 0u) << md;
  EXPECT_NE(md.find("| NVIDIA/TensorRT-LLM (vLLM 0.6.3) | 1 | 10.0% | 10.0% | +10.0% |\n"), std::string::npos)
      << md;
  EXPECT_NE(
      md.find("| 7 | Llama-3.1-8B | H100 SXM 80GB ×8 | FP8 | 1024/2048 | batch 1 | output_throughput | 1000 "
              "tok/s | 1100 | +10.0% | vllm tp8 |\n"),
      std::string::npos)
      << md;
  // Skip reasons that differ only after "does not fit as X:" are counted together.
  EXPECT_NE(md.find("| rows | reason |\n|---|---|\n| 2 | does not fit as BF16 |\n"), std::string::npos) << md;
}

TEST(ServingMarkdown, TheShippedTemplateHoldsTheProse) {
  const std::string md = serving_markdown(two_cases(), "ref.csv");
  EXPECT_EQ(md.find("{{"), std::string::npos);
  EXPECT_NE(md.find("--reference ref.csv --stage-reference ../shared/reference/vllm_v1_serving.csv -o "
                    "docs/validation.md"),
            std::string::npos);
  EXPECT_NE(md.find("## Outliers"), std::string::npos);
  EXPECT_NE(md.find("## Rows not simulated\n\n| rows | reason |"), std::string::npos);
}

TEST(ServingMarkdown, TemplateBlocksAreChecked) {
  const auto cases = two_cases();
  auto msg = [&](const std::string& t) -> std::string {
    try {
      serving_markdown(cases, "ref.csv", t);
    } catch (const InternalError& e) {
      return e.what();
    }
    return "no error";
  };
  const std::string all = "{{reference}}{{summary}}{{per_source_table}}{{row_table}}{{skipped_table}}";
  EXPECT_EQ(msg(all), "no error");
  EXPECT_NE(
      msg("{{reference}}{{summary}}{{per_source_table}}{{skipped_table}}").find("'row_table' is missing"),
      std::string::npos);
  EXPECT_NE(msg(all + "{{rows}}").find("unknown block 'rows'"), std::string::npos);
  EXPECT_NE(msg(all + "{{summary}}").find("'summary' appears twice"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Hostile reference files (issue #10): every malformed or out-of-range field is a UserError naming
// FILE:LINE, the field and its range; files are read bounded.

const std::string kStagedHeader =
    "experiment,scope,model,key_flags,gpu,tp,dtype,workload,metric,value,unit\n";

// One staged-run row; each argument replaces one part of a well-formed row.
std::string staged_row(
    const std::string& flags = "--max-num-batched-tokens 2048 --gpu-memory-utilization 0.9",
    const std::string& workload_counts = "2 system prompts x 3 users",
    const std::string& lens = "system_prompt_len=100, question_len=200, output_len=50",
    const std::string& stages = "8 req/s x 60 s then 20 req/s x 60 s",
    const std::string& metric_value = "ttft_mean_s,0.05,s") {
  return "r1,stage_0 (8 req/s x 60 s),Qwen/Qwen3-14B,\"" + flags + "\",H100-80GB,1,bf16,\"" +
         workload_counts + ", " + lens + "; stages: " + stages + "; done\"," + metric_value + "\n";
}

// One file per test: ctest runs the tests of this binary in parallel processes.
std::string staged_bad_name() {
  return std::string("apex_staged_bad_") + ::testing::UnitTest::GetInstance()->current_test_info()->name() +
         ".csv";
}

std::string staged_error(const std::string& row) {
  const std::string path = testing::write_temp_file(staged_bad_name(), kStagedHeader + row);
  return testing::user_error_of([&] { read_staged_runs(path); });
}

TEST(StagedInput, AWellFormedRowParses) {
  const std::string path = testing::write_temp_file("apex_staged_ok.csv", kStagedHeader + staged_row());
  const auto runs = read_staged_runs(path);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].groups, 2);
  EXPECT_EQ(runs[0].users, 3);
  EXPECT_EQ(runs[0].system_len, 100);
  EXPECT_EQ(runs[0].question_len, 200);
  EXPECT_EQ(runs[0].output_len, 50);
  EXPECT_EQ(runs[0].max_num_batched_tokens, 2048);
  ASSERT_TRUE(runs[0].gpu_memory_utilization.has_value());
  EXPECT_DOUBLE_EQ(*runs[0].gpu_memory_utilization, 0.9);
  ASSERT_EQ(runs[0].stages.size(), 2u);
  EXPECT_DOUBLE_EQ(runs[0].stages[1].rate, 20.0);
  EXPECT_DOUBLE_EQ(runs[0].stages[1].duration_s, 60.0);
}

TEST(StagedInput, StageRatesAndDurationsAreParsedWhole) {
  // `*parse_double` of "1.2.3" and "." dereferenced an empty optional.
  const std::string file = ::testing::TempDir() + "/" + staged_bad_name() + ":2";
  EXPECT_EQ(staged_error(staged_row({}, "2 system prompts x 3 users",
                                    "system_prompt_len=100, question_len=200, output_len=50",
                                    "1.2.3 req/s x 60 s")),
            file + ": stage rate (req/s) '1.2.3' is not a number: expected above 0 and at most 1e+06 req/s");
  EXPECT_CONTAINS(
      staged_error(staged_row({}, "2 system prompts x 3 users",
                              "system_prompt_len=100, question_len=200, output_len=50", ". req/s x 60 s")),
      "stage rate (req/s) '.' is not a number");
  EXPECT_CONTAINS(
      staged_error(staged_row({}, "2 system prompts x 3 users",
                              "system_prompt_len=100, question_len=200, output_len=50", "0 req/s x 60 s")),
      "stage rate (req/s) '0' is outside the plausible range: expected above 0");
  EXPECT_CONTAINS(
      staged_error(staged_row({}, "2 system prompts x 3 users",
                              "system_prompt_len=100, question_len=200, output_len=50", "8 req/s x 1e300 s")),
      "stage duration (s) '1e300' is outside the plausible range: expected above 0 and at most 1e+06 s");
  EXPECT_CONTAINS(staged_error(staged_row({}, "2 system prompts x 3 users",
                                          "system_prompt_len=100, question_len=200, output_len=50",
                                          "100000 req/s x 600 s")),
                  "the stages offer 6e+07 requests, more than the limit of 10000000 per run");
  std::string many;
  for (int i = 0; i < 65; ++i)
    many += std::string(i ? " then " : "") + "1 req/s x 1 s";
  EXPECT_CONTAINS(staged_error(staged_row({}, "2 system prompts x 3 users",
                                          "system_prompt_len=100, question_len=200, output_len=50", many)),
                  "65 load stages, more than the limit of 64");
}

TEST(StagedInput, CountsAreRangeCheckedBeforeNarrowing) {
  const std::string file = ::testing::TempDir() + "/" + staged_bad_name() + ":2";
  EXPECT_EQ(staged_error(staged_row({}, "2 system prompts x 3 users",
                                    "system_prompt_len=100, question_len=3000000000, output_len=50")),
            file + ": question_len '3000000000' is not a whole number from 1 to 16777216");
  EXPECT_CONTAINS(staged_error(staged_row({}, "2 system prompts x 3 users",
                                          "system_prompt_len=100, question_len=1e20, output_len=50")),
                  "question_len '1e20' is not a whole number from 1 to 16777216");
  EXPECT_CONTAINS(staged_error(staged_row({}, "2 system prompts x 3 users",
                                          "system_prompt_len=100, question_len=200, output_len=0")),
                  "output_len '0' is not a whole number from 1 to 16777216");
  EXPECT_CONTAINS(staged_error(staged_row({}, "0 system prompts x 3 users")),
                  "system prompt count '0' is not a whole number from 1 to 1000000");
  EXPECT_CONTAINS(staged_error(staged_row({}, "100000000000000000000 system prompts x 3 users")),
                  "system prompt count '100000000000000000000' is not a whole number from 1 to 1000000");
  EXPECT_CONTAINS(staged_error(staged_row("--max-num-batched-tokens 1e20")),
                  "--max-num-batched-tokens '1e20' is not a whole number from 1 to 268435456");
  EXPECT_EQ(staged_error(staged_row("--max-num-seqs 3000000000")),
            file + ": --max-num-seqs '3000000000' is not a whole number from 1 to 1048576");
  EXPECT_CONTAINS(staged_error(staged_row("--max-num-seqs 64; GPU KV blocks=1e23")),
                  "GPU KV blocks '1e23' is not a whole number from 1 to 1000000000000");
  EXPECT_CONTAINS(
      staged_error(staged_row("--gpu-memory-utilization 5")),
      "--gpu-memory-utilization '5' is outside the plausible range: expected above 0 and at most 1");
  EXPECT_CONTAINS(staged_error(staged_row("--gpu-memory-utilization 1.2.3")),
                  "--gpu-memory-utilization '1.2.3' is not a number");
}

TEST(StagedInput, MeasuredTimesArePlausible) {
  const std::string file = ::testing::TempDir() + "/" + staged_bad_name() + ":2";
  const std::string lens = "system_prompt_len=100, question_len=200, output_len=50";
  const std::string stages = "8 req/s x 60 s then 20 req/s x 60 s";
  // 1e300 and 1e-300 s printed nan/inf and 300-digit percentages.
  EXPECT_EQ(
      staged_error(staged_row({}, "2 system prompts x 3 users", lens, stages, "ttft_mean_s,1e300,s")),
      file + ": value '1e300' is outside the plausible range: expected above 1e-06 and at most 1e+06 s");
  EXPECT_CONTAINS(
      staged_error(staged_row({}, "2 system prompts x 3 users", lens, stages, "ttft_mean_s,1e-300,s")),
      "value '1e-300' is outside the plausible range");
  EXPECT_CONTAINS(
      staged_error(staged_row({}, "2 system prompts x 3 users", lens, stages, "ttft_mean_s,3,ms")),
      "unit 'ms' of a stage metric is not 's'");
  // E2E at or below TTFT makes the decode time per token zero or negative (an infinite error).
  std::string rows;
  for (const char* m : {"ttft_mean_s,2", "ttft_p90_s,2", "e2e_mean_s,1", "e2e_p90_s,3"})
    rows += staged_row({}, "2 system prompts x 3 users", lens, stages, std::string(m) + ",s");
  EXPECT_CONTAINS(staged_error(rows), "run 'r1' stage_0: e2e_mean_s 1 is not above ttft_mean_s 2");
}

TEST(StagedInput, FilesAreReadBounded) {
  EXPECT_EQ(testing::user_error_of([] { read_staged_runs("/dev/zero"); }),
            "staged serving runs '/dev/zero' is larger than the limit of 64 MiB");
  EXPECT_EQ(testing::user_error_of([] { read_staged_runs(::testing::TempDir()); }),
            "staged serving runs '" + ::testing::TempDir() + "' is a directory, expected a file");
  EXPECT_EQ(testing::user_error_of([] { read_staged_runs("/nonexistent/apex/runs.csv"); }),
            "staged serving runs '/nonexistent/apex/runs.csv' does not exist");
  EXPECT_EQ(testing::user_error_of([] { read_staged_runs("/dev/null"); }),
            "staged serving runs '/dev/null' is empty: expected a CSV header line");
  const std::string header_only = testing::write_temp_file("apex_staged_header.csv", kStagedHeader + "\n");
  EXPECT_EQ(testing::user_error_of([&] { read_staged_runs(header_only); }),
            "staged serving runs '" + header_only + "' contains no runs (a header and nothing else)");
  const std::string dup = testing::write_temp_file("apex_staged_dup.csv", "experiment,scope,experiment\n");
  EXPECT_EQ(testing::user_error_of([&] { read_staged_runs(dup); }),
            dup + ":1: column 'experiment' appears twice");
  const std::string extra =
      testing::write_temp_file("apex_staged_extra.csv", kStagedHeader + "a,b,c,d,e,f,g,h,i,j,k,l\n");
  EXPECT_EQ(testing::user_error_of([&] { read_staged_runs(extra); }),
            extra + ":2: 12 fields, more than the header's 11 (an unquoted comma?)");
  // A UTF-8 byte-order mark before the header is not part of the first column's name.
  const std::string bom =
      testing::write_temp_file("apex_staged_bom.csv", "\xEF\xBB\xBF" + kStagedHeader + staged_row());
  EXPECT_EQ(read_staged_runs(bom).size(), 1u);
}

const std::string kServingHeader =
    "source,model,engine,gpu,num_gpus,tp,pp,dp,ep,dtype,input_len,output_len,concurrency_or_rate,metric,"
    "value,unit,"
    "notes\n";

TEST(ServingInput, GpuCountsAreRangeChecked) {
  auto error_of = [](const std::string& counts) {
    const std::string path = testing::write_temp_file(
        "apex_serving_bad.csv", kServingHeader + "s,Llama-2-7B,TensorRT-LLM v0.5,H100 SXM 80GB," + counts +
                                    ",1,,FP8,128,1,batch 1,TTFT,7,ms,\n");
    return testing::user_error_of([&] { read_serving_rows(path); });
  };
  const std::string file = ::testing::TempDir() + "/apex_serving_bad.csv:2";
  // 4294967297 became tp 1 through static_cast<int>.
  EXPECT_EQ(error_of("1,4294967297"), file + ": tp 4294967297 is outside 1 to 65536");
  EXPECT_EQ(error_of("0,1"), file + ": num_gpus 0 is outside 1 to 65536");
  EXPECT_EQ(error_of("1,1.5"), file + ": tp '1.5' is not a whole GPU count (1 to 65536)");
  // Unknown counts ('?', blank, 'multi-node') stay unknown: the row is listed as not expressible.
  const std::string path = testing::write_temp_file(
      "apex_serving_q.csv",
      kServingHeader +
          "s,Llama-2-7B,TensorRT-LLM v0.5,H100 SXM 80GB,multi-node,?,,,,FP8,128,1,batch 1,TTFT,7,ms,\n");
  const auto rows = read_serving_rows(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].num_gpus, 0);
  EXPECT_EQ(rows[0].tp, 0);
}

TEST(ServingInput, FilesAreReadBounded) {
  EXPECT_EQ(testing::user_error_of([] { read_serving_rows("/dev/zero"); }),
            "serving measurements '/dev/zero' is larger than the limit of 64 MiB");
  const std::string header_only = testing::write_temp_file("apex_serving_header.csv", kServingHeader);
  EXPECT_EQ(testing::user_error_of([&] { read_serving_rows(header_only); }),
            "serving measurements '" + header_only + "' contains no rows (a header and nothing else)");
}

}  // namespace
}  // namespace apex
