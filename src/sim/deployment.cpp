#include "sim/deployment.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "core/units.h"

namespace apex {

std::int64_t Deployment::effective_max_model_len() const {
  return max_model_len.value_or(model.max_positions);
}

void Deployment::validate() const {
  const Gpu& g = cluster.gpu;
  auto check = [&](DType t, std::string_view flag) {
    if (t == DType::INT4 && flag == opt("weight_dtype")) return;  // W4A16: dequantized to 16-bit math
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
  check(precision.weight, opt("weight_dtype"));
  check(precision.activation, opt("activation_dtype"));
  const DType a = precision.activation, w = precision.weight;
  if ((a == DType::FP8 || a == DType::INT8) && w != a) {
    throw UserError(
        fmt::format("{} {} needs {} {} (W8A8: both operands of the GEMM in 8 bits); weight-only quantization "
                    "keeps 16-bit activations",
                    opt("activation_dtype"), dtype_name(a), opt("weight_dtype"), dtype_name(a)));
  }
  if (a == DType::INT4 || a == DType::FP4) {
    throw UserError(fmt::format("{} {}: 4-bit activations come with {} fp4 (NVFP4); keep {} bf16",
                                opt("activation_dtype"), dtype_name(a), opt("weight_dtype"),
                                opt("activation_dtype")));
  }
  if (precision.kv == DType::FP8 && !g.supports(DType::FP8) && g.name.find("a100") == std::string::npos) {
    // fp8 KV caches are stored in 8 bits and upcast in the attention kernel; vLLM allows them on
    // Ampere and newer. Older GPUs lack the kernels.
    throw UserError(fmt::format("{} fp8: {} does not support an fp8 KV cache", opt("kv_dtype"), g.name));
  }
  if (precision.kv == DType::INT4 || precision.kv == DType::FP4) {
    throw UserError(fmt::format("{} {} is not supported by the serving engines; use fp8 or bf16",
                                opt("kv_dtype"), dtype_name(precision.kv)));
  }
  if ((precision.activation == DType::BF16 || precision.weight == DType::BF16) && g.peak_bf16 <= 0) {
    throw UserError(
        fmt::format("{} has no bf16 support (compute capability < 8.0); pass {} fp16 {} fp16 {} fp16", g.name,
                    opt("weight_dtype"), opt("activation_dtype"), opt("kv_dtype")));
  }
  if (concurrency < 0) {
    throw UserError(fmt::format("{} must be a number of clients (0 = open arrivals), got {}",
                                opt("concurrency"), concurrency));
  }
  const std::int64_t mml = effective_max_model_len();
  if (mml < 1) {
    throw UserError(max_model_len ? fmt::format("{} must be at least 1, got {}", opt("max_model_len"), mml)
                                  : fmt::format("{}: the model's max_position_embeddings is {}; pass {}",
                                                model.name, model.max_positions, opt("max_model_len")));
  }
  if (mml > model.max_positions) {
    throw UserError(fmt::format("{} {} exceeds the model's context of {} tokens", opt("max_model_len"), mml,
                                model.max_positions));
  }
  if (ttft_slo < 0 || tpot_slo < 0) throw UserError("SLOs must not be negative");
  if (expert_capacity_factor != 0 && !(expert_capacity_factor >= 1.0 && expert_capacity_factor <= 8.0)) {
    throw UserError(fmt::format("{} must be 0 (dropless) or between 1 and 8, got {}",
                                opt("expert_capacity_factor"), expert_capacity_factor));
  }
  if (!(expert_skew >= 0) || expert_skew > 3) {
    throw UserError(
        fmt::format("{} must be between 0 (balanced) and 3, got {}", opt("expert_skew"), expert_skew));
  }
  if (!model.is_moe() && (expert_skew != 0 || expert_capacity_factor != 0)) {
    throw UserError(
        fmt::format("{} {} describes the experts of a mixture-of-experts model, but {} is dense; "
                    "drop it",
                    expert_skew != 0 ? opt("expert_skew") : opt("expert_capacity_factor"),
                    expert_skew != 0 ? expert_skew : expert_capacity_factor, model.name));
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
