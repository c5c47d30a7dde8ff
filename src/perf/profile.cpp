// perf/profile.cpp — the measured-profile op backend: kernel times looked up in measured tables
// (docs/profile-format.md) and interpolated linearly in log(latency) over log(coordinates).
#include "perf/profile.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/option_ref.h"

namespace apex {
namespace {

// A dense N-dimensional table over sorted axis values; missing points are NaN.
class Grid {
 public:
  explicit Grid(std::size_t dims) : axes_(dims) {}

  void add_point(const std::vector<double>& coords) {
    for (std::size_t d = 0; d < axes_.size(); ++d)
      pending_[d].insert(coords[d]);
  }
  void finalize_axes() {
    std::size_t total = 1;
    for (std::size_t d = 0; d < axes_.size(); ++d) {
      axes_[d].assign(pending_[d].begin(), pending_[d].end());
      total *= axes_[d].size();
    }
    values_.assign(total, std::numeric_limits<double>::quiet_NaN());
    counts_.assign(total, 0);
  }
  // Several measurements of one point are averaged (in log space).
  void set(const std::vector<double>& coords, double latency_s) {
    const std::size_t i = index_of(coords);
    const double v = std::log(latency_s);
    values_[i] = counts_[i] == 0 ? v : (values_[i] * counts_[i] + v) / (counts_[i] + 1);
    ++counts_[i];
  }
  bool empty() const { return values_.empty(); }
  const std::vector<double>& axis(std::size_t d) const { return axes_[d]; }

  // Interpolated latency, or an explanation of why the point is outside the table.
  std::optional<double> lookup(const std::vector<double>& q, std::string& why) const {
    const std::size_t dims = axes_.size();
    std::vector<std::size_t> lo(dims);
    std::vector<double> frac(dims);
    for (std::size_t d = 0; d < dims; ++d) {
      const auto& a = axes_[d];
      if (a.empty()) {
        why = "empty table";
        return std::nullopt;
      }
      const double x = q[d];
      if (x < a.front() * (1 - 1e-9) || x > a.back() * (1 + 1e-9)) {
        why = fmt::format("coordinate {} = {} is outside the measured range [{}, {}]", d, x, a.front(),
                          a.back());
        return std::nullopt;
      }
      auto it = std::upper_bound(a.begin(), a.end(), x);
      std::size_t hi = static_cast<std::size_t>(it - a.begin());
      if (hi >= a.size()) hi = a.size() - 1;
      const std::size_t l = hi == 0 ? 0 : hi - 1;
      lo[d] = l;
      if (hi == l || a[hi] == a[l]) {
        frac[d] = 0;
      } else {
        frac[d] = (std::log(x) - std::log(a[l])) / (std::log(a[hi]) - std::log(a[l]));
        frac[d] = std::clamp(frac[d], 0.0, 1.0);
      }
    }
    double v = 0;
    for (std::size_t corner = 0; corner < (std::size_t{1} << dims); ++corner) {
      double w = 1;
      std::size_t idx = 0;
      for (std::size_t d = 0; d < dims; ++d) {
        const bool up = (corner >> d) & 1U;
        if (up && frac[d] == 0) {
          w = 0;
          break;
        }
        w *= up ? frac[d] : 1 - frac[d];
        idx = idx * axes_[d].size() + lo[d] + (up ? 1 : 0);
      }
      if (w == 0) continue;
      if (std::isnan(values_[idx])) {
        why = "a neighbouring grid point was not measured";
        return std::nullopt;
      }
      v += w * values_[idx];
    }
    return std::exp(v);
  }

 private:
  std::size_t index_of(const std::vector<double>& c) const {
    std::size_t idx = 0;
    for (std::size_t d = 0; d < axes_.size(); ++d) {
      const auto& a = axes_[d];
      const auto pos = static_cast<std::size_t>(std::lower_bound(a.begin(), a.end(), c[d]) - a.begin());
      idx = idx * a.size() + pos;
    }
    return idx;
  }
  std::vector<std::vector<double>> axes_;
  std::map<std::size_t, std::set<double>> pending_;
  std::vector<double> values_;
  std::vector<int> counts_;
};

std::string gemm_key(DType w) {
  return w == DType::FP8 ? "fp8" : std::string(dtype_name(w == DType::FP16 ? DType::BF16 : w));
}

class ProfileOps final : public OpModel {
 public:
  ProfileOps(const Gpu& gpu, const MeasurementSet& m, std::unique_ptr<OpModel> fallback)
      : gpu_(gpu), dir_(m.dir), fallback_(std::move(fallback)) {
    build_gemm(m);
    build_attention(m.prefill, prefill_);
    build_attention(m.decode, decode_);
    build_comm(m);
    build_moe(m);
  }

