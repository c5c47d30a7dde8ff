// perf/analytical.cpp — roofline × shape-dependent efficiency for every op.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "core/error.h"
#include "perf/params.h"

namespace apex {

std::string_view collective_name(Collective c) {
  switch (c) {
    case Collective::AllReduce:
      return "all_reduce";
    case Collective::AllGather:
      return "all_gather";
    case Collective::ReduceScatter:
      return "reduce_scatter";
    case Collective::AllToAll:
      return "all_to_all";
    case Collective::SendRecv:
      return "send_recv";
    case Collective::CustomAllReduce:
      return "custom_all_reduce";
  }
  return "?";
}

int gemm_class(DType weight) {
  switch (weight) {
    case DType::FP8:
      return 1;
    case DType::INT8:
      return 2;
    case DType::INT4:
      return 3;
    case DType::FP4:
      return 4;
    default:
      return 0;
  }
}

namespace {

inline double sat(double x, double half) {
  return x / (x + half);
}
// log2 for correction-grid coordinates (x >= 1): exponent from the bits, mantissa by a cubic
// (|error| < 0.005, far below the grid's unit spacing); ~5x faster than std::log2 on the hot path.
inline double lg(double x) {
  if (!(x > 1.0)) return 0.0;
  // x = m · 2^e with m in [0.5, 1), read from the bits (std::frexp's values for a finite x > 1).
  const auto bits = std::bit_cast<std::uint64_t>(x);
  const auto biased = static_cast<int>(bits >> 52);       // sign bit 0: x > 1
  if (biased == 0x7ff) return static_cast<double>(1024);  // infinity
  const int e = biased - 1022;
  const double m = std::bit_cast<double>((bits & 0x000fffffffffffffULL) | (std::uint64_t{1022} << 52));
  const double t = 2.0 * m - 1.0;  // in [0, 1): log2(1 + t) by a cubic fit
  return static_cast<double>(e - 1) + t * (1.4425449 + t * (-0.7181452 + t * 0.2753169));
}

class AnalyticalOps final : public OpModel {
 public:
  AnalyticalOps(const Gpu& gpu, OpParams p) : gpu_(gpu), p_(std::move(p)) {}

  std::string name() const override { return fmt::format("analytical ({})", p_.source); }

  double gemm(const GemmArgs& a) const override {
    if (a.m <= 0 || a.n <= 0 || a.k <= 0) return 0.0;
    const GemmFit& f = p_.gemm[static_cast<std::size_t>(gemm_class(a.weight))];
    // Which tensor-core peak applies: W8A8/FP8 run 8-bit math; weight-only int4 (W4A16)
    // dequantizes to the activation dtype and runs 16-bit math.
    const DType math = gemm_math_dtype(a.weight, a.activation);
    double peak = gpu_.peak_flops(math);
    if (peak <= 0) peak = gpu_.peak_flops(DType::FP16);
    const auto m = static_cast<double>(a.m), n = static_cast<double>(a.n), k = static_cast<double>(a.k);
    const double flops = 2.0 * m * n * k;
    const double eff = f.e_max * sat(m, f.m_half) * sat(n, f.n_half) * sat(k, f.k_half);
    const double ab = activation_bytes(a.activation);
    const double bytes = m * k * ab + n * k * dtype_bytes(a.weight) + m * n * ab;
    double t = f.t0 + std::max(flops / (peak * eff), bytes / (gpu_.hbm_bandwidth * f.mem_eff));
    if (a.weight == DType::INT4) {
      // W4A16 (Marlin-style): every weight is dequantized to 16 bits on CUDA cores before the
      // tensor-core math, a few operations per weight per call.
      const double cuda_core = gpu_.peak_fp32 > 0 ? gpu_.peak_fp32 : peak / 16;
      t += 4.0 * n * k / cuda_core;
    }
    const Correction& c = p_.gemm_correction[static_cast<std::size_t>(gemm_class(a.weight))];
    if (c.empty()) return t;
    const double at[3] = {lg(m), lg(n), lg(k)};
    // The correction follows the measurements, but never past the roofline.
    return std::max({t * c.factor(at), flops / peak, bytes / gpu_.hbm_bandwidth});
  }

