// perf/analytical.cpp — roofline × shape-dependent efficiency for every op.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "perf/params.h"

namespace apex {

std::string_view collective_name(Collective c) {
  switch (c) {
    case Collective::AllReduce: return "all_reduce";
    case Collective::AllGather: return "all_gather";
    case Collective::ReduceScatter: return "reduce_scatter";
    case Collective::AllToAll: return "all_to_all";
    case Collective::SendRecv: return "send_recv";
  }
  return "?";
}

int gemm_class(DType weight) {
  switch (weight) {
    case DType::FP8: return 1;
    case DType::INT8: return 2;
    case DType::INT4: return 3;
    default: return 0;
  }
}

namespace {

inline double sat(double x, double half) { return x / (x + half); }

class AnalyticalOps final : public OpModel {
 public:
  AnalyticalOps(const Gpu& gpu, OpParams p) : gpu_(gpu), p_(std::move(p)) {}

  std::string name() const override { return fmt::format("analytical ({})", p_.source); }

  double gemm(const GemmArgs& a) const override {
    if (a.m <= 0 || a.n <= 0 || a.k <= 0) return 0.0;
    const GemmFit& f = p_.gemm[static_cast<std::size_t>(gemm_class(a.weight))];
    // Which tensor-core peak applies: W8A8/FP8 run 8-bit math; weight-only int4 (W4A16)
    // dequantizes to the activation dtype and runs 16-bit math.
    DType math = a.activation;
    if (a.weight == DType::FP8 || a.weight == DType::INT8) math = a.weight;
    double peak = gpu_.peak_flops(math);
    if (peak <= 0) peak = gpu_.peak_flops(DType::FP16);
    const auto m = static_cast<double>(a.m), n = static_cast<double>(a.n), k = static_cast<double>(a.k);
    const double flops = 2.0 * m * n * k;
    const double eff = f.e_max * sat(m, f.m_half) * sat(n, f.n_half) * sat(k, f.k_half);
    const double ab = dtype_bytes(a.activation == DType::FP32 ? DType::FP32 : DType::BF16);
    const double bytes = m * k * ab + n * k * dtype_bytes(a.weight) + m * n * ab;
    return f.t0 + std::max(flops / (peak * eff), bytes / (gpu_.hbm_bandwidth * f.mem_eff));
  }

  double attention_prefill(const PrefillAttnArgs& a) const override {
    if (a.seqs <= 0 || a.tokens <= 0) return 0.0;
    const PrefillFit& f = p_.prefill;
    const double flops = 4.0 * static_cast<double>(a.heads * a.head_dim) * a.pairs;
    const double avg_q = static_cast<double>(a.tokens) / static_cast<double>(a.seqs);
    const double par = static_cast<double>(a.heads * a.seqs);
    const double eff = f.e_max * sat(avg_q, f.q_half) * sat(par, f.par_half);
    const double kv_bytes = static_cast<double>(a.kv_tokens * a.kv_heads * a.head_dim) * 2.0 * dtype_bytes(a.kv);
    double peak = gpu_.peak_flops(DType::BF16);
    if (peak <= 0) peak = gpu_.peak_flops(DType::FP16);  // V100: fp16 tensor cores only
    return f.t0 + std::max(flops / (peak * eff), kv_bytes / (gpu_.hbm_bandwidth * 0.8));
  }

  double attention_decode(const DecodeAttnArgs& a) const override {
    if (a.seqs <= 0) return 0.0;
    const DecodeFit& f = p_.decode;
    const double kv_bytes = static_cast<double>(a.kv_tokens * a.kv_heads * a.head_dim) * 2.0 * dtype_bytes(a.kv);
    const double par = static_cast<double>(a.kv_tokens * a.kv_heads);
    return f.t0 + f.t_seq * static_cast<double>(a.seqs) +
           kv_bytes / (gpu_.hbm_bandwidth * f.mem_eff * sat(par, f.par_half));
  }

  double collective(Collective op, double bytes, const CommGroup& g) const override {
    if (g.gpus <= 1 || bytes <= 0) return 0.0;
    const auto idx = static_cast<std::size_t>(op);
    const bool multi_node = g.nodes > 1;
    const CommFit& f = multi_node ? p_.inter[idx] : p_.intra[idx];
    const double n = g.gpus;
    double wire = 0;  // bytes each GPU sends over its bottleneck link
    switch (op) {
      case Collective::AllReduce: wire = 2.0 * (n - 1) / n * bytes; break;
      case Collective::AllGather:
      case Collective::ReduceScatter:
      case Collective::AllToAll: wire = (n - 1) / n * bytes; break;
      case Collective::SendRecv: wire = bytes; break;
    }
    const double link_bw = multi_node ? g.inter.bandwidth : g.intra.bandwidth;
    const double latency = multi_node ? g.inter.latency : 0.0;
    return f.a0 + f.a1 * n + latency + wire / (link_bw * f.bw_eff * sat(bytes, f.b_half));
  }

  double elementwise(double bytes) const override {
    if (bytes <= 0) return 0.0;
    return p_.elementwise.t0 + bytes / (gpu_.hbm_bandwidth * p_.elementwise.mem_eff);
  }

 private:
  Gpu gpu_;
  OpParams p_;
};

}  // namespace

std::unique_ptr<OpModel> make_analytical_ops(const Gpu& gpu, const OpParams& params) {
  return std::make_unique<AnalyticalOps>(gpu, params);
}

std::unique_ptr<OpModel> make_analytical_ops(const Gpu& gpu) {
  if (auto p = shipped_params(gpu.calibration_key)) return make_analytical_ops(gpu, *p);
  return make_analytical_ops(gpu, OpParams{});
}

}  // namespace apex