  std::string name() const override {
    return fmt::format("profile ({}){}", dir_, fallback_ ? ", analytical fallback" : "");
  }

  double gemm(const GemmArgs& a) const override {
    if (a.m <= 0 || a.n <= 0 || a.k <= 0) return 0.0;
    const std::string key = gemm_key(a.weight);
    auto it = gemm_.find(key);
    std::string why = fmt::format("no gemm rows with dtype {}", key);
    if (it != gemm_.end()) {
      if (auto t = it->second.lookup(
              {static_cast<double>(a.m), static_cast<double>(a.n), static_cast<double>(a.k)}, why)) {
        return std::max(*t, gemm_roofline(a));
      }
    }
    return miss(fmt::format("gemm m={} n={} k={} {}", a.m, a.n, a.k, key), why,
                [&] { return fallback_->gemm(a); });
  }

  // A kernel benchmarked in a loop keeps a small matrix in L2 and may beat HBM; in a model step the
  // weights stream from HBM (the other layers evict them), so a looked-up time is never below the
  // roofline the analytical backend clamps to (FLOPs / peak, bytes / HBM bandwidth).
  double math_peak(DType weight, DType activation) const {
    const double peak = gpu_.peak_flops(gemm_math_dtype(weight, activation));
    return peak > 0 ? peak : gpu_.peak_flops(DType::FP16);
  }
  double gemm_roofline(const GemmArgs& a) const {
    const auto m = static_cast<double>(a.m), n = static_cast<double>(a.n), k = static_cast<double>(a.k);
    const double ab = activation_bytes(a.activation);
    const double bytes = m * k * ab + n * k * dtype_bytes(a.weight) + m * n * ab;
    return std::max(2.0 * m * n * k / math_peak(a.weight, a.activation), bytes / gpu_.hbm_bandwidth);
  }
  double moe_roofline(const MoeArgs& a) const {
    const double width = static_cast<double>(a.inter) / a.tp, h = static_cast<double>(a.hidden);
    const double pairs = static_cast<double>(a.tokens * a.topk) / a.ep;
    const double p_hit =
        1.0 - std::pow(1.0 - 1.0 / static_cast<double>(a.experts), static_cast<double>(a.tokens * a.topk));
    const double active = std::max(1.0, static_cast<double>(a.experts) / a.ep * p_hit);
    const double mats = a.gated ? 3.0 : 2.0;
    const double bytes = active * mats * h * width * dtype_bytes(a.weight) + 2.0 * pairs * h * 2.0;
    return std::max(2.0 * pairs * mats * h * width / math_peak(a.weight, a.activation),
                    bytes / gpu_.hbm_bandwidth);
  }

  double attention_prefill(const PrefillAttnArgs& a) const override {
    if (a.seqs <= 0 || a.tokens <= 0) return 0.0;
    // Equivalent fresh prefill: a chunk of s tokens per sequence with the same causal pairs.
    const double p = a.pairs / static_cast<double>(a.seqs);
    const double s = std::max(1.0, (std::sqrt(8 * p + 1) - 1) / 2);
    return attention(prefill_, "attention_prefill", a.seqs, s, a.heads, a.kv_heads, a.head_dim, a.kv,
                     [&] { return fallback_->attention_prefill(a); });
  }

  double attention_decode(const DecodeAttnArgs& a) const override {
    if (a.seqs <= 0) return 0.0;
    const double past = std::max(1.0, static_cast<double>(a.kv_tokens) / static_cast<double>(a.seqs) - 1);
    return attention(decode_, "attention_decode", a.seqs, past, a.heads, a.kv_heads, a.head_dim, a.kv,
                     [&] { return fallback_->attention_decode(a); });
  }