  double attention_prefill(const PrefillAttnArgs& a) const override {
    if (a.seqs <= 0 || a.tokens <= 0) return 0.0;
    const PrefillFit& f = p_.prefill;
    const double flops = 4.0 * static_cast<double>(a.heads * a.head_dim) * a.pairs;
    const double avg_q = static_cast<double>(a.tokens) / static_cast<double>(a.seqs);
    const double par = static_cast<double>(a.heads * a.seqs);
    const double eff = f.e_max * sat(avg_q, f.q_half) * sat(par, f.par_half);
    const double kv_bytes =
        static_cast<double>(a.kv_tokens * a.kv_heads * a.head_dim) * 2.0 * dtype_bytes(a.kv);
    double peak = gpu_.peak_flops(DType::BF16);
    if (peak <= 0) peak = gpu_.peak_flops(DType::FP16);  // V100: fp16 tensor cores only
    const double t = f.t0 + std::max(flops / (peak * eff), kv_bytes / (gpu_.hbm_bandwidth * 0.8));
    const Correction& c = p_.prefill_correction[a.kv == DType::FP8 ? 1 : 0];
    if (c.empty()) return t;
    const double at[4] = {lg(avg_q), lg(par),
                          lg(static_cast<double>(a.heads) / static_cast<double>(a.kv_heads)),
                          lg(static_cast<double>(a.head_dim))};
    return std::max({t * c.factor(at), flops / peak, kv_bytes / gpu_.hbm_bandwidth});
  }

  std::unique_ptr<const DecodeAttnPricer> decode_attention_pricer(const DecodeAttnArgs& shape) const override;

  double attention_decode(const DecodeAttnArgs& a) const override {
    if (a.seqs <= 0) return 0.0;
    const DecodeFit& f = p_.decode;
    const double kv_bytes = static_cast<double>(a.kv_tokens * a.kv_heads * a.head_dim) *
                            (a.latent ? 1.0 : 2.0) * dtype_bytes(a.kv);
    const double par = static_cast<double>(a.kv_tokens * a.kv_heads);
    // Never faster than the math: q·k and p·v for every head over every key.
    double peak = gpu_.peak_flops(DType::BF16);
    if (peak <= 0) peak = gpu_.peak_flops(DType::FP16);
    const double flops_floor =
        4.0 * static_cast<double>(a.heads * a.head_dim) * static_cast<double>(a.kv_tokens) / peak;
    const double t = f.t0 + f.t_seq * static_cast<double>(a.seqs) +
                     kv_bytes / (gpu_.hbm_bandwidth * f.mem_eff * sat(par, f.par_half));
    const Correction& c = p_.decode_correction[a.kv == DType::FP8 ? 1 : 0];
    if (c.empty() || a.latent) return std::max(t, flops_floor);  // no measured MLA kernels: the base model
    const double ctx = static_cast<double>(a.kv_tokens) / static_cast<double>(a.seqs);
    const double at[4] = {lg(static_cast<double>(a.seqs)), lg(ctx),
                          lg(static_cast<double>(a.heads) / static_cast<double>(a.kv_heads)),
                          lg(static_cast<double>(a.head_dim))};
    return std::max({t * c.factor(at), kv_bytes / gpu_.hbm_bandwidth, flops_floor});
  }

