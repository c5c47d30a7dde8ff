// validate/serving_translate.h — one public serving result (a ServingRow) in APEX terms: the model,
// GPU, engine, parallelism, precision and load it was measured with, or why APEX cannot express
// it. Internal to validate/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sim/instance.h"
#include "validate/serving.h"
#include "workload/workload.h"

namespace apex::serving {

// What the row's figure is compared with.
enum class Measure { OutputThroughput, OutputThroughputPerGpu, Ttft, TokensPerUser };

// A row translated into APEX terms, or the reason it cannot be (`why_not` not empty).
struct Setup {
  std::string model, gpu, engine = "trtllm";
  Precision precision;
  int tp = 1;
  int ep = 1;
  bool attn_dp = false;
  int concurrency = 0;  // closed-loop clients (0 = every request at t=0)
  std::int64_t requests = 1;
  std::int32_t isl = 0, osl = 0;
  EngineOverrides knobs;
  int spec_tokens = 0;  // speculative decoding (MTP layers)
  Measure measure = Measure::OutputThroughput;
  std::string why_not;
};

// The APEX engine preset standing for the engine a row was measured on ("vllm", "trtllm"), or
// nullopt when APEX has none. The one place that reads the row's engine name.
std::optional<std::string> apex_engine(const std::string& row_engine);

Setup translate(const ServingRow& r);

// The deployment, plan and workload of a translated row; UserError when APEX refuses them.
Deployment deployment_for(const Setup& s);
Plan plan_for(const Setup& s, const Deployment& d);
SyntheticSpec workload_for(const Setup& s);
// The APEX setup in words, e.g. "trtllm tp2 h100-sxm WFP8/KVFP8, 1000 × 128→128 at t=0".
std::string describe_setup(const Setup& s, const Deployment& d, const Plan& p);

// Mixture-of-experts model rows (reported apart: their kernels differ from the calibrated ones).
bool is_moe_row(const ServingRow& r);

}  // namespace apex::serving
