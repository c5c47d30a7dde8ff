// perf/params.cpp — (de)serialization of fitted op parameters and the shipped set.
#include <charconv>
#include <cmath>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/text.h"
#include "perf/params.h"

namespace apex {

namespace {

const char* kGemmKeys[OpParams::kGemmClasses] = {"bf16", "fp8", "int8", "int4", "fp4"};
const char* kCommKeys[kNumCollectives] = {"all_reduce", "all_gather", "reduce_scatter",
                                          "all_to_all", "send_recv",  "custom_all_reduce"};

Json gemm_json(const GemmFit& f) {
  return Json{{"t0_us", f.t0 * 1e6}, {"e_max", f.e_max},   {"m_half", f.m_half},
              {"n_half", f.n_half},  {"k_half", f.k_half}, {"mem_eff", f.mem_eff}};
}
Json comm_json(const CommFit& f) {
  return Json{{"a0_us", f.a0 * 1e6}, {"a1_us", f.a1 * 1e6}, {"bw_eff", f.bw_eff}, {"b_half_bytes", f.b_half}};
}

// log_factor is written as one space-separated string with 2 decimals (1% resolution) to keep
// the shipped file small and diff-friendly.
Json correction_json(const Correction& c) {
  std::string text;
  for (float f : c.log_factor) {
    if (!text.empty()) text += ' ';
    const double v = std::round(static_cast<double>(f) * 100.0) / 100.0;
    text += v == 0.0 ? std::string("0") : fmt::format("{:.2f}", v);
  }
  return Json{{"lo", c.lo}, {"size", c.size}, {"log_factor", text}};
}

Correction correction_from_json(const Json& j, const std::string& where) {
  JsonObjectReader r(j, where);
  Correction c;
  c.lo = r.required("lo").get<std::vector<int>>();
  c.size = r.required("size").get<std::vector<int>>();
  const Json& lf = r.required("log_factor");
  if (!lf.is_string()) throw UserError(fmt::format("{}: 'log_factor' must be a string of numbers", where));
  const std::string_view text = lf.get_ref<const std::string&>();
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ')
      ++pos;
    std::size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) {
      // from_chars straight on the token (the start-up reads ~50k of them); anything it does not
      // take whole goes through parse_double, which decides.
      const std::string_view token = text.substr(pos, end - pos);
      double v = 0;
      const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
      if (ec != std::errc{} || ptr != token.data() + token.size() || !std::isfinite(v)) {
        const auto parsed = parse_double(token);
        if (!parsed) throw UserError(fmt::format("{}: 'log_factor' holds a non-number", where));
        v = *parsed;
      }
      c.log_factor.push_back(static_cast<float>(v));
    }
    pos = end;
  }
  r.reject_unknown();
  std::size_t n = c.size.empty() ? 0 : 1;
  for (int s : c.size)
    n *= static_cast<std::size_t>(std::max(0, s));
  if (c.lo.size() != c.size.size() || c.size.size() > 4 || n != c.log_factor.size()) {
    throw UserError(
        fmt::format("{}: inconsistent correction grid (lo, size and log_factor disagree)", where));
  }
  return c;
}

}  // namespace

void Correction::prepare() {
  if (factor_.size() == log_factor.size() && prepared_from_ == log_factor) return;  // already
  factor_.resize(log_factor.size());
  for (std::size_t i = 0; i < log_factor.size(); ++i)
    factor_[i] = std::exp(log_factor[i]);
  prepared_from_ = log_factor;
}

void Correction::set_prepared(std::vector<float> factors) {
  APEX_ASSERT(factors.size() == log_factor.size(), "prepared factors of another grid");
  factor_ = std::move(factors);
  prepared_from_ = log_factor;
}

void prepare_corrections(OpParams& p) {
  for (auto* group : {&p.gemm_correction, &p.moe_correction}) {
    for (auto& c : *group)
      c.prepare();
  }
  for (auto& c : p.prefill_correction)
    c.prepare();
  for (auto& c : p.decode_correction)
    c.prepare();
  for (auto& c : p.intra_correction)
    c.prepare();
  for (auto& c : p.inter_correction)
    c.prepare();
}

