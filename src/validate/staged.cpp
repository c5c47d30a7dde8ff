// validate/staged.cpp — reads measured multi-stage serving runs, simulates each as one load
// profile, compares stage by stage and fits the front-end latency (validate/staged.h).
#include "validate/staged.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/stats.h"
#include "core/text.h"
#include "model/registry.h"
#include "sim/instance.h"
#include "validate/csv_table.h"

namespace apex {
namespace {

// The repository name without the organisation and a quantization suffix.
std::string repo_tail(const std::string& hf_id) {
  std::string t = to_lower(hf_id.substr(hf_id.find('/') == std::string::npos ? 0 : hf_id.find('/') + 1));
  for (const char* suffix : {"-fp8-dynamic", "-fp8"}) {
    const std::string s(suffix);
    if (t.size() > s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0)
      t.resize(t.size() - s.size());
  }
  return t;
}

// Field values are captured whole (up to a space, ';' or ','), then parsed strictly: "1.2.3",
// "-5" or "1e20" is an error naming the field and its range, never a partial or wrapped number.
constexpr const char* kValue = R"(([^\s;,]+))";

std::optional<std::string> find_value(const std::string& text, const std::string& before,
                                      const std::string& after = "") {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(before + kValue + after))) return std::nullopt;
  return m[1].str();
}

// A whole number within [lo, hi].
std::int64_t count_in(const std::string& value, const std::string& where, const char* field, std::int64_t lo,
                      std::int64_t hi) {
  const auto v = parse_int(value);
  if (!v || *v < lo || *v > hi) {
    throw UserError(fmt::format("{}: {} {} is not a whole number from {} to {}", where, field,
                                quote_value(value), lo, hi));
  }
  return *v;
}

// A finite number with lo < v <= hi.
double real_in(const std::string& value, const std::string& where, const char* field, double lo, double hi,
               const char* unit) {
  const auto v = parse_double(value);
  if (!v || !(*v > lo) || !(*v <= hi)) {
    throw UserError(fmt::format("{}: {} {} is {}: expected above {:g} and at most {:g}{}", where, field,
                                quote_value(value), v ? "outside the plausible range" : "not a number", lo,
                                hi, unit));
  }
  return *v;
}

// Ranges of the recorded workloads and server settings (the real runs: a few tens of prompts and
// users, hundreds of tokens, tens of req/s for minutes).
constexpr std::int64_t kMaxGroups = 1'000'000;
constexpr double kMaxRate = 1e6;                // req/s
constexpr double kMaxStageSeconds = 1e6;        // ~11.6 days
constexpr double kMaxRunRequests = 10'000'000;  // offered requests over all stages of a run
constexpr std::int64_t kMaxKvBlocks = 1'000'000'000'000;
// A measured client-side time: from 1 us (a TTFT below it is not a measurement) to 1e6 s.
constexpr double kMinMeasuredSeconds = 1e-6;
constexpr double kMaxMeasuredSeconds = 1e6;

void parse_workload(StagedRun& r, const std::string& text, const std::string& where) {
  auto need = [&](const std::string& before, const std::string& after, const char* what, std::int64_t lo,
                  std::int64_t hi) {
    const auto v = find_value(text, before, after);
    if (!v) throw UserError(fmt::format("{}: workload has no {}", where, what));
    return static_cast<int>(count_in(*v, where, what, lo, hi));
  };
  r.groups = need("", " system prompts", "system prompt count", 1, kMaxGroups);
  r.users = need("x ", " users", "user count", 1, kMaxGroups);
  r.system_len = need("system_prompt_len=", "", "system_prompt_len", 0, kMaxRequestTokens);
  r.question_len = need("question_len=", "", "question_len", 1, kMaxRequestTokens);
  r.output_len = need("output_len=", "", "output_len", 1, kMaxRequestTokens);
  if (static_cast<std::int64_t>(r.system_len) + r.question_len + r.output_len > kMaxRequestTokens) {
    throw UserError(fmt::format(
        "{}: system_prompt_len + question_len + output_len = {} tokens, above the limit of {}", where,
        static_cast<std::int64_t>(r.system_len) + r.question_len + r.output_len, kMaxRequestTokens));
  }
  const auto at = text.find("stages:");
  if (at == std::string::npos) throw UserError(fmt::format("{}: workload has no stages", where));
  const std::string tail = text.substr(at, text.find(';', at) - at);
  const std::regex stage(std::string(kValue) + " req/s x " + kValue + " s");
  double offered = 0;
  for (auto it = std::sregex_iterator(tail.begin(), tail.end(), stage); it != std::sregex_iterator(); ++it) {
    const double rate = real_in((*it)[1].str(), where, "stage rate (req/s)", 0, kMaxRate, " req/s");
    const double seconds = real_in((*it)[2].str(), where, "stage duration (s)", 0, kMaxStageSeconds, " s");
    offered += rate * seconds;
    r.stages.push_back(LoadStage{rate, seconds});
  }
  if (r.stages.empty()) throw UserError(fmt::format("{}: workload stages unreadable", where));
  if (r.stages.size() > kMaxLoadStages) {
    throw UserError(fmt::format("{}: the workload has {} load stages, more than the limit of {}", where,
                                r.stages.size(), kMaxLoadStages));
  }
  if (offered > kMaxRunRequests) {
    throw UserError(fmt::format("{}: the stages offer {:.3g} requests, more than the limit of {:.0f} per run",
                                where, offered, kMaxRunRequests));
  }
}