  double collective(Collective op, double bytes, const CommGroup& g) const override {
    if (g.gpus <= 1 || bytes <= 0) return 0.0;
    const auto idx = static_cast<std::size_t>(op);
    const bool multi_node = g.nodes > 1;
    const CommFit& f = multi_node ? p_.inter[idx] : p_.intra[idx];
    const double n = g.gpus;
    double wire = 0;  // bytes each GPU sends over its bottleneck link
    switch (op) {
      case Collective::AllReduce:
      case Collective::CustomAllReduce:
        wire = 2.0 * (n - 1) / n * bytes;
        break;
      case Collective::AllGather:
      case Collective::ReduceScatter:
      case Collective::AllToAll:
        wire = (n - 1) / n * bytes;
        break;
      case Collective::SendRecv:
        wire = bytes;
        break;
    }
    const double link_bw = multi_node ? g.inter.bandwidth : g.intra.bandwidth;
    const double latency = multi_node ? g.inter.latency : 0.0;
    const double t = f.a0 + f.a1 * n + latency + wire / (link_bw * f.bw_eff * sat(bytes, f.b_half));
    const Correction& c = multi_node ? p_.inter_correction[idx] : p_.intra_correction[idx];
    if (c.empty()) return t;
    const double at[2] = {lg(bytes), lg(n)};
    return t * c.factor(at);
  }

  double elementwise(double bytes) const override {
    if (bytes <= 0) return 0.0;
    return p_.elementwise.t0 + bytes / (gpu_.hbm_bandwidth * p_.elementwise.mem_eff);
  }

  double moe(const MoeArgs& a) const override {
    if (a.tokens <= 0 || a.experts <= 0 || a.topk <= 0) return 0.0;
    const auto cls = static_cast<std::size_t>(gemm_class(a.weight));
    const MoeFit& f = p_.moe[cls];
    const DType math = gemm_math_dtype(a.weight, a.activation);
    double peak = gpu_.peak_flops(math);
    if (peak <= 0) peak = gpu_.peak_flops(DType::FP16);
    const double local_experts = static_cast<double>(a.experts) / a.ep;
    const double width = static_cast<double>(a.inter) / a.tp;
    const auto h = static_cast<double>(a.hidden);
    // Token-expert pairs landing on this rank, and the local experts that receive at least one.
    double pairs = static_cast<double>(a.tokens * a.topk) / a.ep;
    if (a.capacity_factor > 0) pairs *= a.capacity_factor;  // padded expert buffers
    const double p_hit =
        1.0 - std::pow(1.0 - 1.0 / static_cast<double>(a.experts), static_cast<double>(a.tokens * a.topk));
    const double active =
        a.dealt_in_turn ? std::clamp(pairs, 1.0, local_experts) : std::max(1.0, local_experts * p_hit);
    const double per_expert = pairs / active;
    const double mats = a.gated ? 3.0 : 2.0;
    const double flops = 2.0 * pairs * mats * h * width;
    const double bytes = active * mats * h * width * dtype_bytes(a.weight) + 2.0 * pairs * h * 2.0;
    const double expert_bytes = mats * h * width * dtype_bytes(a.weight);
    const double stream = f.expert_bytes_half > 0 ? expert_bytes / (expert_bytes + f.expert_bytes_half) : 1.0;
    const double wide = f.width_half > 0 ? sat(width, f.width_half) : 1.0;
    const double t = f.t0 + std::max(flops / (peak * f.e_max * wide * sat(per_expert, f.m_half)),
                                     bytes / (gpu_.hbm_bandwidth * f.mem_eff * stream *
                                              (a.ep > 1 && a.ep_masked ? f.ep_mem_eff : 1.0)));
    const Correction& c = p_.moe_correction[cls];
    if (c.empty()) return t;
    const std::array<double, 4> at = moe_correction_coords(a);
    return std::max({t * c.factor(at.data()), flops / peak, bytes / gpu_.hbm_bandwidth});
  }

