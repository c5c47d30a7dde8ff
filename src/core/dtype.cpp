#include "core/dtype.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace apex {

double dtype_bytes(DType t) {
  switch (t) {
    case DType::FP32:
      return 4;
    case DType::BF16:
      return 2;
    case DType::FP16:
      return 2;
    case DType::FP8:
      return 1;
    case DType::INT8:
      return 1;
    case DType::INT4:
      return 0.5;
    case DType::FP4:
      return 0.5;
  }
  return 2;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::FP32:
      return "fp32";
    case DType::BF16:
      return "bf16";
    case DType::FP16:
      return "fp16";
    case DType::FP8:
      return "fp8";
    case DType::INT8:
      return "int8";
    case DType::INT4:
      return "int4";
    case DType::FP4:
      return "fp4";
  }
  return "bf16";
}

const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> names = {"bf16", "fp16", "fp32", "fp8", "int8", "int4", "fp4"};
  return names;
}

DType parse_dtype(std::string_view text, std::string_view where) {
  const std::string t = to_lower(trim(text));
  if (t == "bf16" || t == "bfloat16") return DType::BF16;
  if (t == "fp16" || t == "float16" || t == "half") return DType::FP16;
  if (t == "fp32" || t == "float32" || t == "float") return DType::FP32;
  if (t == "fp8" || t == "fp8_e4m3" || t == "fp8_e5m2" || t == "float8") return DType::FP8;
  if (t == "int8" || t == "w8a8") return DType::INT8;
  if (t == "int4" || t == "w4a16" || t == "awq" || t == "gptq") return DType::INT4;
  if (t == "fp4" || t == "nvfp4" || t == "mxfp4") return DType::FP4;
  throw UserError(fmt::format("{}: {}", where, unknown_name_message("dtype", text, dtype_names())));
}

double weight_bytes_per_param(DType w) {
  if (w == DType::INT4) return 0.5 + 4.0 / 128.0;
  if (w == DType::FP4) return 0.5 + 1.0 / 16.0;
  return dtype_bytes(w);
}

DType gemm_math_dtype(DType weight, DType activation) {
  return weight == DType::FP8 || weight == DType::INT8 || weight == DType::FP4 ? weight : activation;
}

double activation_bytes(DType activation) {
  return dtype_bytes(activation == DType::FP32 ? DType::FP32 : DType::BF16);
}

}  // namespace apex
