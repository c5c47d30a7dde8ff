// calib/fit.cpp — fitting the analytical op model to the measured tables: Nelder–Mead in log
// space with restarts, an L1 loss on log errors, residual corrections on log2 grids.
#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "calib/calib.h"
#include "calib/op_rows.h"
#include "core/stats.h"

namespace apex {

using namespace calib;  // the row -> op-argument mapping shared with validate.cpp

namespace {

// ---------------------------------------------------------------- Nelder–Mead

using Vec = std::vector<double>;

Vec nelder_mead(const std::function<double(const Vec&)>& f, Vec x0, int iterations, double step = 0.5) {
  const std::size_t n = x0.size();
  std::vector<Vec> simplex(n + 1, x0);
  std::vector<double> fx(n + 1);
  for (std::size_t i = 0; i < n; ++i)
    simplex[i + 1][i] += step;
  for (std::size_t i = 0; i <= n; ++i)
    fx[i] = f(simplex[i]);
  for (int it = 0; it < iterations; ++it) {
    std::vector<std::size_t> order(n + 1);
    for (std::size_t i = 0; i <= n; ++i)
      order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return fx[a] < fx[b]; });
    std::vector<Vec> s2;
    std::vector<double> f2;
    for (auto i : order) {
      s2.push_back(simplex[i]);
      f2.push_back(fx[i]);
    }
    simplex = std::move(s2);
    fx = std::move(f2);
    if (std::fabs(fx[n] - fx[0]) < 1e-10) break;
    Vec centroid(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t d = 0; d < n; ++d)
        centroid[d] += simplex[i][d] / static_cast<double>(n);
    }
    auto along = [&](double t) {
      Vec v(n);
      for (std::size_t d = 0; d < n; ++d)
        v[d] = centroid[d] + t * (simplex[n][d] - centroid[d]);
      return v;
    };
    const Vec xr = along(-1.0);
    const double fr = f(xr);
    if (fr < fx[0]) {
      const Vec xe = along(-2.0);
      const double fe = f(xe);
      if (fe < fr) {
        simplex[n] = xe;
        fx[n] = fe;
      } else {
        simplex[n] = xr;
        fx[n] = fr;
      }
    } else if (fr < fx[n - 1]) {
      simplex[n] = xr;
      fx[n] = fr;
    } else {
      const Vec xc = along(fr < fx[n] ? -0.5 : 0.5);
      const double fc = f(xc);
      if (fc < std::min(fr, fx[n])) {
        simplex[n] = xc;
        fx[n] = fc;
      } else {
        for (std::size_t i = 1; i <= n; ++i) {
          for (std::size_t d = 0; d < n; ++d)
            simplex[i][d] = simplex[0][d] + 0.5 * (simplex[i][d] - simplex[0][d]);
          fx[i] = f(simplex[i]);
        }
      }
    }
  }
  const auto best = static_cast<std::size_t>(std::min_element(fx.begin(), fx.end()) - fx.begin());
  return simplex[best];
}

double logistic(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}
double logit(double p) {
  return std::log(p / (1.0 - p));
}

// Fit with restarts: Nelder–Mead stalls on plateaus of an L1 loss; restarting from the best point
// with a fresh simplex escapes them.
Vec fit(const std::function<double(const Vec&)>& loss, Vec x0) {
  Vec x = std::move(x0);
  for (int round = 0; round < 4; ++round)
    x = nelder_mead(loss, x, 600, round == 0 ? 0.7 : 0.25);
  return x;
}

// Mean |log(model / measured)| over rows: robust to the noisy tails of the tables.
template <class Rows, class Model>
double l1_log_loss(const Rows& rows, Model&& model) {
  double s = 0;
  std::size_t n = 0;
  for (const auto& r : rows) {
    const double t = model(r);
    if (!(t > 0) || !std::isfinite(t)) return 1e9;
    s += std::fabs(std::log(t / (r.us * 1e-6)));
    ++n;
  }
  return n ? s / static_cast<double>(n) : 0;
}

// Subsample deterministically so that each fit evaluates at most `cap` rows.
template <class T>
std::vector<T> thin(const std::vector<T>& rows, std::size_t cap) {
  if (rows.size() <= cap) return rows;
  std::vector<T> out;
  const double stride = static_cast<double>(rows.size()) / static_cast<double>(cap);
  for (std::size_t i = 0; i < cap; ++i)
    out.push_back(rows[static_cast<std::size_t>(static_cast<double>(i) * stride)]);
  return out;
}

