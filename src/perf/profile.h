// perf/profile.h — the measured-profile op backend (`--perf profile --profile-dir DIR`).
//
// Kernel times come straight from measured tables in the shared CSV format (docs/profile-format.md),
// interpolated linearly in log(latency) over log(coordinates): GEMM over (m, n, k) per dtype,
// attention over (batch, length, heads, kv_heads) per (head_dim, KV dtype), collectives over
// (GPUs, bytes) per op and intra/inter-node. A query outside the table is a UserError naming the op
// and shape, unless `analytical_fallback` is set. Elementwise kernels are always analytical.
#pragma once

#include <memory>
#include <string>

#include "perf/measurements.h"
#include "perf/ops.h"

namespace apex {

std::unique_ptr<OpModel> make_profile_ops(const Gpu& gpu, const std::string& dir, bool analytical_fallback);

}  // namespace apex
