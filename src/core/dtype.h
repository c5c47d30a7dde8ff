// core/dtype.h — numeric formats of weights, activations and the KV cache.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace apex {

// INT4 = weight-only 4-bit (W4A16: AWQ/GPTQ, dequantized to 16-bit math); FP4 = NVFP4 weights and
// activations with FP4 tensor-core math (Blackwell).
enum class DType : std::uint8_t { FP32, BF16, FP16, FP8, INT8, INT4, FP4 };

double dtype_bytes(DType t);  // bytes per element (int4 = 0.5)
// Bytes per stored weight parameter: quantized formats carry group scales (int4: one fp16 scale +
// zero per 128 weights, as AWQ/GPTQ group size 128; NVFP4: one fp8 scale per 16 values).
double weight_bytes_per_param(DType weight);
// The math a GEMM with these operands runs in: W8A8/FP8/FP4 run 8-/4-bit tensor-core math;
// weight-only int4 (W4A16) dequantizes to the activation dtype.
DType gemm_math_dtype(DType weight, DType activation);
// Bytes of one activation element as engines keep them: fp32 stays fp32, everything else 16-bit.
double activation_bytes(DType activation);
std::string_view dtype_name(DType t);
const std::vector<std::string>& dtype_names();
// "bf16", "bfloat16", "float16", "fp8", "fp8_e4m3", "int8", "int4", "fp32"... UserError otherwise,
// naming `where` (e.g. "--kv-dtype" or "config.json: torch_dtype").
DType parse_dtype(std::string_view text, std::string_view where);

}  // namespace apex
