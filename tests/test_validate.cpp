// End-to-end fidelity held in place: a deterministic quarter of the expressible rows of
// ../shared/reference/serving_measurements.csv must stay within the bar (median absolute
// error <= 15%), and the full-run figures in docs/validation.md come from the same code.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "validate/serving.h"

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

}  // namespace
}  // namespace apex