 private:
  Gpu gpu_;
  OpParams p_;
};

// attention_decode for one layer shape: the same expressions, evaluated in the same order, with
// the shape's terms (bytes per key, the math floor's rate, the correction's head-ratio and
// head-size coordinates) worked out once.
// Corner `corner` (bit j: the upper node of moving dimension j) of a cell: its weight, the
// fractions multiplied in dimension order, with its node offset added to `idx`.
double corner_weight(std::size_t corner, std::size_t n_moving, const std::size_t* moving, const double* frac,
                     std::size_t& idx) {
  double w = 1;
  for (std::size_t j = 0; j < n_moving; ++j) {
    if ((corner >> j) & 1U) {
      w *= frac[j];
      idx += moving[j];
    } else {
      w *= 1.0 - frac[j];
    }
  }
  return w;
}

// Multilinear interpolation over the moving dimensions (in dimension order): corner bit j picks
// node + 1 of moving dimension j, its weight the product of frac or 1 - frac in that order.
[[gnu::always_inline]] inline double interpolate(const float* factor, const float* log_factor,
                                                 std::size_t base, std::size_t n_moving,
                                                 const std::size_t* moving, const double* frac) {
  const auto at = [&](std::size_t idx) {
    return factor != nullptr ? static_cast<double>(factor[idx])
                             : std::exp(static_cast<double>(log_factor[idx]));
  };
  // The common cases unrolled: the same products and sums as the loop below, in its order.
  if (n_moving == 0) return 1.0 * at(base);
  if (n_moving == 1) return (1.0 - frac[0]) * at(base) + frac[0] * at(base + moving[0]);
  if (n_moving == 2) {
    const double a0 = 1.0 - frac[0], b0 = 1.0 - frac[1];
    return a0 * b0 * at(base) + frac[0] * b0 * at(base + moving[0]) + a0 * frac[1] * at(base + moving[1]) +
           frac[0] * frac[1] * at(base + moving[0] + moving[1]);
  }
  const std::size_t n = std::size_t{1} << n_moving;
  double v = 0;
  for (std::size_t corner = 0; corner < n; ++corner) {
    std::size_t idx = base;
    const double w = corner_weight(corner, n_moving, moving, frac, idx);
    v += w * (factor != nullptr ? static_cast<double>(factor[idx])
                                : std::exp(static_cast<double>(log_factor[idx])));
  }
  return v;
}

// Correction::axis, inline for the decode pricer's hot path.
[[gnu::always_inline]] inline Correction::Axis place(const Correction& c, std::size_t d, double coord) {
  const double pos = std::clamp(coord - c.lo[d], 0.0, static_cast<double>(c.size[d] - 1));
  Correction::Axis a{static_cast<std::size_t>(pos), 0.0};
  a.frac = pos - static_cast<double>(a.node);
  if (a.node + 1 >= static_cast<std::size_t>(c.size[d])) {
    a.node = static_cast<std::size_t>(c.size[d] - 1);
    a.frac = 0;
  }
  return a;
}

// Correction::factor(first, second, tail), inline for the decode pricer's hot path.
[[gnu::always_inline]] inline double factor_at(const Correction& c, const Correction::Axis& first,
                                               double second, const Correction::Tail& t) {
  if (c.log_factor.empty()) return 1.0;
  APEX_ASSERT(t.head == 2, "Correction::factor(first, second, tail) needs a tail with two free dimensions");
  std::size_t moving[4];
  double frac[4];
  std::size_t n_moving = 0;
  std::size_t base = t.base + first.node * t.stride[0];
  if (first.frac > 0) {
    moving[n_moving] = t.stride[0];
    frac[n_moving++] = first.frac;
  }
  const Correction::Axis a = place(c, 1, second);
  base += a.node * t.stride[1];
  if (a.frac > 0) {
    moving[n_moving] = t.stride[1];
    frac[n_moving++] = a.frac;
  }
  for (std::size_t j = 0; j < t.n_moving; ++j) {
    moving[n_moving] = t.moving[j];
    frac[n_moving++] = t.frac[j];
  }
  const std::vector<float>& prepared = c.prepared();
  return interpolate(prepared.size() == c.log_factor.size() ? prepared.data() : nullptr, c.log_factor.data(),
                     base, n_moving, moving, frac);
}

class AnalyticalDecodePricer final : public DecodeAttnPricer {
 public:
  AnalyticalDecodePricer(const Gpu& gpu, const OpParams& p, const DecodeAttnArgs& a)
      : fit_(p.decode),
        hbm_(gpu.hbm_bandwidth),
        kv_heads_(a.kv_heads),
        kv_width_(a.kv_heads * a.head_dim),
        latent_(a.latent),
        bytes_per_key_(a.latent ? 1.0 : 2.0),
        kv_dtype_bytes_(dtype_bytes(a.kv)),
        math_(4.0 * static_cast<double>(a.heads * a.head_dim)) {
    peak_ = gpu.peak_flops(DType::BF16);
    if (peak_ <= 0) peak_ = gpu.peak_flops(DType::FP16);
    correction_ = &p.decode_correction[a.kv == DType::FP8 ? 1 : 0];
    const double shape_coords[2] = {lg(static_cast<double>(a.heads) / static_cast<double>(a.kv_heads)),
                                    lg(static_cast<double>(a.head_dim))};
    tail_ = correction_->tail(2, shape_coords);
  }

