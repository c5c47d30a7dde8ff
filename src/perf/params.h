// perf/params.h — parameters of the analytical op model. Defaults are generic; fitted values per
// GPU ship in data/calibration/<key>.json (see docs/calibration.md) and are compiled in.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "perf/ops.h"

namespace apex {

// GEMM: t = t0 + max(F / (peak · e), B / (bw · mem_eff)), e = e_max · σ(m) · σ(n) · σ(k),
// σ(x) = x / (x + x_half): small dimensions under-fill the tiles and the SMs.
struct GemmFit {
  double t0 = 4e-6;
  double e_max = 0.80;
  double m_half = 48, n_half = 64, k_half = 64;
  double mem_eff = 0.80;
};

// Prefill attention: t = t0 + F / (peak · e_max · σ(avg_q; q_half) · σ(heads·seqs; par_half)).
struct PrefillFit {
  double t0 = 8e-6;
  double e_max = 0.60;
  double q_half = 256;
  double par_half = 8;
};

// Decode attention: t = t0 + t_seq · seqs + bytes / (bw · mem_eff · σ(kv_tokens · kv_heads; par_half)).
struct DecodeFit {
  double t0 = 8e-6;
  double t_seq = 0.02e-6;
  double mem_eff = 0.85;
  double par_half = 16384;
};

// Collectives: t = a0 + a1 · gpus + wire_bytes / (link_bw · bw_eff · σ(bytes; b_half)),
// wire_bytes = the algorithm's per-GPU traffic (ring all-reduce: 2(n−1)/n · bytes).
struct CommFit {
  double a0 = 8e-6;
  double a1 = 1e-6;
  double bw_eff = 0.80;
  double b_half = 2e6;
};

// Fused MoE on one rank: a grouped GEMM over the active local experts,
// t = t0 + max(F / (peak · e_max · σ(tokens per expert; m_half)), B / (bw · mem_eff)),
// F = 2 · routed tokens · (2 or 3) · hidden · inter/tp, B = weights of the active local experts.
struct MoeFit {
  double t0 = 20e-6;
  double e_max = 0.6;
  double m_half = 32;
  double mem_eff = 0.7;
  // Weight streaming reaches half of mem_eff at this many bytes per active expert (small experts
  // stream worse than large ones: a 3 MB expert slice reads at ~55% of HBM bandwidth, a 75 MB one
  // at ~80%); 0 = size-independent.
  double expert_bytes_half = 0;
  // Expert GEMMs reach half of e_max at this width (intermediate / tp): the narrow slices of
  // many-expert models run far below peak, the wide ones of Mixtral near it; 0 = width-independent.
  double width_half = 0;
  // Under expert parallelism the kernel routes over every expert and masks the remote ones: it
  // streams the local experts' weights at this fraction of the TP kernel's rate (H100: Mixtral TP8
  // and DeepSeek EP32 hold the same 8 experts of 75 MB per GPU; 251 vs 366 us at 32 pairs).
  double ep_mem_eff = 1;
};

struct ElementwiseFit {
  double t0 = 2.5e-6;
  double mem_eff = 0.75;
};

// A residual correction on top of a parametric fit: log(measured / model) tabulated on a grid of
// integer log2 coordinates (up to 4 dims) and interpolated multilinearly, clamped at the edges.
// Empty = no correction. The node values are fitted so that the interpolation matches the rows
// (calib/fit.cpp).
struct Correction {
  std::vector<int> lo;            // log2 of the first node per dimension
  std::vector<int> size;          // nodes per dimension
  std::vector<float> log_factor;  // row-major, size = Π size
  bool empty() const { return log_factor.empty(); }
  // Multilinear interpolation of the factors exp(log_factor).
  double factor(const double* log2_coords) const;
  // The nodes that interpolation reads at `log2_coords` and their weights (at most 16); returns
  // how many. factor() = Σ weight × exp(log_factor[node]).
  std::size_t corners(const double* log2_coords, std::size_t* nodes, double* weights) const;
  // Precomputes exp(log_factor) for speed; call again after changing log_factor (a no-op when
  // the factors are those of the current log_factor).
  void prepare();
  // The factors prepare() made, and handing over ones it made earlier (the packed calibration
  // carries them; see params_pack.h).
  const std::vector<float>& prepared() const { return factor_; }
  void set_prepared(std::vector<float> factors);