// The medians put on each node what its nearest rows need, but a row between nodes is priced by
// the interpolation of all its corners: where neighbouring nodes hold different shapes (MoE
// layers with few large experts next to many small ones) that interpolation misses both. This
// solves for the node factors F directly: least squares of the relative error of the
// interpolated factor, Σ_i ((a_i·F − R_i) / R_i)², R_i = exp(resid_i), plus a pull λ = 1 towards
// the median solution so that nodes few rows reach stay near it (a weaker pull let pairs of
// neighbouring nodes run to opposite extremes to fit one row between them); conjugate gradients
// on the normal equations, a fixed number of iterations: deterministic.
// A grid plane no row rounds to (a coordinate value with no measurement near it) is set by no
// data of its own: rows between it and a measured neighbour plane would use its nodes as levers
// and extrapolate (the 16-bit GEMM tables have n = 16384, 51200 and 65536 but nothing near 32768;
// the 2^15 nodes ran 25-35% above both neighbours, pricing every gate/up projection 20k-50k wide
// that much too slow). Each node of such a plane gets a strong smoothness row along that
// dimension: zero second difference in log space between its two neighbours (linear
// interpolation), or equality with its one neighbour at an edge. Only the first `ordinal_dims`
// dimensions are treated so (the MoE grid's last dimension is a kernel class, not a size).
void refine_correction(Correction& c, const std::vector<std::array<double, 4>>& at,
                       const std::vector<double>& resid, std::size_t ordinal_dims) {
  const std::size_t nodes = c.log_factor.size();
  const std::size_t rows = at.size();
  if (nodes == 0 || rows == 0) return;
  // Smoothness rows: up to three (node, coefficient) terms each, linear in the node factors.
  struct Smooth {
    std::array<std::size_t, 3> node{};
    std::array<double, 3> coef{};
    std::size_t terms = 0;
  };
  std::vector<Smooth> smooth;
  {
    const std::size_t dims = c.size.size();
    std::vector<std::size_t> stride(dims, 1);
    for (std::size_t d = dims; d-- > 1;)
      stride[d - 1] = stride[d] * static_cast<std::size_t>(c.size[d]);
    std::vector<std::vector<char>> measured(dims);  // [dim][node index]: some row rounds there
    for (std::size_t d = 0; d < dims; ++d) {
      measured[d].assign(static_cast<std::size_t>(c.size[d]), 0);
      for (const auto& x : at)
        measured[d][static_cast<std::size_t>(
            std::clamp(static_cast<int>(std::lround(x[d])) - c.lo[d], 0, c.size[d] - 1))] = 1;
    }
    for (std::size_t n = 0; n < nodes; ++n) {
      for (std::size_t d = 0; d < std::min(ordinal_dims, dims); ++d) {
        const auto i = static_cast<int>(n / stride[d] % static_cast<std::size_t>(c.size[d]));
        if (measured[d][static_cast<std::size_t>(i)]) continue;
        const bool lo = i > 0, hi = i + 1 < c.size[d];
        if (lo && hi) {
          smooth.push_back({{n, n - stride[d], n + stride[d]}, {1.0, -0.5, -0.5}, 3});
        } else if (lo || hi) {
          smooth.push_back({{n, lo ? n - stride[d] : n + stride[d], 0}, {1.0, -1.0, 0}, 2});
        }
      }
    }
  }
  const double stiff = 30.0;  // the smoothness rows outweigh any row's pull on a lever node
  std::vector<double> f0(nodes);
  for (std::size_t n = 0; n < nodes; ++n)
    f0[n] = std::exp(static_cast<double>(c.log_factor[n]));
  // Sparse rows: up to 16 (node, weight / R_i) pairs each; a row's relative error is a_i·F − 1.
  std::vector<std::array<std::size_t, 16>> idx(rows);
  std::vector<std::array<double, 16>> w(rows);
  std::vector<std::size_t> count(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    count[i] = c.corners(at[i].data(), idx[i].data(), w[i].data());
    const double r = std::exp(resid[i]);
    for (std::size_t k = 0; k < count[i]; ++k)
      w[i][k] /= r;
  }
  auto dot = [](const std::vector<double>& a, const std::vector<double>& b) {
    double v = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      v += a[i] * b[i];
    return v;
  };
  auto predict = [&](std::size_t i, const std::vector<double>& x) {
    double v = 0;
    for (std::size_t k = 0; k < count[i]; ++k)
      v += w[i][k] * x[idx[i][k]];
    return v;
  };
  const double pull = 1.0;  // λ = 1
  std::vector<double> f = f0, m(rows, 1.0);
  // Iteratively reweighted: row weights 1/sqrt|error| turn least squares into least absolute
  // error (robust to the tables' noisy rows, like the medians it refines).
  for (int round = 0; round < 4; ++round) {
    for (std::size_t i = 0; i < rows; ++i)
      m[i] = 1.0 / std::sqrt(std::max(std::fabs(predict(i, f) - 1.0), 0.02));
    // Solve for a step x: rows m_i (a_i·x) = m_i (1 − a_i·F); pull·x = pull·(f0 − F).
    // Smoothness in log space, linearized at F: Σ_j c_j (log F_j + x_j / F_j) = 0.
    const std::size_t base = rows + nodes;
    auto apply = [&](const std::vector<double>& x, std::vector<double>& out) {
      out.resize(base + smooth.size());
      for (std::size_t i = 0; i < rows; ++i)
        out[i] = m[i] * predict(i, x);
      for (std::size_t n = 0; n < nodes; ++n)
        out[rows + n] = pull * x[n];
      for (std::size_t j = 0; j < smooth.size(); ++j) {
        double v = 0;
        for (std::size_t t = 0; t < smooth[j].terms; ++t)
          v += smooth[j].coef[t] * x[smooth[j].node[t]] / f[smooth[j].node[t]];
        out[base + j] = stiff * v;
      }
    };
    auto apply_t = [&](const std::vector<double>& y, std::vector<double>& out) {
      out.assign(nodes, 0.0);
      for (std::size_t i = 0; i < rows; ++i) {
        for (std::size_t k = 0; k < count[i]; ++k)
          out[idx[i][k]] += m[i] * w[i][k] * y[i];
      }
      for (std::size_t n = 0; n < nodes; ++n)
        out[n] += pull * y[rows + n];
      for (std::size_t j = 0; j < smooth.size(); ++j) {
        for (std::size_t t = 0; t < smooth[j].terms; ++t)
          out[smooth[j].node[t]] += stiff * smooth[j].coef[t] / f[smooth[j].node[t]] * y[base + j];
      }
    };
    std::vector<double> x(nodes, 0.0), r(base + smooth.size()), s, p, q;
    for (std::size_t i = 0; i < rows; ++i)
      r[i] = m[i] * (1.0 - predict(i, f));
    for (std::size_t n = 0; n < nodes; ++n)
      r[rows + n] = pull * (f0[n] - f[n]);
    for (std::size_t j = 0; j < smooth.size(); ++j) {
      double v = 0;
      for (std::size_t t = 0; t < smooth[j].terms; ++t)
        v += smooth[j].coef[t] * std::log(f[smooth[j].node[t]]);
      r[base + j] = -stiff * v;
    }
    apply_t(r, s);
    p = s;
    double gamma = dot(s, s);
    for (int it = 0; it < 500 && gamma > 1e-18; ++it) {
      apply(p, q);
      const double qq = dot(q, q);
      if (!(qq > 0)) break;
      const double alpha = gamma / qq;
      for (std::size_t n = 0; n < nodes; ++n)
        x[n] += alpha * p[n];
      for (std::size_t i = 0; i < r.size(); ++i)
        r[i] -= alpha * q[i];
      apply_t(r, s);
      const double g = dot(s, s);
      const double beta = g / gamma;
      gamma = g;
      for (std::size_t n = 0; n < nodes; ++n)
        p[n] = s[n] + beta * p[n];
    }
    for (std::size_t n = 0; n < nodes; ++n)
      f[n] = std::clamp(f[n] + x[n], 0.05, 20.0);
  }
  for (std::size_t n = 0; n < nodes; ++n)
    c.log_factor[n] = static_cast<float>(std::log(f[n]));
}