  double collective(Collective op, double bytes, const CommGroup& g) const override {
    if (g.gpus <= 1 || bytes <= 0) return 0.0;
    const std::string key = fmt::format("{}/{}", collective_name(op), g.nodes > 1 ? "inter" : "intra");
    auto it = comm_.find(key);
    std::string why = fmt::format("no {} rows", key);
    if (it != comm_.end()) {
      if (auto t = it->second.lookup({static_cast<double>(g.gpus), std::max(1.0, bytes)}, why)) return *t;
    }
    return miss(fmt::format("{} of {:.0f} bytes on {} GPUs", key, bytes, g.gpus), why,
                [&] { return fallback_->collective(op, bytes, g); });
  }

  double elementwise(double bytes) const override {
    // Norms and activations are not in the measured tables: always the analytical model.
    return elementwise_->elementwise(bytes);
  }

  double moe(const MoeArgs& a) const override {
    if (a.tokens <= 0) return 0.0;
    const std::string key = fmt::format("{}/h{}/i{}/k{}/e{}/tp{}/ep{}/{}", gemm_key(a.weight), a.hidden,
                                        a.inter, a.topk, a.experts, a.tp, a.ep,
                                        a.skew <= 0     ? "balanced"
                                        : a.skew <= 1.1 ? "power_law_1.01"
                                                        : "power_law_1.2");
    auto it = moe_.find(key);
    std::string why = "no moe rows of that shape (hidden, inter, topk, experts, tp, ep, dtype, distribution)";
    if (it != moe_.end()) {
      if (auto t = it->second.lookup({static_cast<double>(a.tokens)}, why))
        return std::max(*t, moe_roofline(a));
    }
    return miss(fmt::format("moe tokens={} {}", a.tokens, key), why, [&] { return fallback_->moe(a); });
  }

  // A measured row below half its roofline (FLOPs / peak, and the weight bytes an L2-resident
  // benchmark loop cannot hold / HBM bandwidth) is not a measurement of this GPU (wrong table,
  // wrong units): refused, naming the row.
  static constexpr double kMinRooflineFraction = 0.5;

  std::uint64_t fallbacks() const { return fallbacks_.load(); }

  void set_elementwise(std::unique_ptr<OpModel> e) { elementwise_ = std::move(e); }

 private:
  struct AttnTable {
    std::map<std::string, Grid> by_key;  // "hd128/kvbf16" -> grid over (batch, len, heads, kv_heads)
  };

  template <class F>
  double miss(const std::string& what, const std::string& why, F&& fallback) const {
    if (!fallback_) {
      throw UserError(
          fmt::format("profile backend: {} is not covered by the tables in '{}' ({}); add "
                      "measurements or pass {} analytical",
                      what, dir_, why, opt("perf_fallback")));
    }
    ++fallbacks_;
    return fallback();
  }

  template <class F>
  double attention(const AttnTable& t, const char* kind, std::int64_t seqs, double len, std::int64_t heads,
                   std::int64_t kv_heads, std::int64_t head_dim, DType kv, F&& fallback) const {
    const std::string key = fmt::format("hd{}/kv{}", head_dim, kv == DType::FP8 ? "fp8" : "bf16");
    auto it = t.by_key.find(key);
    std::string why = fmt::format("no rows with head_dim {} and that KV dtype", head_dim);
    if (it != t.by_key.end()) {
      if (auto v = it->second.lookup(
              {static_cast<double>(seqs), len, static_cast<double>(heads), static_cast<double>(kv_heads)},
              why)) {
        return *v;
      }
    }
    return miss(fmt::format("{} batch={} len={:.0f} heads={}/{} {}", kind, seqs, len, heads, kv_heads, key),
                why, fallback);
  }

