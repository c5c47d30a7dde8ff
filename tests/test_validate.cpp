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

}  // namespace
}  // namespace apex