void parse_flags(StagedRun& r, const std::string& flags, const std::string& where) {
  if (auto v = find_value(flags, "--max-num-batched-tokens "))
    r.max_num_batched_tokens =
        static_cast<int>(count_in(*v, where, "--max-num-batched-tokens", 1, kMaxNumBatchedTokensLimit));
  if (auto v = find_value(flags, "--max-num-seqs "))
    r.max_num_seqs = static_cast<int>(count_in(*v, where, "--max-num-seqs", 1, kMaxNumSeqsLimit));
  if (auto v = find_value(flags, "--gpu-memory-utilization "))
    r.gpu_memory_utilization = real_in(*v, where, "--gpu-memory-utilization", 0, 1, "");
  std::int64_t cpu_blocks = 0;
  if (auto v = find_value(flags, "CPU KV blocks="))
    cpu_blocks = count_in(*v, where, "CPU KV blocks", 0, kMaxKvBlocks);
  if (auto v = find_value(flags, "GPU KV blocks="))
    r.gpu_kv_blocks = count_in(*v, where, "GPU KV blocks", 1, kMaxKvBlocks);
  r.cpu_offload = flags.find("CPU KV offload=ON") != std::string::npos || cpu_blocks > 0;
}

std::string gpu_for(const std::string& text) {
  const std::string t = to_lower(text);
  if (t.find("h100") != std::string::npos) return "h100-sxm";
  if (t.find("a100") != std::string::npos) return "a100-sxm-80gb";
  if (t.find("l40s") != std::string::npos) return "l40s";
  return "";
}

double log_err(double sim, double meas) {
  return std::fabs(std::log(sim / meas));
}

void run_case(StagedCase& c) {
  const StagedRun& r = c.run;
  c.model = preset_for_hf_model(r.hf_model);
  c.gpu = gpu_for(r.gpu_text);
  if (c.model.empty()) {
    c.skip_reason = fmt::format("no preset for {}", r.hf_model);
    return;
  }
  if (c.gpu.empty()) {
    c.skip_reason = fmt::format("no GPU preset for {}", r.gpu_text);
    return;
  }
  try {
    Deployment d;
    d.model = load_model(c.model);
    d.cluster = make_cluster(c.gpu, 1, r.tp);
    if (to_lower(r.dtype_text).find("fp8") != std::string::npos) {
      d.precision.weight = DType::FP8;  // compressed-tensors FP8-dynamic: W8A8
      d.precision.activation = DType::FP8;
    }
    d.engine = "vllm";
    // Recorded where the run recorded them; else the values every recorded run used (data notes).
    d.max_model_len = 4096;
    d.engine_overrides.max_num_batched_tokens = r.max_num_batched_tokens;
    d.engine_overrides.max_num_seqs = r.max_num_seqs.value_or(128);
    d.engine_overrides.gpu_memory_utilization = r.gpu_memory_utilization.value_or(0.9);
    d.engine_overrides.frontend_latency_s = 0.0;  // engine-side; the fit adds it
    d.validate();
    Plan p;
    p.tp = r.tp;
    const PlanInstance inst = instantiate_or_throw(d, p, {}, r.system_len + r.question_len + r.output_len);
    c.kv_blocks = inst.memory.kv_tokens() / inst.engine.block_size;
    SyntheticSpec w;
    w.prompt = LengthDist::parse(std::to_string(r.question_len), "question_len");
    w.output = LengthDist::parse(std::to_string(r.output_len), "output_len");
    w.shared_prefix = r.system_len;
    w.prefix_groups = r.groups;
    w.stages = r.stages;
    auto src = synthetic_source(w);
    RunOptions o;
    o.stages = r.stages;
    const SimResult res = simulate(inst, *src, o);
    c.setup =
        fmt::format("vllm {} {} W{}, max-num-batched-tokens {}, max-num-seqs {}{}", inst.plan.label(), c.gpu,
                    dtype_name(d.precision.weight), r.max_num_batched_tokens, r.max_num_seqs.value_or(128),
                    r.cpu_offload ? " (CPU KV offload not simulated)" : "");
    for (std::size_t k = 0; k < r.stages.size(); ++k) {
      StageOutcome s;
      s.rate = r.stages[k].rate;
      s.measured = k < r.measured.size() ? r.measured[k] : std::nullopt;
      const SimResult& m = res.stages.size() == r.stages.size() ? res.stages[k].metrics : res;
      s.simulated = StageMeasure{m.ttft.mean, m.ttft.p90, m.e2e.mean, m.e2e.p90};
      s.served_fraction = s.rate > 0 ? m.requests_per_s / s.rate : 0;
      c.stages.push_back(s);
    }
    // Saturation: served < 97% of offered, or TTFT above 5x the first stage's.
    for (auto& s : c.stages) {
      s.simulated_saturated =
          s.served_fraction < kSaturatedServed ||
          s.simulated.ttft_mean > kSaturatedTtftRatio * c.stages.front().simulated.ttft_mean;
      if (s.measured && c.stages.front().measured) {
        s.measured_saturated =
            s.measured->ttft_mean > kSaturatedTtftRatio * c.stages.front().measured->ttft_mean;
      }
    }
  } catch (const UserError& e) {
    c.skip_reason = fmt::format("not expressible: {}", e.what());
    c.stages.clear();
  }
}

}  // namespace