  // The roofline of a measured kernel: `flops` at the dtype's peak, `weight_bytes` from HBM; a row
  // faster than kMinRooflineFraction of it is a user error naming the row.
  void check_roofline(const char* file, const std::string& row, const std::string& dtype, double flops,
                      double weight_elements, double us) const {
    // The table's dtype names: the math dtype and the bytes of one stored weight.
    struct Kind {
      const char* name;
      DType math;
      double weight_bytes;
    };
    static constexpr Kind kKinds[] = {{"bf16", DType::BF16, 2},
                                      {"fp16", DType::FP16, 2},
                                      {"fp32", DType::FP32, 4},
                                      {"fp8", DType::FP8, 1},
                                      {"fp8_block", DType::FP8, 1},
                                      {"int8", DType::INT8, 1},
                                      {"fp4", DType::FP4, 0.5},
                                      {"nvfp4", DType::FP4, 0.5},
                                      {"int4_wo", DType::BF16, 0.5},
                                      {"w4a16_mxfp4", DType::BF16, 0.5},
                                      {"w4a8_mxfp4_mxfp8", DType::FP8, 0.5}};
    const Kind* k = nullptr;
    for (const Kind& c : kKinds) {
      if (dtype == c.name) k = &c;
    }
    if (k == nullptr) return;  // a kernel family APEX does not look up
    const double peak = gpu_.peak_flops(k->math);
    const double hbm_bytes = std::max(0.0, weight_elements * k->weight_bytes - gpu_.l2_bytes);
    const double roof = std::max(peak > 0 ? flops / peak : 0.0, hbm_bytes / gpu_.hbm_bandwidth);
    if (!(us * 1e-6 >= kMinRooflineFraction * roof)) {
      throw UserError(fmt::format(
          "{}/{}: {} takes {} us, below half the {} roofline of {:.3g} us (FLOPs / peak, weights beyond "
          "L2 / HBM bandwidth): not a measurement of this GPU?",
          dir_, file, row, us, gpu_.name, roof * 1e6));
    }
  }

  void build_gemm(const MeasurementSet& m) {
    std::map<std::string, std::vector<const GemmRow*>> rows;
    for (const auto& r : m.gemm) {
      const auto [mm, nn, kk] =
          std::array<double, 3>{static_cast<double>(r.m), static_cast<double>(r.n), static_cast<double>(r.k)};
      check_roofline("gemm.csv", fmt::format("gemm m={} n={} k={} {}", r.m, r.n, r.k, r.dtype), r.dtype,
                     2 * mm * nn * kk, nn * kk, r.us);
      const std::string key = r.dtype == "fp16" ? "bf16" : r.dtype;
      rows[key].push_back(&r);
    }
    for (auto& [key, list] : rows) {
      Grid g(3);
      for (const auto* r : list)
        g.add_point({static_cast<double>(r->m), static_cast<double>(r->n), static_cast<double>(r->k)});
      g.finalize_axes();
      for (const auto* r : list) {
        g.set({static_cast<double>(r->m), static_cast<double>(r->n), static_cast<double>(r->k)},
              r->us * 1e-6);
      }
      gemm_.emplace(key, std::move(g));
    }
  }

  static void build_attention(const std::vector<AttentionRow>& rows, AttnTable& out) {
    std::map<std::string, std::vector<const AttentionRow*>> by;
    for (const auto& r : rows) {
      if (r.window != 0) continue;  // full attention only
      by[fmt::format("hd{}/kv{}", r.head_dim, r.kv_dtype == "fp8" ? "fp8" : "bf16")].push_back(&r);
    }
    for (auto& [key, list] : by) {
      Grid g(4);
      auto coords = [](const AttentionRow* r) {
        return std::vector<double>{static_cast<double>(r->batch),
                                   static_cast<double>(std::max<std::int64_t>(1, r->len)),
                                   static_cast<double>(r->heads), static_cast<double>(r->kv_heads)};
      };
      for (const auto* r : list)
        g.add_point(coords(r));
      g.finalize_axes();
      for (const auto* r : list)
        g.set(coords(r), r->us * 1e-6);
      out.by_key.emplace(key, std::move(g));
    }
  }

