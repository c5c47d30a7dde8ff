// search/planner.cpp — plan enumeration, cheap rejection, analytical bounds, parallel simulation.
#include "search/planner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "core/stats.h"
#include "perf/batch_shape.h"
#include "perf/cost_model.h"
#include "search/knob_reuse.h"

namespace apex {

std::string Candidate::label() const {
  std::string s = plan.label();
  if (knobs.max_num_seqs) s += fmt::format("-seqs{}", *knobs.max_num_seqs);
  if (knobs.max_num_batched_tokens) s += fmt::format("-tok{}", *knobs.max_num_batched_tokens);
  return s;
}

namespace {

// The cluster size as the planner sees it: nodes × GPUs per node, without overflow.
int search_gpus(const Deployment& d) {
  const std::int64_t n = static_cast<std::int64_t>(d.cluster.nodes) * d.cluster.gpus_per_node;
  if (n > kMaxClusterGpus) {
    throw UserError(fmt::format(
        "the cluster has {} GPUs ({} nodes x {}), more than the planner's limit of {}; "
        "search a smaller cluster ({}, {})",
        n, d.cluster.nodes, d.cluster.gpus_per_node, kMaxClusterGpus, opt("nodes"), opt("gpus_per_node")));
  }
  return static_cast<int>(n);
}

// Per-cell mappings of a MoE model under `tp`: experts over every divisor ep of tp (EP×TP), and
// data-parallel attention when the experts span the whole group.
std::vector<std::pair<int, bool>> mappings_of(const Deployment& d, int tp) {
  std::vector<std::pair<int, bool>> out{{1, false}};
  if (!d.model.is_moe()) return out;
  out.clear();
  for (int ep = 1; ep <= tp; ++ep) {
    if (tp % ep != 0) continue;
    out.emplace_back(ep, false);
    if (ep == tp && tp >= 2) out.emplace_back(ep, true);
  }
  return out;
}

// Calls f(tp, pp, min_dp, max_dp) for every shape of the plan space, in enumeration order.
template <typename F>
void for_each_shape(const Deployment& d, const SearchOptions& options, int n, F&& f) {
  const auto layers = static_cast<int>(std::min<std::int64_t>(d.model.num_layers(), n));
  for (int tp = 1; tp <= n; ++tp) {
    for (int pp = 1; pp <= n / tp; ++pp) {
      const int per_replica = tp * pp;
      if (options.plan.require_all_gpus && n % per_replica != 0) continue;
      if (pp > layers && pp > 1) continue;  // more stages than layers: not a plan
      const int max_dp = n / per_replica;
      const int min_dp = options.plan.require_all_gpus ? max_dp : 1;
      f(tp, pp, min_dp, max_dp);
    }
  }
}

std::uint64_t count_in(const Deployment& d, const SearchOptions& options, int n) {
  const std::uint64_t knobs = std::max<std::size_t>(1, options.tune_max_num_seqs.size()) *
                              std::max<std::size_t>(1, options.tune_max_num_batched_tokens.size());
  std::uint64_t count = 0;
  for_each_shape(d, options, n, [&](int tp, int, int min_dp, int max_dp) {
    std::uint64_t maps = 1;
    if (d.model.is_moe()) {
      maps = 0;
      for (int ep = 1; ep <= tp; ++ep)
        if (tp % ep == 0) maps += (ep == tp && tp >= 2) ? 2 : 1;
    }
    count += static_cast<std::uint64_t>(max_dp - min_dp + 1) * maps * knobs;
  });
  return count;
}

}  // namespace

std::uint64_t count_plans(const Deployment& d, const SearchOptions& options) {
  return count_in(d, options, search_gpus(d));
}

std::vector<Candidate> enumerate_plans(const Deployment& d, const SearchOptions& options) {
  const int n = search_gpus(d);
  const std::uint64_t count = count_in(d, options, n);
  if (count > options.max_candidates) {
    throw UserError(fmt::format(
        "the plan space has {} candidate plans, more than the limit of {}; narrow the search: fewer GPUs "
        "({}, {}), fewer {} values{}",
        count, options.max_candidates, opt("nodes"), opt("gpus_per_node"), opt("tune"),
        options.plan.require_all_gpus ? "" : fmt::format(", or without {}", opt("allow_fewer_gpus"))));
  }
  std::vector<int> seqs = options.tune_max_num_seqs;
  std::vector<int> toks = options.tune_max_num_batched_tokens;
  if (seqs.empty()) seqs.push_back(0);  // 0 = engine default
  if (toks.empty()) toks.push_back(0);
  std::vector<Candidate> out;
  out.reserve(static_cast<std::size_t>(count));
  std::uint64_t id = 0;
  for_each_shape(d, options, n, [&](int tp, int pp, int min_dp, int max_dp) {
    const std::vector<std::pair<int, bool>> mappings = mappings_of(d, tp);
    for (int dp = min_dp; dp <= max_dp; ++dp) {
      for (const auto& [ep, attn_dp] : mappings) {
        for (int s : seqs) {
          for (int t : toks) {
            Candidate c;
            c.id = id++;
            c.plan.dp = dp;
            c.plan.tp = tp;
            c.plan.pp = pp;
            c.plan.ep = ep;
            c.plan.attn_dp = attn_dp;
            if (s > 0) c.knobs.max_num_seqs = s;
            if (t > 0) c.knobs.max_num_batched_tokens = t;
            out.push_back(std::move(c));
          }
        }
      }
    }
  });
  APEX_ASSERT(out.size() == count, "count_plans disagrees with enumerate_plans");
  return out;
}

namespace {

// Optimistic per-request latencies of a plan: each request alone on an idle replica.
struct Bound {
  double score = 0;
  double makespan = 0;
};

class BoundCalculator {
 public:
  BoundCalculator(const Trace& trace, const PlanInstance& instance)
      : d_(instance.d()),
        trace_(trace),
        engine_(instance.engine),
        plan_(instance.plan),
        cost_(instance.sharded, d_.cluster, d_.op_model_ptr(), engine_.costs),
        shapes_(cost_, d_.model.encoder_decoder) {
    cost_.set_expert_skew(d_.expert_skew);
    cost_.set_expert_capacity_factor(d_.expert_capacity_factor);
  }