std::string preset_for_hf_model(const std::string& hf_id) {
  // Instruct and base checkpoints share an architecture: compare without "-instruct".
  auto key = [](std::string t) {
    for (auto at = t.find("-instruct"); at != std::string::npos; at = t.find("-instruct"))
      t.erase(at, 9);
    return t;
  };
  const std::string want = key(repo_tail(hf_id));
  for (const auto& p : model_presets()) {
    if (!p.hf_id.empty() && key(repo_tail(p.hf_id)) == want) return p.name;
  }
  return "";
}

std::vector<StagedRun> read_staged_runs(const std::string& csv_path) {
  std::vector<StagedRun> runs;
  std::map<std::string, std::size_t> index;
  (void)for_each_csv_row(
      csv_path, "staged serving runs",
      {"experiment", "scope", "model", "key_flags", "gpu", "tp", "dtype", "workload", "metric", "value",
       "unit"},
      [&](std::size_t lineno, const CsvGet& get) {
        const std::string where = fmt::format("{}:{}", csv_path, lineno);
        const std::string id = get("experiment");
        auto [it, fresh] = index.emplace(id, runs.size());
        if (fresh) {
          StagedRun r;
          r.id = id;
          r.hf_model = get("model");
          r.gpu_text = get("gpu");
          r.dtype_text = get("dtype");
          r.tp = static_cast<int>(count_in(get("tp"), where, "tp", 1, 64));
          parse_flags(r, get("key_flags"), where);
          parse_workload(r, get("workload"), where);
          r.measured.assign(r.stages.size(), std::nullopt);
          runs.push_back(std::move(r));
        }
        StagedRun& r = runs[it->second];
        const std::string scope = get("scope");
        if (scope.rfind("stage_", 0) != 0) return;  // the pooled summary
        const auto k = parse_int(scope.substr(6, scope.find(' ') - 6));
        if (!k || *k < 0 || static_cast<std::size_t>(*k) >= r.stages.size()) {
          throw UserError(fmt::format("{}: scope '{}' names no stage of the run's workload", where, scope));
        }
        if (get("unit") != "s") {
          throw UserError(fmt::format("{}: unit {} of a stage metric is not 's' (seconds)", where,
                                      quote_value(get("unit"))));
        }
        const double v =
            real_in(get("value"), where, "value", kMinMeasuredSeconds, kMaxMeasuredSeconds, " s");
        auto& m = r.measured[static_cast<std::size_t>(*k)];
        if (!m) m = StageMeasure{};
        const std::string metric = get("metric");
        if (metric == "ttft_mean_s") m->ttft_mean = v;
        if (metric == "ttft_p90_s") m->ttft_p90 = v;
        if (metric == "e2e_mean_s") m->e2e_mean = v;
        if (metric == "e2e_p90_s") m->e2e_p90 = v;
      });
  for (auto& r : runs) {
    for (std::size_t k = 0; k < r.measured.size(); ++k) {
      auto& m = r.measured[k];
      if (m && !(m->ttft_mean > 0 && m->e2e_mean > 0 && m->ttft_p90 > 0 && m->e2e_p90 > 0)) m.reset();
      // The decode time per token is (E2E - TTFT) / (output_len - 1): it must be positive.
      if (m && r.output_len > 1 && !(m->e2e_mean > m->ttft_mean)) {
        throw UserError(
            fmt::format("{}: run '{}' stage_{}: e2e_mean_s {:g} is not above ttft_mean_s {:g} "
                        "({} output tokens take time)",
                        csv_path, r.id, k, m->e2e_mean, m->ttft_mean, r.output_len));
      }
    }
  }
  if (runs.empty()) {
    throw UserError(
        fmt::format("staged serving runs '{}' contains no runs (a header and nothing else)", csv_path));
  }
  return runs;
}