// Residual correction on integer log2 nodes: each node takes the median residual of the rows that
// round to it; a second pass fits what the interpolation between nodes leaves over; then
// refine_correction fits the interpolation itself.
Correction fit_correction(const std::vector<std::array<double, 4>>& at, const std::vector<double>& resid,
                          std::size_t dims, std::size_t min_rows = 2, std::size_t ordinal_dims = 4) {
  Correction c;
  if (at.empty()) return c;
  std::vector<double> lo(dims, 1e9), hi(dims, -1e9);
  for (const auto& x : at) {
    for (std::size_t d = 0; d < dims; ++d) {
      lo[d] = std::min(lo[d], x[d]);
      hi[d] = std::max(hi[d], x[d]);
    }
  }
  std::size_t total = 1;
  for (std::size_t d = 0; d < dims; ++d) {
    c.lo.push_back(static_cast<int>(std::floor(lo[d])));
    c.size.push_back(static_cast<int>(std::ceil(hi[d])) - c.lo.back() + 1);
    total *= static_cast<std::size_t>(c.size.back());
  }
  c.log_factor.assign(total, 0.0F);
  auto node_of = [&](const std::array<double, 4>& x) {
    std::size_t idx = 0;
    for (std::size_t d = 0; d < dims; ++d) {
      const auto i = std::clamp(static_cast<int>(std::lround(x[d])) - c.lo[d], 0, c.size[d] - 1);
      idx = idx * static_cast<std::size_t>(c.size[d]) + static_cast<std::size_t>(i);
    }
    return idx;
  };
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<std::vector<double>> bucket(total);
    for (std::size_t i = 0; i < at.size(); ++i) {
      const double current = std::log(c.factor(at[i].data()));
      bucket[node_of(at[i])].push_back(resid[i] - current);
    }
    for (std::size_t n = 0; n < total; ++n) {
      auto& b = bucket[n];
      if (b.size() < min_rows) continue;
      std::sort(b.begin(), b.end());
      c.log_factor[n] += static_cast<float>(percentile_sorted(b, 0.5));
    }
  }
  // A node no row rounds to takes the value of the nearest node along the last dimension that has
  // rows (the MoE grid's expert-parallel and skewed classes fall back to the balanced TP class),
  // instead of no correction at all; refine_correction then pulls unconstrained nodes there.
  std::vector<char> has_rows(total, 0);
  for (const auto& x : at)
    has_rows[node_of(x)] = 1;
  if (dims > 1) {
    const auto last = static_cast<std::size_t>(c.size[dims - 1]);
    const std::vector<float> before = c.log_factor;
    for (std::size_t n = 0; n < total; ++n) {
      if (has_rows[n]) continue;
      const std::size_t base = n - n % last;
      for (std::size_t step = 1; step < last; ++step) {
        const std::size_t k = n % last;
        if (k >= step && has_rows[base + k - step]) {
          c.log_factor[n] = before[base + k - step];
          break;
        }
        if (k + step < last && has_rows[base + k + step]) {
          c.log_factor[n] = before[base + k + step];
          break;
        }
      }
    }
  }
  refine_correction(c, at, resid, ordinal_dims);
  return c;
}

}  // namespace