  // Seconds for one micro-batch to cross every stage (stages run back to back for one batch).
  double iteration(const BatchShape& b) {
    cost_.stage_times(b, stage_s_);
    double t = cost_.min_exposed_overhead(b);
    for (std::size_t s = 0; s < stage_s_.size(); ++s) {
      t += stage_s_[s] + cost_.pp_transfer(static_cast<int>(s), b.tokens());
    }
    return t;
  }

  Bound compute(Objective o, double price) {
    const std::size_t n = trace_.requests.size();
    std::vector<double> ttft(n), tpot, e2e(n);
    tpot.reserve(n);
    double last_end = 0;
    std::size_t meets = 0;
    double out_tokens = 0;
    const double first = ns_to_seconds(trace_.requests.front().arrival);
    const std::int64_t budget = engine_.chunked_prefill ? engine_.max_num_batched_tokens : (1LL << 40);
    for (std::size_t i = 0; i < n; ++i) {
      const Request& r = trace_.requests[i];
      // Prefill, chunked by the token budget, each chunk alone in its iteration.
      double t_first = 0;
      // Optimistic: a shared prefix may be cached (every request but its group's first).
      std::int64_t done = 0;
      if (engine_.prefix_caching && r.prefix_group >= 0) {
        done = std::min(r.prefix, r.prompt - 1) / engine_.block_size * engine_.block_size;
      }
      while (done < r.prompt) {
        const std::int64_t q = std::min<std::int64_t>(budget, r.prompt - done);
        BatchShape b;
        shapes_.add(b, TokenSpan{r.prompt, 0, done, static_cast<std::int32_t>(q)});
        done += q;
        t_first += iteration(b);
      }
      // Each later token: a one-sequence decode with at least the prompt in its KV cache.
      BatchShape dec;
      shapes_.add(dec, TokenSpan{r.prompt, 1, r.prompt, 1});
      // Local layers may read fewer keys later (a new chunk starts): the fewest over the output.
      if (cost_.has_local_attention()) {
        dec.decode_kv_window = cost_.local_kv_min(r.prompt + 1, r.prompt + std::max(1, r.output - 1));
      }
      // Speculative decoding: a step verifying k drafts emits at most k + 1 tokens; the cheapest
      // time per token over k = 0..K bounds every step.
      double t_tok = r.output > 1 ? iteration(dec) : 0;
      for (int k = 1; r.output > 1 && k <= std::min(engine_.costs.spec_tokens, r.output - 2); ++k) {
        dec.spec_tokens = k;
        t_tok = std::min(t_tok, iteration(dec) / (k + 1));
      }
      // The client-side latencies, as the collector measures them (the front end adds to both).
      const double frontend = engine_.costs.frontend_latency;
      ttft[i] = t_first + frontend;
      e2e[i] = t_first + t_tok * (r.output - 1) + frontend;
      if (r.output > 1) tpot.push_back(t_tok);
      last_end = std::max(last_end, ns_to_seconds(r.arrival) + e2e[i] - frontend);
      const bool ok = (d_.ttft_slo <= 0 || ttft[i] <= d_.ttft_slo) &&
                      (d_.tpot_slo <= 0 || r.output <= 1 || t_tok <= d_.tpot_slo);
      if (ok) ++meets;
      out_tokens += r.output;
    }
    // The optimistic result, scored by the objective's own value function.
    SimResult opt;
    opt.plan = plan_;
    opt.makespan = std::max(last_end - first, 1e-9);
    opt.output_tokens = static_cast<std::uint64_t>(out_tokens);
    opt.throughput_tokens_per_s = out_tokens / opt.makespan;
    opt.goodput_requests_per_s = static_cast<double>(meets) / opt.makespan;
    opt.slo_attainment = static_cast<double>(meets) / static_cast<double>(n);  // as optimistic as goodput
    opt.energy_per_output_token_j = d_.cluster.gpu.power_idle_w * plan_.gpus() * opt.makespan / out_tokens;
    const ObjectiveSpec& spec = objective_spec(o);
    // Summarized as the simulation summarizes them (a search keeps no request records): through
    // the same log histogram, whose percentiles are monotone in the samples, so a bound below the
    // simulation request by request stays below it after summarizing.
    auto as_simulated = [](const std::vector<double>& seconds) {
      LatencySample h;
      for (double v : seconds)
        h.add(v);
      return h.summary();
    };
    if (spec.sample == ObjectiveSample::Ttft) opt.ttft = as_simulated(ttft);
    if (spec.sample == ObjectiveSample::Tpot) opt.tpot = as_simulated(tpot);
    if (spec.sample == ObjectiveSample::E2e) opt.e2e = as_simulated(e2e);
    Bound b;
    b.makespan = opt.makespan;
    b.score = spec.value(opt, price);
    return b;
  }

