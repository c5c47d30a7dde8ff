// calib/op_rows.h — how a measured row maps to op arguments (internal to calib/), shared by the fit
// (fit.cpp) and the validation (validate.cpp), so that both compare the same rows the same way.
#pragma once

#include <optional>
#include <string>

#include "hw/hardware.h"
#include "perf/measurements.h"
#include "perf/params.h"

namespace apex::calib {

// nullopt: a weight format APEX does not model.
std::optional<GemmArgs> gemm_args(const GemmRow& r);
DType kv_of(const std::string& t);
PrefillAttnArgs prefill_args(const AttentionRow& r);
DecodeAttnArgs decode_args(const AttentionRow& r);
// `fp8` is the moe.csv dtype that stands for FP8 on this GPU (fp8_moe_flavour); the other FP8
// flavour is left out.
std::optional<MoeArgs> moe_args(const MoeRow& r, const std::string& fp8);

struct CommKey {
  Collective op;
  bool inter;
};

// nullopt: a collective or implementation not modelled, or rows known to be corrupted.
std::optional<CommKey> comm_key(const CommRow& r);
CommGroup comm_group(const Gpu& gpu, const CommRow& r);
std::string comm_kind(const CommKey& k);

}  // namespace apex::calib