Json params_to_json(const OpParams& p) {
  Json j;
  j["source"] = p.source;
  for (int i = 0; i < static_cast<int>(OpParams::kGemmClasses); ++i) {
    const auto s = static_cast<std::size_t>(i);
    if (!p.gemm_fitted[s]) continue;
    j["gemm"][kGemmKeys[i]] = gemm_json(p.gemm[s]);
    if (!p.gemm_correction[s].empty())
      j["gemm"][kGemmKeys[i]]["correction"] = correction_json(p.gemm_correction[s]);
  }
  j["attention_prefill"] = Json{{"t0_us", p.prefill.t0 * 1e6},
                                {"e_max", p.prefill.e_max},
                                {"q_half", p.prefill.q_half},
                                {"par_half", p.prefill.par_half}};
  for (std::size_t i = 0; i < 2; ++i) {
    if (!p.prefill_correction[i].empty()) {
      j["attention_prefill"][i == 0 ? "correction_kv16" : "correction_kv8"] =
          correction_json(p.prefill_correction[i]);
    }
  }
  j["attention_decode"] = Json{{"t0_us", p.decode.t0 * 1e6},
                               {"t_seq_us", p.decode.t_seq * 1e6},
                               {"mem_eff", p.decode.mem_eff},
                               {"par_half", p.decode.par_half}};
  for (std::size_t i = 0; i < 2; ++i) {
    if (!p.decode_correction[i].empty()) {
      j["attention_decode"][i == 0 ? "correction_kv16" : "correction_kv8"] =
          correction_json(p.decode_correction[i]);
    }
  }
  for (std::size_t i = 0; i < kNumCollectives; ++i) {
    j["collectives_intra_node"][kCommKeys[i]] = comm_json(p.intra[i]);
    j["collectives_inter_node"][kCommKeys[i]] = comm_json(p.inter[i]);
    if (!p.intra_correction[i].empty()) {
      j["collectives_intra_node"][kCommKeys[i]]["correction"] = correction_json(p.intra_correction[i]);
    }
    if (!p.inter_correction[i].empty()) {
      j["collectives_inter_node"][kCommKeys[i]]["correction"] = correction_json(p.inter_correction[i]);
    }
  }
  j["elementwise"] = Json{{"t0_us", p.elementwise.t0 * 1e6}, {"mem_eff", p.elementwise.mem_eff}};
  for (std::size_t i = 0; i < OpParams::kGemmClasses; ++i) {
    if (!p.moe_fitted[i]) continue;
    const MoeFit& f = p.moe[i];
    j["moe"][kGemmKeys[i]] = Json{{"t0_us", f.t0 * 1e6},
                                  {"e_max", f.e_max},
                                  {"m_half", f.m_half},
                                  {"mem_eff", f.mem_eff},
                                  {"expert_mb_half", f.expert_bytes_half * 1e-6},
                                  {"width_half", f.width_half},
                                  {"ep_mem_eff", f.ep_mem_eff}};
    if (!p.moe_correction[i].empty())
      j["moe"][kGemmKeys[i]]["correction"] = correction_json(p.moe_correction[i]);
  }
  return j;
}