OpParams fit_op_params(const Gpu& gpu, const MeasurementSet& m, const OpParams& start,
                       const std::string& provenance) {
  OpParams p = start;
  p.source = provenance;
  // ---- GEMM, per weight class.
  for (int cls : {0, 1, 4}) {
    std::vector<std::pair<GemmArgs, double>> rows;
    for (const auto& r : m.gemm) {
      auto a = gemm_args(r);
      if (a && gemm_class(a->weight) == cls) rows.emplace_back(*a, r.us);
    }
    if (rows.empty()) continue;
    rows = thin(rows, 6000);
    struct Row {
      GemmArgs a;
      double us;
    };
    std::vector<Row> data;
    for (auto& [a, us] : rows)
      data.push_back(Row{a, us});
    GemmFit g0 = p.gemm[static_cast<std::size_t>(cls)];
    auto unpack = [](const Vec& x) {
      GemmFit g;
      g.t0 = std::exp(x[0]);
      g.e_max = logistic(x[1]);
      g.m_half = std::exp(x[2]);
      g.n_half = std::exp(x[3]);
      g.k_half = std::exp(x[4]);
      g.mem_eff = logistic(x[5]);
      return g;
    };
    auto loss = [&](const Vec& x) {
      OpParams q = p;
      q.gemm[static_cast<std::size_t>(cls)] = unpack(x);
      auto ops = make_analytical_ops(gpu, q);
      return l1_log_loss(data, [&](const Row& r) { return ops->gemm(r.a); });
    };
    const Vec x = fit(loss, {std::log(g0.t0), logit(g0.e_max), std::log(g0.m_half), std::log(g0.n_half),
                             std::log(g0.k_half), logit(g0.mem_eff)});
    p.gemm[static_cast<std::size_t>(cls)] = unpack(x);
    p.gemm_fitted[static_cast<std::size_t>(cls)] = true;
    // Residual correction over every row of the class.
    auto ops = make_analytical_ops(gpu, p);
    std::vector<std::array<double, 4>> at;
    std::vector<double> resid;
    for (const auto& r : m.gemm) {
      auto a = gemm_args(r);
      if (!a || gemm_class(a->weight) != cls) continue;
      at.push_back({std::log2(static_cast<double>(a->m)), std::log2(static_cast<double>(a->n)),
                    std::log2(static_cast<double>(a->k)), 0.0});
      resid.push_back(std::log(r.us * 1e-6 / ops->gemm(*a)));
    }
    p.gemm_correction[static_cast<std::size_t>(cls)] = fit_correction(at, resid, 3);
  }
  for (std::size_t i = 1; i < OpParams::kGemmClasses; ++i) {
    if (!p.gemm_fitted[i]) p.gemm[i] = p.gemm[i == 4 && p.gemm_fitted[1] ? 1 : 0];
  }
  // ---- Fused MoE, per weight class.
  const std::string fp8 = fp8_moe_flavour(m.moe);
  for (int cls : {0, 1, 3, 4}) {
    std::vector<std::pair<MoeArgs, double>> rows;
    for (const auto& r : m.moe) {
      auto a = moe_args(r, fp8);
      if (a && gemm_class(a->weight) == cls) rows.emplace_back(*a, r.us);
    }
    if (rows.empty()) continue;
    const auto ci = static_cast<std::size_t>(cls);
    struct Row {
      MoeArgs a;
      double us;
    };
    std::vector<Row> balanced;
    for (auto& [a, us] : rows) {
      if (a.skew == 0) balanced.push_back(Row{a, us});
    }
    if (balanced.empty()) {
      for (auto& [a, us] : rows)
        balanced.push_back(Row{a, us});
    }
    balanced = thin(balanced, 5000);
    auto unpack = [](const Vec& x) {
      MoeFit f;
      f.t0 = std::exp(x[0]);
      f.e_max = logistic(x[1]);
      f.m_half = std::exp(x[2]);
      f.mem_eff = logistic(x[3]);
      f.expert_bytes_half = std::exp(x[4]);
      f.width_half = std::exp(x[5]);
      f.ep_mem_eff = logistic(x[6]);
      return f;
    };
    auto loss = [&](const Vec& x) {
      OpParams q = p;
      q.moe[ci] = unpack(x);
      auto ops = make_analytical_ops(gpu, q);
      return l1_log_loss(balanced, [&](const Row& r) { return ops->moe(r.a); });
    };
    const MoeFit f0 = p.moe[ci];
    p.moe[ci] = unpack(fit(loss, {std::log(f0.t0), logit(f0.e_max), std::log(f0.m_half), logit(f0.mem_eff),
                                  std::log(f0.expert_bytes_half > 0 ? f0.expert_bytes_half : 5e6),
                                  std::log(f0.width_half > 0 ? f0.width_half : 512.0), logit(0.8)}));
    p.moe_fitted[ci] = true;
    auto ops = make_analytical_ops(gpu, p);
    std::vector<std::array<double, 4>> at;
    std::vector<double> resid;
    for (auto& [a, us] : rows) {
      at.push_back(moe_correction_coords(a));
      resid.push_back(std::log(us * 1e-6 / ops->moe(a)));
    }
    // Each MoE shape was swept once per distribution: one row per node is all there is.
    p.moe_correction[ci] = fit_correction(at, resid, 4, 1, 3);
  }
  for (std::size_t i = 1; i < OpParams::kGemmClasses; ++i) {
    if (!p.moe_fitted[i]) p.moe[i] = p.moe[i == 4 && p.moe_fitted[1] ? 1 : 0];
  }
  // ---- Prefill attention.
  if (!m.prefill.empty()) {
    std::vector<AttentionRow> full;
    for (const auto& r : m.prefill) {
      if (r.window == 0) full.push_back(r);
    }
    const auto data = thin(full, 6000);
    auto unpack = [](const Vec& x) {
      PrefillFit f;
      f.t0 = std::exp(x[0]);
      f.e_max = logistic(x[1]);
      f.q_half = std::exp(x[2]);
      f.par_half = std::exp(x[3]);
      return f;
    };
    auto loss = [&](const Vec& x) {
      OpParams q = p;
      q.prefill = unpack(x);
      auto ops = make_analytical_ops(gpu, q);
      return l1_log_loss(data,
                         [&](const AttentionRow& r) { return ops->attention_prefill(prefill_args(r)); });
    };
    const PrefillFit f0 = p.prefill;
    p.prefill =
        unpack(fit(loss, {std::log(f0.t0), logit(f0.e_max), std::log(f0.q_half), std::log(f0.par_half)}));
    auto ops = make_analytical_ops(gpu, p);
    for (std::size_t kv = 0; kv < 2; ++kv) {
      std::vector<std::array<double, 4>> at;
      std::vector<double> resid;
      for (const auto& r : m.prefill) {
        if (r.window > 0 || (kv_of(r.kv_dtype) == DType::FP8) != (kv == 1)) continue;
        const PrefillAttnArgs a = prefill_args(r);
        at.push_back({std::log2(static_cast<double>(std::max<std::int64_t>(1, r.len))),
                      std::log2(static_cast<double>(a.heads * a.seqs)),
                      std::log2(static_cast<double>(a.heads) / static_cast<double>(a.kv_heads)),
                      std::log2(static_cast<double>(a.head_dim))});
        resid.push_back(std::log(r.us * 1e-6 / ops->attention_prefill(a)));
      }
      p.prefill_correction[kv] = fit_correction(at, resid, 4);
    }
  }
  // ---- Decode attention.
  if (!m.decode.empty()) {
    std::vector<AttentionRow> full;
    for (const auto& r : m.decode) {
      if (r.window == 0) full.push_back(r);
    }
    const auto data = thin(full, 6000);
    auto unpack = [](const Vec& x) {
      DecodeFit f;
      f.t0 = std::exp(x[0]);
      f.t_seq = std::exp(x[1]);
      f.mem_eff = logistic(x[2]);
      f.par_half = std::exp(x[3]);
      return f;
    };
    auto loss = [&](const Vec& x) {
      OpParams q = p;
      q.decode = unpack(x);
      auto ops = make_analytical_ops(gpu, q);
      return l1_log_loss(data, [&](const AttentionRow& r) { return ops->attention_decode(decode_args(r)); });
    };
    const DecodeFit f0 = p.decode;
    p.decode =
        unpack(fit(loss, {std::log(f0.t0), std::log(f0.t_seq), logit(f0.mem_eff), std::log(f0.par_half)}));
    auto ops = make_analytical_ops(gpu, p);
    for (std::size_t kv = 0; kv < 2; ++kv) {
      std::vector<std::array<double, 4>> at;
      std::vector<double> resid;
      for (const auto& r : m.decode) {
        if (r.window > 0 || (kv_of(r.kv_dtype) == DType::FP8) != (kv == 1)) continue;
        const DecodeAttnArgs a = decode_args(r);
        const double ctx = static_cast<double>(a.kv_tokens) / static_cast<double>(a.seqs);
        at.push_back({std::log2(static_cast<double>(a.seqs)), std::log2(std::max(1.0, ctx)),
                      std::log2(static_cast<double>(a.heads) / static_cast<double>(a.kv_heads)),
                      std::log2(static_cast<double>(a.head_dim))});
        resid.push_back(std::log(r.us * 1e-6 / ops->attention_decode(a)));
      }
      p.decode_correction[kv] = fit_correction(at, resid, 4);
    }
  }
  // ---- Collectives, per (op, intra/inter).
  for (std::size_t op = 0; op < kNumCollectives; ++op) {
    for (bool inter : {false, true}) {
      std::vector<CommRow> data;
      for (const auto& r : m.comm) {
        auto k = comm_key(r);
        if (k && static_cast<std::size_t>(k->op) == op && k->inter == inter) data.push_back(r);
      }
      if (data.empty()) continue;
      auto& slot = inter ? p.inter[op] : p.intra[op];
      auto unpack = [](const Vec& x) {
        CommFit f;
        f.a0 = std::exp(x[0]);
        f.a1 = std::exp(x[1]);
        f.bw_eff = std::min(4.0, std::exp(x[2]));  // NVLS/SHARP can exceed a ring's line-rate share
        f.b_half = std::exp(x[3]);
        return f;
      };
      auto loss = [&](const Vec& x) {
        OpParams q = p;
        (inter ? q.inter[op] : q.intra[op]) = unpack(x);
        auto ops = make_analytical_ops(gpu, q);
        return l1_log_loss(data, [&](const CommRow& r) {
          return ops->collective(static_cast<Collective>(op), r.bytes, comm_group(gpu, r));
        });
      };
      slot = unpack(
          fit(loss, {std::log(slot.a0), std::log(slot.a1), std::log(slot.bw_eff), std::log(slot.b_half)}));
      auto ops = make_analytical_ops(gpu, p);
      std::vector<std::array<double, 4>> at;
      std::vector<double> resid;
      for (const auto& r : data) {
        at.push_back({std::log2(std::max(1.0, r.bytes)), std::log2(static_cast<double>(r.gpus)), 0, 0});
        resid.push_back(std::log(r.us * 1e-6 /
                                 ops->collective(static_cast<Collective>(op), r.bytes, comm_group(gpu, r))));
      }
      (inter ? p.inter_correction[op] : p.intra_correction[op]) = fit_correction(at, resid, 2);
    }
  }
  // Families without their own rows borrow a measured sibling: custom all-reduce from NCCL (on
  // 2 PCIe GPUs, the one case vLLM runs it without NVLink, the measured custom kernel is within
  // ~20% of NCCL: L40S rows), inter-node from intra-node with the NIC as the link (bandwidth
  // comes from the cluster).
  const auto custom = static_cast<std::size_t>(Collective::CustomAllReduce);
  const auto nccl = static_cast<std::size_t>(Collective::AllReduce);
  bool have_custom = false, have_nccl = false;
  for (const auto& r : m.comm) {
    auto k = comm_key(r);
    if (k && !k->inter && k->op == Collective::CustomAllReduce) have_custom = true;
    if (k && !k->inter && k->op == Collective::AllReduce) have_nccl = true;
  }
  if (!have_custom && have_nccl) {
    p.intra[custom] = p.intra[nccl];
    p.intra_correction[custom] = p.intra_correction[nccl];
  }
  for (std::size_t op = 0; op < kNumCollectives; ++op) {
    bool have_inter = false;
    for (const auto& r : m.comm) {
      auto k = comm_key(r);
      if (k && static_cast<std::size_t>(k->op) == op && k->inter) have_inter = true;
    }
    if (!have_inter) {
      p.inter[op] = p.intra[op];
      p.inter[op].bw_eff = std::min(p.inter[op].bw_eff, 0.9);
    }
  }
  return p;
}

std::pair<MeasurementSet, MeasurementSet> split_measurements(const MeasurementSet& m, int folds, int fold) {
  MeasurementSet train, test;
  train.dir = test.dir = m.dir;
  auto split = [&](const auto& rows, auto& a, auto& b) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
      (static_cast<int>(i % static_cast<std::size_t>(folds)) == fold ? b : a).push_back(rows[i]);
    }
  };
  split(m.gemm, train.gemm, test.gemm);
  split(m.prefill, train.prefill, test.prefill);
  split(m.decode, train.decode, test.decode);
  split(m.moe, train.moe, test.moe);
  split(m.comm, train.comm, test.comm);
  return {std::move(train), std::move(test)};
}

const Gpu* gpu_for_calibration_key(const std::string& key) {
  for (const auto& g : gpu_presets()) {
    if (g.calibration_key == key) return &g;
  }
  return nullptr;
}

}  // namespace apex