 private:
  const Deployment& d_;
  const Trace& trace_;
  const EnginePolicy& engine_;
  const Plan& plan_;
  CostModel cost_;
  ShapeBuilder shapes_;
  std::vector<double> stage_s_;
};

bool better(Objective o, double a, double b) {
  return higher_is_better(o) ? a > b : a < b;
}

// Objective order: the exact value, then fewer GPUs, then plan id (the order tie groups are cut
// from, and the order the pruning threshold reads its K-th plan in).
bool rank_less(Objective o, const PlanOutcome& a, const PlanOutcome& b) {
  if (a.score != b.score) return better(o, a.score, b.score);
  if (a.candidate.plan.gpus() != b.candidate.plan.gpus())
    return a.candidate.plan.gpus() < b.candidate.plan.gpus();
  return a.candidate.id < b.candidate.id;
}

// One key of the order within a tie group (RankingInfo in planner.h).
struct TieBreak {
  std::string name;
  bool higher_is_better;
  std::function<double(const PlanOutcome&)> key;
};

std::vector<TieBreak> tie_breaks(Objective o, bool slo) {
  std::vector<TieBreak> out;
  if (slo)
    out.push_back({"SLO attainment", true, [](const PlanOutcome& p) { return p.result->slo_attainment; }});
  if (o != Objective::E2eMean)
    out.push_back({"mean E2E", false, [](const PlanOutcome& p) { return p.result->e2e.mean; }});
  out.push_back({"fewer GPUs", false,
                 [](const PlanOutcome& p) { return static_cast<double>(p.candidate.plan.gpus()); }});
  out.push_back({fmt::format("exact {}", objective_name(o)), higher_is_better(o),
                 [](const PlanOutcome& p) { return p.score; }});
  out.push_back(
      {"enumeration order", false, [](const PlanOutcome& p) { return static_cast<double>(p.candidate.id); }});
  return out;
}

// The first tie-break telling a and b apart (nullptr: none does).
const TieBreak* deciding(const std::vector<TieBreak>& breaks, const PlanOutcome& a, const PlanOutcome& b) {
  for (const TieBreak& t : breaks) {
    if (t.key(a) != t.key(b)) return &t;
  }
  return nullptr;
}

// `v` in objective order → the final ranking: tie groups cut from the top, each ordered by the
// tie-breaks.
void rank_tie_groups(std::vector<PlanOutcome>& v, const std::vector<TieBreak>& breaks) {
  const auto before = [&](const PlanOutcome& a, const PlanOutcome& b) {
    const TieBreak* t = deciding(breaks, a, b);
    if (t == nullptr) return false;
    const double ka = t->key(a), kb = t->key(b);
    return t->higher_is_better ? ka > kb : ka < kb;
  };
  int group = 0;
  for (std::size_t start = 0; start < v.size();) {
    std::size_t end = start + 1;
    while (end < v.size() && objective_tie(v[start].score, v[end].score))
      ++end;
    std::sort(v.begin() + static_cast<std::ptrdiff_t>(start), v.begin() + static_cast<std::ptrdiff_t>(end),
              before);
    ++group;
    for (std::size_t i = start; i < end; ++i)
      v[i].tie_group = group;
    start = end;
  }
}

std::string percent(double x) {
  return fmt::format("{:.1f}%", 100 * x);
}

std::optional<Candidate> baseline_candidate(const Deployment& d) {
  // Naive plan: the widest TP that fits in a node and divides the heads, DP across the rest.
  for (int tp = d.cluster.gpus_per_node; tp >= 1; --tp) {
    if (d.cluster.total_gpus() % tp != 0) continue;
    Plan p;
    p.tp = tp;
    p.pp = 1;
    p.dp = d.cluster.total_gpus() / tp;
    if (!make_plan(d.model, d.cluster, p)) {
      Candidate c;
      c.plan = p;
      c.id = std::numeric_limits<std::uint64_t>::max();
      return c;
    }
  }
  return std::nullopt;
}

}  // namespace

SearchReport search(const Deployment& d, const Trace& trace, const SearchOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  if (trace.requests.empty()) throw UserError("the workload has no requests");
  if (options.top < 1) throw UserError(fmt::format("{} must be at least 1, got {}", opt("top"), options.top));
  d.validate();
  SearchReport report;
  report.objective = options.objective;
  report.threads = options.threads > 0 ? options.threads : default_threads();
  const double price = options.price_per_gpu_hour.value_or(d.cluster.gpu.price_per_hour);
  if (options.objective == Objective::Cost && !(price > 0)) {
    // Every plan would cost $0: a ranking by cost would be a tie decided by the tie-breaks.
    throw UserError(
        fmt::format("{} cost needs a GPU price: GPU '{}' has none; pass {} (USD per GPU-hour) or set "
                    "price_per_hour_usd in the cluster file",
                    opt("objective"), d.cluster.gpu.name, opt("gpu_price")));
  }
  if (options.objective == Objective::Goodput && d.ttft_slo <= 0 && d.tpot_slo <= 0) {
    throw UserError(fmt::format("{} goodput needs {} and/or {}", opt("objective"), opt("ttft_slo_ms"),
                                opt("tpot_slo_ms")));
  }
  RankingInfo& ranking = report.ranking;
  ranking.objective_is_default = options.objective_is_default;
  ranking.slo = d.ttft_slo > 0 || d.tpot_slo > 0;
  ranking.min_attainment = options.min_attainment.value_or(ranking.slo ? kDefaultMinAttainment : 0.0);
  if (!(ranking.min_attainment >= 0 && ranking.min_attainment <= 1)) {
    throw UserError(fmt::format("{} must be a fraction of requests in 0..1, got {}", opt("min_attainment"),
                                ranking.min_attainment));
  }
  const std::vector<TieBreak> breaks = tie_breaks(options.objective, ranking.slo);
  for (const TieBreak& t : breaks)
    ranking.tie_breaks.push_back(t.name);
  const std::int64_t longest = required_kv_tokens(d, trace.max_total());
  const bool tpot_objective = options.objective == Objective::TpotMean ||
                              options.objective == Objective::TpotP50 ||
                              options.objective == Objective::TpotP99;
  if (tpot_objective && std::all_of(trace.requests.begin(), trace.requests.end(),
                                    [](const Request& r) { return r.output <= 1; })) {
    throw UserError(
        fmt::format("{} tpot is undefined: every request generates one token (TPOT needs two); rank by ttft "
                    "or e2e instead",
                    opt("objective")));
  }
  if (longest > d.effective_max_model_len()) {
    const std::int64_t mml = d.effective_max_model_len();
    const MaxModelLenAdvice a = max_model_len_advice(d);
    const std::string fix = a.can_raise ? "; " + a.text : ", " + a.text + "; shorten the requests";
    throw UserError(
        fmt::format("the workload's longest request needs {} tokens but the max model length is {}{}",
                    longest, mml, fix));
  }

  std::vector<Candidate> all = enumerate_plans(d, options);
  report.enumerated = all.size();
  std::vector<PlanOutcome> feasible;
  std::optional<std::pair<double, PlanOutcome>> nearest;  // (shortfall ratio, outcome)
  auto reject = [&](PlanOutcome&& o) {
    ++report.rejected[o.reason];
    if (std::none_of(report.rejected_examples.begin(), report.rejected_examples.end(),
                     [&](const PlanOutcome& e) { return e.reason == o.reason; })) {
      report.rejected_examples.push_back(o);
    }
  };
  // 1. Shape and memory: cheap, sequential, deterministic.
  for (auto& c : all) {
    PlanOutcome o;
    o.candidate = c;
    auto made = instantiate(d, c.plan, c.knobs, longest, options.plan);
    if (auto* why = std::get_if<PlanRejection>(&made)) {
      o.reason = reject_code(why->reason);
      o.detail = why->detail;
      if (why->shortfall > 0 && (!nearest || why->shortfall < nearest->first)) {
        nearest = std::make_pair(why->shortfall, o);
      }
      reject(std::move(o));
      continue;
    }
    o.instance = std::get<PlanInstance>(std::move(made));
    o.candidate.plan = o.instance->plan;
    o.feasible = true;
    feasible.push_back(std::move(o));
  }
  report.feasible = feasible.size();
  if (options.progress != nullptr) options.progress->set_total(feasible.size());
  if (feasible.empty()) {
    std::string hist;
    for (const auto& [k, v] : report.rejected)
      hist += fmt::format("\n  {:<22} {}", k, v);
    std::string miss;
    if (nearest) {
      miss = fmt::format("\nnearest miss: {}: {}; try more GPUs, {} fp8 or int4, {} fp8",
                         nearest->second.candidate.label(), nearest->second.detail, opt("weight_dtype"),
                         opt("kv_dtype"));
    }
    throw UserError(fmt::format("no feasible plan among {} for {} on {}; rejections:{}{}", report.enumerated,
                                d.model.name, d.cluster.describe(), hist, miss));
  }

  // 2. Bounds (parallel; each entry written by one worker).
  parallel_for(feasible.size(), report.threads, [&](std::size_t i) {
    PlanOutcome& o = feasible[i];
    BoundCalculator calc(trace, *o.instance);
    o.bound = calc.compute(options.objective, price).score;
  });
  std::sort(feasible.begin(), feasible.end(), [&](const PlanOutcome& a, const PlanOutcome& b) {
    if (a.bound != b.bound) return better(options.objective, a.bound, b.bound);
    return a.candidate.id < b.candidate.id;
  });

  // 3. Simulate in waves; between waves, prune plans whose bound cannot beat the K-th best.
  std::vector<PlanOutcome> done;
  std::optional<std::pair<std::string, double>> best_missed;  // (plan, attainment) below the minimum
  const auto k = static_cast<std::size_t>(options.top);
  const std::size_t wave = static_cast<std::size_t>(std::max(1, options.wave));
  const auto score = [&](PlanOutcome& o) {
    o.score = objective_value(options.objective, *o.result, price);
    o.cost_per_million_tokens = cost_per_million_output_tokens(*o.result, price);
  };
  // Knob reuse reads the limits a run met (SimResult::limits): the scheduler records them as it
  // builds steps, and a fast-forwarded stretch records what each of its steps' builds would
  // (BatchScheduler::record_steady_step), so tuned searches fast-forward too.
  const std::function<void(PlanOutcome&)> simulate_one = [&](PlanOutcome& o) {
    auto src = source_of(trace);
    RunOptions run;
    run.fast_forward = options.fast_forward;
    o.result = simulate(*o.instance, *src, run);
    score(o);
  };
  const auto run = [&](std::vector<PlanOutcome*>& batch) {
    if (options.runner) {
      options.runner(batch, report.threads, simulate_one);
      if (options.progress != nullptr) options.progress->add_done(batch.size());
    } else {
      // Longest first (a plan's work grows with its replicas and stages), so that a long plan
      // does not start last while the other threads idle; only the order of execution changes.
      std::vector<PlanOutcome*> order = batch;
      const auto work = [](const PlanOutcome* o) { return o->candidate.plan.dp * o->candidate.plan.pp; };
      std::stable_sort(order.begin(), order.end(),
                       [&](const PlanOutcome* a, const PlanOutcome* b) { return work(a) > work(b); });
      parallel_for(order.size(), report.threads, [&](std::size_t i) {
        simulate_one(*order[i]);
        if (options.progress != nullptr) options.progress->add_done();  // from the worker: atomic
      });
    }
  };
  // Knob settings of a plan that cannot change its run take an earlier run's result.
  const std::uint64_t settings = std::max<std::size_t>(1, options.tune_max_num_seqs.size()) *
                                 std::max<std::size_t>(1, options.tune_max_num_batched_tokens.size());
  KnobReuse reuse(settings);
  const auto reused = [&](PlanOutcome& o) {
    score(o);
    if (options.progress != nullptr) options.progress->add_done();
  };
  std::size_t next = 0;
  while (next < feasible.size()) {
    std::vector<PlanOutcome*> batch;
    while (next < feasible.size() && batch.size() < wave) {
      PlanOutcome& o = feasible[next++];
      if (!options.exhaustive && done.size() >= k) {
        // The bound is optimistic; a 2% margin keeps pruning exact where the cost model is not
        // perfectly monotone in batch composition (tested: pruned == exhaustive). A plan ranks
        // in the top K only if it ties with a plan at least as good as the K-th (the tie groups
        // are cut in objective order), so the threshold is the K-th widened by the tie tolerance.
        const double kth = done[k - 1].score;
        const bool higher = higher_is_better(options.objective);
        const double reach = higher ? kth * (1 - kObjectiveTieTolerance) : kth / (1 - kObjectiveTieTolerance);
        const double margin = higher ? 1.02 : 0.98;
        if (better(options.objective, reach, o.bound * margin)) {
          ++report.pruned;
          if (options.progress != nullptr) options.progress->add_pruned();
          continue;
        }
      }
      batch.push_back(&o);
    }
    if (options.reuse_knobs && settings > 1) {
      report.reused += reuse.run_wave(batch, run, reused);
    } else {
      run(batch);
    }
    for (PlanOutcome* o : batch) {
      const SimResult& r = *o->result;
      const std::string label = o->candidate.label();
      if (report.simulated == 0 || r.ttft.mean < ranking.best_ttft_mean) {
        ranking.best_ttft_mean = r.ttft.mean;
        ranking.best_ttft_plan = label;
      }
      if (report.simulated == 0 || r.tpot.mean < ranking.best_tpot_mean) {
        ranking.best_tpot_mean = r.tpot.mean;
        ranking.best_tpot_plan = label;
      }
      ++report.simulated;
      if (r.slo_attainment < ranking.min_attainment) {
        if (!best_missed || r.slo_attainment > best_missed->second) best_missed = {label, r.slo_attainment};
        PlanOutcome slim;
        slim.candidate = o->candidate;
        slim.reason = kRejectBelowMinAttainment;
        slim.detail = fmt::format("meets the SLOs for {} of requests, below {} {}", percent(r.slo_attainment),
                                  opt("min_attainment"), ranking.min_attainment);
        reject(std::move(slim));
        continue;
      }
      done.push_back(*o);
    }
    std::sort(done.begin(), done.end(),
              [&](const PlanOutcome& a, const PlanOutcome& b) { return rank_less(options.objective, a, b); });
  }
  if (report.pruned > 0) report.rejected["bound-cannot-beat-top-k"] += report.pruned;
  if (done.empty()) {  // every plan was simulated (nothing is pruned before K plans are kept)
    throw UserError(fmt::format(
        "no plan meets the SLOs for {} of requests ({} {}): the best, {}, meets them for {}; over all {} "
        "feasible plans the best mean TTFT is {:.1f} ms ({}) and the best mean TPOT {:.1f} ms ({}); loosen "
        "the SLOs, add GPUs, use {} fp8, lower the load, or lower {} (0 ranks every plan)",
        percent(ranking.min_attainment), opt("min_attainment"), ranking.min_attainment, best_missed->first,
        percent(best_missed->second), report.simulated, ranking.best_ttft_mean * 1e3, ranking.best_ttft_plan,
        ranking.best_tpot_mean * 1e3, ranking.best_tpot_plan, opt("weight_dtype"), opt("min_attainment")));
  }

  // Baseline for the speed-up figure.
  if (auto base = baseline_candidate(d)) {
    auto it = std::find_if(done.begin(), done.end(), [&](const PlanOutcome& o) {
      return o.candidate.plan.dp == base->plan.dp && o.candidate.plan.tp == base->plan.tp &&
             o.candidate.plan.pp == base->plan.pp && o.candidate.plan.ep == 1 && !o.candidate.plan.attn_dp &&
             !o.candidate.knobs.max_num_seqs && !o.candidate.knobs.max_num_batched_tokens;
    });
    if (it != done.end()) {
      report.baseline = *it;
    } else {
      PlanOutcome o;
      o.candidate = *base;
      auto made = instantiate(d, o.candidate.plan, {}, longest, options.plan);
      if (auto* why = std::get_if<PlanRejection>(&made)) {
        report.baseline_note =
            fmt::format("the naive plan {} does not fit: {}", o.candidate.plan.label(), why->detail);
      } else {
        o.instance = std::get<PlanInstance>(std::move(made));
        o.candidate.plan = o.instance->plan;
        o.feasible = true;
        simulate_one(o);
        report.baseline = o;
      }
    }
  } else {
    report.baseline_note = "no naive plan (max TP within a node) divides the attention heads";
  }
  rank_tie_groups(done, breaks);
  if (done.size() > k) done.resize(k);
  ranking.tied = static_cast<std::size_t>(
      std::count_if(done.begin(), done.end(), [](const PlanOutcome& o) { return o.tie_group == 1; }));
  if (ranking.tied > 1) {
    const TieBreak* t = deciding(breaks, done[0], done[1]);
    ranking.decided_by = t != nullptr ? t->name : "enumeration order";
  }
  report.ranked = std::move(done);
  report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace apex
