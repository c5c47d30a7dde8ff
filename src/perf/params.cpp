// perf/params.cpp — (de)serialization of fitted op parameters and the shipped set.
#include <fmt/format.h>

#include "core/error.h"
#include "perf/params.h"

namespace apex {

namespace embedded {
std::string_view calibration();
}

namespace {

const char* kGemmKeys[4] = {"bf16", "fp8", "int8", "int4"};
const char* kCommKeys[5] = {"all_reduce", "all_gather", "reduce_scatter", "all_to_all", "send_recv"};

Json gemm_json(const GemmFit& f) {
  return Json{{"t0_us", f.t0 * 1e6}, {"e_max", f.e_max},   {"m_half", f.m_half},
              {"n_half", f.n_half},  {"k_half", f.k_half}, {"mem_eff", f.mem_eff}};
}
Json comm_json(const CommFit& f) {
  return Json{{"a0_us", f.a0 * 1e6}, {"a1_us", f.a1 * 1e6}, {"bw_eff", f.bw_eff}, {"b_half_bytes", f.b_half}};
}

}  // namespace

Json params_to_json(const OpParams& p) {
  Json j;
  j["source"] = p.source;
  for (int i = 0; i < 4; ++i) {
    if (p.gemm_fitted[static_cast<std::size_t>(i)]) j["gemm"][kGemmKeys[i]] = gemm_json(p.gemm[static_cast<std::size_t>(i)]);
  }
  j["attention_prefill"] = Json{{"t0_us", p.prefill.t0 * 1e6},
                                {"e_max", p.prefill.e_max},
                                {"q_half", p.prefill.q_half},
                                {"par_half", p.prefill.par_half}};
  j["attention_decode"] = Json{{"t0_us", p.decode.t0 * 1e6},
                               {"t_seq_us", p.decode.t_seq * 1e6},
                               {"mem_eff", p.decode.mem_eff},
                               {"par_half", p.decode.par_half}};
  for (int i = 0; i < 5; ++i) {
    j["collectives_intra_node"][kCommKeys[i]] = comm_json(p.intra[static_cast<std::size_t>(i)]);
    j["collectives_inter_node"][kCommKeys[i]] = comm_json(p.inter[static_cast<std::size_t>(i)]);
  }
  j["elementwise"] = Json{{"t0_us", p.elementwise.t0 * 1e6}, {"mem_eff", p.elementwise.mem_eff}};
  return j;
}

OpParams params_from_json(const Json& j, const std::string& where) {
  OpParams p;
  JsonObjectReader r(j, where);
  p.source = r.string_or("source", "unknown");
  r.ignore({"gpu", "fit_quality"});
  if (const Json* g = r.optional("gemm")) {
    JsonObjectReader gr(*g, where + ": gemm");
    for (int i = 0; i < 4; ++i) {
      if (const Json* e = gr.optional(kGemmKeys[i])) {
        JsonObjectReader er(*e, fmt::format("{}: gemm.{}", where, kGemmKeys[i]));
        GemmFit& f = p.gemm[static_cast<std::size_t>(i)];
        f.t0 = er.number("t0_us") * 1e-6;
        f.e_max = er.number("e_max");
        f.m_half = er.number("m_half");
        f.n_half = er.number("n_half");
        f.k_half = er.number("k_half");
        f.mem_eff = er.number("mem_eff");
        er.reject_unknown();
        p.gemm_fitted[static_cast<std::size_t>(i)] = true;
      }
    }
    gr.reject_unknown();
    // Unfitted classes borrow the 16-bit fit (their own peak and bytes still apply).
    for (std::size_t i = 1; i < 4; ++i) {
      if (!p.gemm_fitted[i]) p.gemm[i] = p.gemm[0];
    }
  }
  if (const Json* a = r.optional("attention_prefill")) {
    JsonObjectReader ar(*a, where + ": attention_prefill");
    p.prefill.t0 = ar.number("t0_us") * 1e-6;
    p.prefill.e_max = ar.number("e_max");
    p.prefill.q_half = ar.number("q_half");
    p.prefill.par_half = ar.number("par_half");
    ar.reject_unknown();
  }
  if (const Json* a = r.optional("attention_decode")) {
    JsonObjectReader ar(*a, where + ": attention_decode");
    p.decode.t0 = ar.number("t0_us") * 1e-6;
    p.decode.t_seq = ar.number("t_seq_us") * 1e-6;
    p.decode.mem_eff = ar.number("mem_eff");
    p.decode.par_half = ar.number("par_half");
    ar.reject_unknown();
  }
  auto read_comm = [&](const char* key, std::array<CommFit, 5>& out) {
    if (const Json* c = r.optional(key)) {
      JsonObjectReader cr(*c, fmt::format("{}: {}", where, key));
      for (int i = 0; i < 5; ++i) {
        if (const Json* e = cr.optional(kCommKeys[i])) {
          JsonObjectReader er(*e, fmt::format("{}: {}.{}", where, key, kCommKeys[i]));
          CommFit& f = out[static_cast<std::size_t>(i)];
          f.a0 = er.number("a0_us") * 1e-6;
          f.a1 = er.number("a1_us") * 1e-6;
          f.bw_eff = er.number("bw_eff");
          f.b_half = er.number("b_half_bytes");
          er.reject_unknown();
        }
      }
      cr.reject_unknown();
    }
  };
  read_comm("collectives_intra_node", p.intra);
  read_comm("collectives_inter_node", p.inter);
  if (const Json* e = r.optional("elementwise")) {
    JsonObjectReader er(*e, where + ": elementwise");
    p.elementwise.t0 = er.number("t0_us") * 1e-6;
    p.elementwise.mem_eff = er.number("mem_eff");
    er.reject_unknown();
  }
  r.reject_unknown();
  return p;
}

std::optional<OpParams> shipped_params(const std::string& calibration_key) {
  static const Json all = parse_json(embedded::calibration(), "embedded data/calibration.json");
  auto it = all.find("gpus");
  if (it == all.end()) return std::nullopt;
  auto g = it->find(calibration_key);
  if (g == it->end()) return std::nullopt;
  return params_from_json(*g, "data/calibration.json: gpus." + calibration_key);
}

}  // namespace apex