  // The trailing dimensions [head, size()) fixed at `tail_coords` (a layer's shape, constant over a
  // run), worked out once; factor(head_coords, tail) then equals factor() of the joined coordinates
  // bit for bit (the same corners, weights multiplied and summed in the same order).
  struct Tail {
    std::size_t head = 0;        // dimensions still free
    std::size_t stride[4] = {};  // of every dimension (row-major)
    std::size_t base = 0;        // node offset of the fixed dimensions
    std::size_t n_moving = 0;    // fixed dimensions between two nodes
    std::size_t moving[4] = {};  // their strides
    double frac[4] = {};         // and their fractions
  };
  Tail tail(std::size_t head, const double* tail_coords) const;
  double factor(const double* head_coords, const Tail& tail) const;
  struct Axis {  // where one coordinate falls on its dimension's nodes
    std::size_t node = 0;
    double frac = 0;  // 0 = on the node: the dimension contributes one corner
  };
  Axis axis(std::size_t d, double coord) const;
  // factor(head_coords, tail) for a tail with two free dimensions, the first already placed.
  double factor(const Axis& first, double second, const Tail& tail) const;

 private:
  std::vector<float> factor_;         // exp(log_factor) once prepared, else empty
  std::vector<float> prepared_from_;  // the log_factor factor_ was computed from
};

// Where a fused-MoE layer sits on its correction grid: token-expert pairs per rank (with the local
// experts this fixes each expert's load), local experts, hidden × expert width per rank, and the
// routing skew class (0 balanced, 1 power law 1.01, 2 power law 1.2), plus 3 for vLLM's masked
// expert-parallel kernel (MoeArgs::ep_masked; its own streaming rate, MoeFit::ep_mem_eff).
std::array<double, 4> moe_correction_coords(const MoeArgs& a);

struct OpParams {
  std::string source = "generic defaults (not fitted)";
  // Indexed by weight dtype class: 0 = 16-bit, 1 = fp8, 2 = int8, 3 = int4 (W4A16), 4 = fp4 (W4A4).
  static constexpr std::size_t kGemmClasses = 5;
  std::array<GemmFit, kGemmClasses> gemm{};
  std::array<bool, kGemmClasses> gemm_fitted{};
  std::array<Correction, kGemmClasses> gemm_correction{};  // over (log2 m, log2 n, log2 k)
  PrefillFit prefill;
  // Attention corrections per KV-cache dtype (0 = 16-bit, 1 = fp8), full attention:
  // prefill over (log2 chunk, log2 seqs·heads, log2 heads/kv_heads, log2 head_dim),
  // decode over (log2 seqs, log2 context, log2 heads/kv_heads, log2 head_dim).
  std::array<Correction, 2> prefill_correction{};
  DecodeFit decode;
  std::array<Correction, 2> decode_correction{};
  std::array<CommFit, kNumCollectives> intra{};  // by Collective
  std::array<CommFit, kNumCollectives> inter{};
  // Collective corrections over (log2 bytes, log2 gpus).
  std::array<Correction, kNumCollectives> intra_correction{};
  std::array<Correction, kNumCollectives> inter_correction{};
  ElementwiseFit elementwise;
  // MoE per weight class (as gemm), with corrections over moe_correction_coords.
  std::array<MoeFit, kGemmClasses> moe{};
  std::array<bool, kGemmClasses> moe_fitted{};
  std::array<Correction, kGemmClasses> moe_correction{};
};

// Correction::prepare of every correction of `p`.
void prepare_corrections(OpParams& p);

int gemm_class(DType weight);
// Fitted parameters shipped for `calibration_key`, or nullopt.
std::optional<OpParams> shipped_params(const std::string& calibration_key);
OpParams params_from_json(const Json& j, const std::string& where);
Json params_to_json(const OpParams& p);

std::unique_ptr<OpModel> make_analytical_ops(const Gpu& gpu, const OpParams& params);

}  // namespace apex
