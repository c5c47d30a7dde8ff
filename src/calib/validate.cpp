// calib/validate.cpp — any op backend against the measured tables: per op kind, the median, p90
// and mean signed error over every row it covers; rows not modelled are counted apart.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "calib/calib.h"
#include "calib/op_rows.h"
#include "core/stats.h"

namespace apex {
namespace {

struct ErrorAcc {
  std::vector<double> abs;
  double signed_sum = 0;
  void add(double model, double measured) {
    const double e = model / measured - 1.0;
    abs.push_back(std::fabs(e));
    signed_sum += e;
  }
  OpError finish(std::string kind) {
    OpError o;
    o.kind = std::move(kind);
    o.rows = abs.size();
    if (abs.empty()) return o;
    o.mean_signed = signed_sum / static_cast<double>(abs.size());
    std::sort(abs.begin(), abs.end());
    o.median = percentile_sorted(abs, 0.5);
    o.p90 = percentile_sorted(abs, 0.9);
    return o;
  }
};

}  // namespace

using namespace calib;  // the row -> op-argument mapping shared with fit.cpp

ValidationReport validate_ops(const OpModel& ops, const Gpu& gpu, const MeasurementSet& m) {
  ValidationReport rep;
  rep.gpu = gpu.name;
  std::map<std::string, ErrorAcc> acc;
  std::map<std::string, std::size_t> skipped;
  for (const auto& r : m.gemm) {
    auto a = gemm_args(r);
    if (!a) {
      ++skipped["gemm " + r.dtype];
      continue;
    }
    acc["gemm " + std::string(dtype_name(a->weight))].add(ops.gemm(*a), r.us * 1e-6);
  }
  // Sliding-window rows are reported apart: their kernels are not what full attention costs.
  for (const auto& r : m.prefill) {
    acc[r.window > 0 ? "attention_prefill (sliding window)" : "attention_prefill"].add(
        ops.attention_prefill(prefill_args(r)), r.us * 1e-6);
  }
  for (const auto& r : m.decode) {
    acc[r.window > 0 ? "attention_decode (sliding window)" : "attention_decode"].add(
        ops.attention_decode(decode_args(r)), r.us * 1e-6);
  }
  for (const auto& r : m.comm) {
    auto k = comm_key(r);
    if (!k) {
      ++skipped[fmt::format("{} {} ({})", r.op, r.impl, r.source)];
      continue;
    }
    acc[comm_kind(*k)].add(ops.collective(k->op, r.bytes, comm_group(gpu, r)), r.us * 1e-6);
  }
  const std::string fp8 = fp8_moe_flavour(m.moe);
  for (const auto& r : m.moe) {
    auto a = moe_args(r, fp8);
    if (!a) {
      ++skipped["moe " + r.dtype];
      continue;
    }
    acc["moe " + std::string(dtype_name(a->weight))].add(ops.moe(*a), r.us * 1e-6);
  }
  for (auto& [kind, a] : acc)
    rep.ops.push_back(a.finish(kind));
  for (const auto& [what, n] : skipped)
    rep.skipped.push_back(fmt::format("{} rows of {}", n, what));
  return rep;
}

}  // namespace apex