OpParams params_from_json(const Json& j, const std::string& where) {
  OpParams p;
  JsonObjectReader r(j, where);
  p.source = r.string_or("source", "unknown");
  r.ignore({"gpu", "fit_quality"});
  if (const Json* g = r.optional("gemm")) {
    JsonObjectReader gr(*g, where + ": gemm");
    for (int i = 0; i < static_cast<int>(OpParams::kGemmClasses); ++i) {
      if (const Json* e = gr.optional(kGemmKeys[i])) {
        JsonObjectReader er(*e, fmt::format("{}: gemm.{}", where, kGemmKeys[i]));
        GemmFit& f = p.gemm[static_cast<std::size_t>(i)];
        f.t0 = er.number("t0_us") * 1e-6;
        f.e_max = er.number("e_max");
        f.m_half = er.number("m_half");
        f.n_half = er.number("n_half");
        f.k_half = er.number("k_half");
        f.mem_eff = er.number("mem_eff");
        if (const Json* c = er.optional("correction")) {
          p.gemm_correction[static_cast<std::size_t>(i)] = correction_from_json(*c, er.path("correction"));
        }
        er.reject_unknown();
        p.gemm_fitted[static_cast<std::size_t>(i)] = true;
      }
    }
    gr.reject_unknown();
    // Unfitted classes borrow the 16-bit fit (their own peak and bytes still apply).
    for (std::size_t i = 1; i < OpParams::kGemmClasses; ++i) {
      if (!p.gemm_fitted[i]) p.gemm[i] = p.gemm[i == 4 && p.gemm_fitted[1] ? 1 : 0];
    }
  }
  if (const Json* a = r.optional("attention_prefill")) {
    JsonObjectReader ar(*a, where + ": attention_prefill");
    p.prefill.t0 = ar.number("t0_us") * 1e-6;
    p.prefill.e_max = ar.number("e_max");
    p.prefill.q_half = ar.number("q_half");
    p.prefill.par_half = ar.number("par_half");
    if (const Json* c = ar.optional("correction_kv16"))
      p.prefill_correction[0] = correction_from_json(*c, ar.path("correction_kv16"));
    if (const Json* c = ar.optional("correction_kv8"))
      p.prefill_correction[1] = correction_from_json(*c, ar.path("correction_kv8"));
    ar.reject_unknown();
  }
  if (const Json* a = r.optional("attention_decode")) {
    JsonObjectReader ar(*a, where + ": attention_decode");
    p.decode.t0 = ar.number("t0_us") * 1e-6;
    p.decode.t_seq = ar.number("t_seq_us") * 1e-6;
    p.decode.mem_eff = ar.number("mem_eff");
    p.decode.par_half = ar.number("par_half");
    if (const Json* c = ar.optional("correction_kv16"))
      p.decode_correction[0] = correction_from_json(*c, ar.path("correction_kv16"));
    if (const Json* c = ar.optional("correction_kv8"))
      p.decode_correction[1] = correction_from_json(*c, ar.path("correction_kv8"));
    ar.reject_unknown();
  }
  auto read_comm = [&](const char* key, std::array<CommFit, kNumCollectives>& out,
                       std::array<Correction, kNumCollectives>& corr) {
    if (const Json* c = r.optional(key)) {
      JsonObjectReader cr(*c, fmt::format("{}: {}", where, key));
      for (std::size_t i = 0; i < kNumCollectives; ++i) {
        if (const Json* e = cr.optional(kCommKeys[i])) {
          JsonObjectReader er(*e, fmt::format("{}: {}.{}", where, key, kCommKeys[i]));
          CommFit& f = out[i];
          f.a0 = er.number("a0_us") * 1e-6;
          f.a1 = er.number("a1_us") * 1e-6;
          f.bw_eff = er.number("bw_eff");
          f.b_half = er.number("b_half_bytes");
          if (const Json* cj = er.optional("correction"))
            corr[i] = correction_from_json(*cj, er.path("correction"));
          er.reject_unknown();
        }
      }
      cr.reject_unknown();
    }
  };
  read_comm("collectives_intra_node", p.intra, p.intra_correction);
  read_comm("collectives_inter_node", p.inter, p.inter_correction);
  if (const Json* g = r.optional("moe")) {
    JsonObjectReader gr(*g, where + ": moe");
    for (std::size_t i = 0; i < OpParams::kGemmClasses; ++i) {
      if (const Json* e = gr.optional(kGemmKeys[i])) {
        JsonObjectReader er(*e, fmt::format("{}: moe.{}", where, kGemmKeys[i]));
        MoeFit& f = p.moe[i];
        f.t0 = er.number("t0_us") * 1e-6;
        f.e_max = er.number("e_max");
        f.m_half = er.number("m_half");
        f.mem_eff = er.number("mem_eff");
        if (er.optional("expert_mb_half")) f.expert_bytes_half = er.number("expert_mb_half") * 1e6;
        if (er.optional("width_half")) f.width_half = er.number("width_half");
        if (er.optional("ep_mem_eff")) f.ep_mem_eff = er.number("ep_mem_eff");
        if (const Json* c = er.optional("correction"))
          p.moe_correction[i] = correction_from_json(*c, er.path("correction"));
        er.reject_unknown();
        p.moe_fitted[i] = true;
      }
    }
    gr.reject_unknown();
    for (std::size_t i = 1; i < OpParams::kGemmClasses; ++i) {
      if (!p.moe_fitted[i]) p.moe[i] = p.moe[i == 4 && p.moe_fitted[1] ? 1 : 0];
    }
  }
  if (const Json* e = r.optional("elementwise")) {
    JsonObjectReader er(*e, where + ": elementwise");
    p.elementwise.t0 = er.number("t0_us") * 1e-6;
    p.elementwise.mem_eff = er.number("mem_eff");
    er.reject_unknown();
  }
  r.reject_unknown();
  return p;
}

}  // namespace apex