std::vector<StagedCase> simulate_staged(const std::vector<StagedRun>& runs, int threads, Progress* progress) {
  std::vector<StagedCase> cases(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i)
    cases[i].run = runs[i];
  if (progress != nullptr) progress->set_total(cases.size());
  parallel_for(cases.size(), threads, [&](std::size_t i) {
    run_case(cases[i]);
    if (progress != nullptr) progress->add_done();
  });
  return cases;
}

StageErrors stage_errors(const StagedCase& c, const StageOutcome& s, double f) {
  StageErrors e;
  if (!s.measured) return e;
  const StageMeasure& m = *s.measured;
  const StageMeasure& x = s.simulated;
  e.ttft_mean = (x.ttft_mean + f) / m.ttft_mean - 1;
  e.ttft_p90 = (x.ttft_p90 + f) / m.ttft_p90 - 1;
  e.e2e_mean = (x.e2e_mean + f) / m.e2e_mean - 1;
  e.e2e_p90 = (x.e2e_p90 + f) / m.e2e_p90 - 1;
  const double n = std::max(1, c.run.output_len - 1);
  e.decode = ((x.e2e_mean - x.ttft_mean) / n) / ((m.e2e_mean - m.ttft_mean) / n) - 1;
  return e;
}

double fit_frontend_latency(const std::vector<const StagedCase*>& cases) {
  double best_f = 0, best = std::numeric_limits<double>::infinity();
  for (int step = 0; step <= 500; ++step) {
    const double f = step * 1e-4;
    std::vector<double> errs;
    for (const StagedCase* c : cases) {
      for (const auto& s : c->stages) {
        if (s.measured && !s.measured_saturated)
          errs.push_back(log_err(s.simulated.ttft_mean + f, s.measured->ttft_mean));
      }
    }
    if (errs.empty()) return 0;
    std::sort(errs.begin(), errs.end());
    const double med = percentile_sorted(errs, 0.5);
    if (med < best - 1e-12) {
      best = med;
      best_f = f;
    }
  }
  return best_f;
}

StagedSummary summarize_staged(const std::vector<StagedCase>& cases,
                               const std::map<std::string, double>& frontend_by_model, double fallback_s) {
  std::vector<double> tm, tp, em, ep, dec;
  StagedSummary out;
  for (const auto& c : cases) {
    if (!c.simulated()) continue;
    const auto it = frontend_by_model.find(c.model);
    const double f = it != frontend_by_model.end() ? it->second : fallback_s;
    for (const auto& s : c.stages) {
      if (!s.measured) continue;
      const StageErrors e = stage_errors(c, s, f);
      tm.push_back(std::fabs(e.ttft_mean));
      tp.push_back(std::fabs(e.ttft_p90));
      em.push_back(std::fabs(e.e2e_mean));
      ep.push_back(std::fabs(e.e2e_p90));
      dec.push_back(std::fabs(e.decode));
      if (s.simulated_saturated != s.measured_saturated) ++out.saturation_mismatches;
    }
  }
  auto med = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : percentile_sorted(v, 0.5);
  };
  out.stages = tm.size();
  out.ttft_mean = med(tm);
  out.ttft_p90 = med(tp);
  out.e2e_mean = med(em);
  out.e2e_p90 = med(ep);
  out.decode = med(dec);
  return out;
}

StagedFit fit_staged(const std::vector<StagedCase>& cases) {
  StagedFit fit;
  std::vector<const StagedCase*> all;
  std::set<std::string> models;
  for (const auto& c : cases) {
    if (!c.simulated()) continue;
    all.push_back(&c);
    models.insert(c.model);
  }
  fit.frontend_s = fit_frontend_latency(all);
  for (const auto& m : models) {
    std::vector<const StagedCase*> others;
    for (const StagedCase* c : all) {
      if (c->model != m) others.push_back(c);
    }
    fit.lomo_frontend[m] = fit_frontend_latency(others);
  }
  fit.in_sample = summarize_staged(cases, {}, fit.frontend_s);
  fit.out_of_sample = summarize_staged(cases, fit.lomo_frontend, fit.frontend_s);
  return fit;
}

}  // namespace apex