  double price(std::int64_t seqs, std::int64_t kv_tokens) const override {
    if (seqs <= 0) return 0.0;
    const double kv_bytes = static_cast<double>(kv_tokens * kv_width_) * bytes_per_key_ * kv_dtype_bytes_;
    const double par = static_cast<double>(kv_tokens * kv_heads_);
    const double flops_floor = math_ * static_cast<double>(kv_tokens) / peak_;
    const double t = fit_.t0 + fit_.t_seq * static_cast<double>(seqs) +
                     kv_bytes / (hbm_ * fit_.mem_eff * sat(par, fit_.par_half));
    if (correction_->empty() || latent_) return std::max(t, flops_floor);
    const double ctx = static_cast<double>(kv_tokens) / static_cast<double>(seqs);
    double factor = 0;
    if (tail_.head == 2) {
      // The sequences' coordinate once per count (a decode stretch keeps its count).
      const auto n = static_cast<std::size_t>(seqs);
      if (n >= seqs_axis_.size() && n < 65536) seqs_axis_.resize(n + 1);
      if (n < seqs_axis_.size()) {
        SeqsAxis& known = seqs_axis_[n];
        if (!known.set) known = {true, correction_->axis(0, lg(static_cast<double>(seqs)))};
        factor = factor_at(*correction_, known.axis, lg(ctx), tail_);
      } else {
        factor = correction_->factor(correction_->axis(0, lg(static_cast<double>(seqs))), lg(ctx), tail_);
      }
    } else {
      const double at[2] = {lg(static_cast<double>(seqs)), lg(ctx)};
      factor = correction_->factor(at, tail_);
    }
    return std::max({t * factor, kv_bytes / hbm_, flops_floor});
  }