  void build_comm(const MeasurementSet& m) {
    // One source per (op, intra/inter): NCCL tables from aiconfigurator first, then APEX+, then
    // Vidur; vLLM's custom all-reduce from its CUDA-graph rows.
    auto rank = [](const CommRow& r) { return r.source == "aic" ? 0 : r.source == "apex_plus" ? 1 : 2; };
    std::map<std::string, std::vector<const CommRow*>> by;
    for (const auto& r : m.comm) {
      std::string op = r.op;
      if (r.impl.find("custom_allreduce") != std::string::npos) {
        if (r.impl.find("(graph)") == std::string::npos) continue;
        op = "custom_all_reduce";
      }
      by[fmt::format("{}/{}", op, r.nodes > 1 ? "inter" : "intra")].push_back(&r);
    }
    for (auto& [key, list] : by) {
      int best = 3;
      for (const auto* r : list)
        best = std::min(best, rank(*r));
      Grid g(2);
      for (const auto* r : list) {
        if (rank(*r) == best) g.add_point({static_cast<double>(r->gpus), std::max(1.0, r->bytes)});
      }
      g.finalize_axes();
      for (const auto* r : list) {
        if (rank(*r) == best) g.set({static_cast<double>(r->gpus), std::max(1.0, r->bytes)}, r->us * 1e-6);
      }
      comm_.emplace(key, std::move(g));
    }
  }

  void build_moe(const MeasurementSet& m) {
    std::map<std::string, std::vector<const MoeRow*>> by;
    const std::string fp8 = fp8_moe_flavour(m.moe);  // the FP8 kernel a tuned deployment runs
    for (const auto& r : m.moe) {
      // Per rank at least: its share of the token-expert pairs through two hidden x inter/tp
      // GEMMs (three when gated), and one expert's weights.
      const double h = static_cast<double>(r.hidden), inter = static_cast<double>(r.inter);
      const double tp = static_cast<double>(std::max<std::int64_t>(1, r.tp));
      const double ep = static_cast<double>(std::max<std::int64_t>(1, r.ep));
      check_roofline("moe.csv",
                     fmt::format("moe tokens={} hidden={} inter={} topk={} experts={} tp={} ep={} {}",
                                 r.tokens, r.hidden, r.inter, r.topk, r.experts, r.tp, r.ep, r.dtype),
                     r.dtype,
                     4 * static_cast<double>(r.tokens) * static_cast<double>(r.topk) * h * inter / (tp * ep),
                     2 * h * inter / tp, r.us);
      if ((r.dtype == "fp8" || r.dtype == "fp8_block") && r.dtype != fp8) continue;
      const std::string dt = r.dtype == "fp16"    ? "bf16"
                             : r.dtype == "nvfp4" ? "fp4"
                             : r.dtype == fp8     ? "fp8"
                                                  : r.dtype;
      by[fmt::format("{}/h{}/i{}/k{}/e{}/tp{}/ep{}/{}", dt, r.hidden, r.inter, r.topk, r.experts, r.tp, r.ep,
                     r.distribution)]
          .push_back(&r);
    }
    for (auto& [key, list] : by) {
      Grid g(1);
      for (const auto* r : list)
        g.add_point({static_cast<double>(r->tokens)});
      g.finalize_axes();
      for (const auto* r : list)
        g.set({static_cast<double>(r->tokens)}, r->us * 1e-6);
      moe_.emplace(key, std::move(g));
    }
  }

  Gpu gpu_;
  std::string dir_;
  std::unique_ptr<OpModel> fallback_;
  std::unique_ptr<OpModel> elementwise_;
  std::map<std::string, Grid> gemm_;
  AttnTable prefill_, decode_;
  std::map<std::string, Grid> comm_;
  std::map<std::string, Grid> moe_;
  mutable std::atomic<std::uint64_t> fallbacks_{0};
};

}  // namespace

std::unique_ptr<OpModel> make_profile_ops(const Gpu& gpu, const std::string& dir, bool analytical_fallback) {
  const MeasurementSet m = load_measurements(dir);
  if (m.gemm.empty() && m.prefill.empty() && m.decode.empty() && m.comm.empty()) {
    throw UserError(
        fmt::format("{} '{}' holds none of gemm.csv, attention_prefill.csv, "
                    "attention_decode.csv, collectives.csv (see docs/profile-format.md)",
                    opt("profile_dir"), dir));
  }
  auto ops = std::make_unique<ProfileOps>(gpu, m, analytical_fallback ? make_analytical_ops(gpu) : nullptr);
  ops->set_elementwise(make_analytical_ops(gpu));
  return ops;
}

}  // namespace apex
