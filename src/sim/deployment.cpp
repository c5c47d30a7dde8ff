#include "sim/deployment.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/units.h"

namespace apex {

std::int64_t Deployment::effective_max_model_len() const {
  return max_model_len.value_or(model.max_positions);
}

void Deployment::validate() const {
  const Gpu& g = cluster.gpu;
  auto check = [&](DType t, std::string_view flag) {
    if (t == DType::INT4 && flag == "--weight-dtype") return;  // W4A16: dequantized to 16-bit math
    if (t == DType::FP32) return;
    if (!g.supports(t)) {
      std::vector<std::string> ok;
      for (const auto& n : dtype_names()) {
        if (g.supports(parse_dtype(n, flag))) ok.push_back(n);
      }
      throw UserError(fmt::format("{} {}: {} has no {} tensor-core support; supported: {}", flag,
                                  dtype_name(t), g.name, dtype_name(t), join(ok, ", ")));
    }
  };
  check(precision.weight, "--weight-dtype");
  check(precision.activation, "--activation-dtype");
  const DType a = precision.activation, w = precision.weight;
  if ((a == DType::FP8 || a == DType::INT8) && w != a) {
    throw UserError(
        fmt::format("--activation-dtype {} needs --weight-dtype {} (W8A8: both operands of the GEMM in 8 "
                    "bits); weight-only quantization keeps 16-bit activations",
                    dtype_name(a), dtype_name(a)));
  }
  if (a == DType::INT4 || a == DType::FP4) {
    throw UserError(
        fmt::format("--activation-dtype {}: 4-bit activations come with --weight-dtype fp4 (NVFP4); keep "
                    "--activation-dtype bf16",
                    dtype_name(a)));
  }
  if (precision.kv == DType::FP8 && !g.supports(DType::FP8) && g.name.find("a100") == std::string::npos) {
    // fp8 KV caches are stored in 8 bits and upcast in the attention kernel; vLLM allows them on
    // Ampere and newer. Older GPUs lack the kernels.
    throw UserError(fmt::format("--kv-dtype fp8: {} does not support an fp8 KV cache", g.name));
  }
  if (precision.kv == DType::INT4 || precision.kv == DType::FP4) {
    throw UserError(fmt::format("--kv-dtype {} is not supported by the serving engines; use fp8 or bf16",
                                dtype_name(precision.kv)));
  }
  if ((precision.activation == DType::BF16 || precision.weight == DType::BF16) && g.peak_bf16 <= 0) {
    throw UserError(
        fmt::format("{} has no bf16 support (compute capability < 8.0); pass --weight-dtype fp16 "
                    "--activation-dtype fp16 --kv-dtype fp16",
                    g.name));
  }
  if (concurrency < 0) {
    throw UserError(
        fmt::format("--concurrency must be a number of clients (0 = open arrivals), got {}", concurrency));
  }
  const std::int64_t mml = effective_max_model_len();
  if (mml < 1) {
    throw UserError(max_model_len
                        ? fmt::format("--max-model-len must be at least 1, got {}", mml)
                        : fmt::format("{}: the model's max_position_embeddings is {}; pass --max-model-len",
                                      model.name, model.max_positions));
  }
  if (mml > model.max_positions) {
    throw UserError(
        fmt::format("--max-model-len {} exceeds the model's context of {} tokens", mml, model.max_positions));
  }
  if (ttft_slo < 0 || tpot_slo < 0) throw UserError("SLOs must not be negative");
  if (expert_capacity_factor != 0 && !(expert_capacity_factor >= 1.0 && expert_capacity_factor <= 8.0)) {
    throw UserError(fmt::format("--expert-capacity-factor must be 0 (dropless) or between 1 and 8, got {}",
                                expert_capacity_factor));
  }
  if (!(expert_skew >= 0) || expert_skew > 3) {
    throw UserError(fmt::format("--expert-skew must be between 0 (balanced) and 3, got {}", expert_skew));
  }
}

std::shared_ptr<const OpModel> Deployment::op_model_ptr() const {
  if (ops) return ops;
  return make_analytical_ops(cluster.gpu);
}

EnginePolicy Deployment::engine_policy(const EngineOverrides& extra) const {
  return resolve_engine(engine, EngineContext{cluster.gpu, &model, effective_max_model_len()},
                        engine_overrides.merged_with(extra));
}

}  // namespace apex