 private:
  DecodeFit fit_;
  double hbm_;
  std::int64_t kv_heads_, kv_width_;
  bool latent_;
  double bytes_per_key_, kv_dtype_bytes_, math_;
  double peak_ = 0;
  const Correction* correction_ = nullptr;  // owned by the AnalyticalOps that made this pricer
  Correction::Tail tail_;
  struct SeqsAxis {
    bool set = false;
    Correction::Axis axis;
  };
  mutable std::vector<SeqsAxis> seqs_axis_;  // [seqs]
};

std::unique_ptr<const DecodeAttnPricer> AnalyticalOps::decode_attention_pricer(
    const DecodeAttnArgs& shape) const {
  return std::make_unique<AnalyticalDecodePricer>(gpu_, p_, shape);
}

}  // namespace

Correction::Axis Correction::axis(std::size_t d, double coord) const {
  return place(*this, d, coord);
}

std::size_t Correction::corners(const double* x, std::size_t* nodes, double* weights) const {
  const std::size_t dims = size.size();
  // Multilinear interpolation; dimensions that sit exactly on a node contribute one corner.
  std::size_t stride[4] = {1, 1, 1, 1};
  for (std::size_t d = dims; d-- > 1;)
    stride[d - 1] = stride[d] * static_cast<std::size_t>(size[d]);
  std::size_t base_index = 0;
  std::size_t moving[4];
  double frac[4];
  std::size_t n_moving = 0;
  for (std::size_t d = 0; d < dims; ++d) {
    const Axis a = axis(d, x[d]);
    base_index += a.node * stride[d];
    if (a.frac > 0) {
      moving[n_moving] = stride[d];
      frac[n_moving] = a.frac;
      ++n_moving;
    }
  }
  const std::size_t n = std::size_t{1} << n_moving;
  for (std::size_t corner = 0; corner < n; ++corner) {
    std::size_t idx = base_index;
    weights[corner] = corner_weight(corner, n_moving, moving, frac, idx);
    nodes[corner] = idx;
  }
  return n;
}

double Correction::factor(const double* x) const {
  return factor(x, tail(size.size(), nullptr));
}

double Correction::factor(const Axis& first, double second, const Tail& t) const {
  return factor_at(*this, first, second, t);
}

Correction::Tail Correction::tail(std::size_t head, const double* tail_coords) const {
  Tail t;
  const std::size_t dims = size.size();
  t.head = std::min(head, dims);
  if (dims == 0) return t;
  t.stride[dims - 1] = 1;
  for (std::size_t d = dims - 1; d-- > 0;)
    t.stride[d] = t.stride[d + 1] * static_cast<std::size_t>(size[d + 1]);
  for (std::size_t d = t.head; d < dims; ++d) {
    const Axis a = axis(d, tail_coords[d - t.head]);
    t.base += a.node * t.stride[d];
    if (a.frac > 0) {
      t.moving[t.n_moving] = t.stride[d];
      t.frac[t.n_moving] = a.frac;
      ++t.n_moving;
    }
  }
  return t;
}

double Correction::factor(const double* head_coords, const Tail& t) const {
  if (log_factor.empty()) return 1.0;
  std::size_t moving[4];
  double frac[4];
  std::size_t n_moving = 0;
  std::size_t base = t.base;
  for (std::size_t d = 0; d < t.head; ++d) {
    const Axis a = axis(d, head_coords[d]);
    base += a.node * t.stride[d];
    if (a.frac > 0) {
      moving[n_moving] = t.stride[d];
      frac[n_moving] = a.frac;
      ++n_moving;
    }
  }
  for (std::size_t j = 0; j < t.n_moving; ++j) {
    moving[n_moving] = t.moving[j];
    frac[n_moving] = t.frac[j];
    ++n_moving;
  }
  const bool prepared = factor_.size() == log_factor.size();
  return interpolate(prepared ? factor_.data() : nullptr, log_factor.data(), base, n_moving, moving, frac);
}

std::array<double, 4> moe_correction_coords(const MoeArgs& a) {
  const double skew_class = a.skew <= 0      ? 0.0
                            : a.skew <= 1.01 ? a.skew / 1.01
                                             : 1.0 + std::min(1.0, (a.skew - 1.01) / 0.19);
  return {lg(std::max(1.0, static_cast<double>(a.tokens * a.topk) / a.ep)),
          lg(std::max(1.0, static_cast<double>(a.experts) / a.ep)),
          lg(static_cast<double>(a.hidden) * static_cast<double>(a.inter) / a.tp),
          skew_class + (a.ep > 1 && a.ep_masked ? 3.0 : 0.0)};
}

std::unique_ptr<OpModel> make_analytical_ops(const Gpu& gpu, const OpParams& params) {
  OpParams p = params;
  prepare_corrections(p);
  return std::make_unique<AnalyticalOps>(gpu, std::move(p));
}

std::unique_ptr<OpModel> make_analytical_ops(const Gpu& gpu) {
  if (auto p = shipped_params(gpu.calibration_key)) return make_analytical_ops(gpu, *p);
  return make_analytical_ops(gpu, OpParams{});
}

}  // namespace apex
