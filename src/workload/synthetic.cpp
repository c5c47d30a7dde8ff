// workload/synthetic.cpp — seeded synthetic traffic with platform-independent samplers.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "core/text.h"
#include "workload/workload.h"

namespace apex {
namespace {

// std::mt19937_64's output sequence is fixed by the standard; the distributions are not, so the
// conversions below are our own.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform_open() {                                                     // (0, 1)
    double u;
    do
      u = uniform();
    while (u <= 0.0);
    return u;
  }
  double normal() {  // Box–Muller, cached pair
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = uniform_open(), u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2 * M_PI * u2);
  }
  double exponential(double mean) { return -std::log(uniform_open()) * mean; }
  double gamma(double shape, double scale) {  // Marsaglia–Tsang
    if (shape < 1.0) return gamma(shape + 1.0, scale) * std::pow(uniform_open(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = uniform_open();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v * scale;
    }
  }

 private:
  std::mt19937_64 gen_;
  bool has_spare_ = false;
  double spare_ = 0;
};

std::int32_t sample_length(const LengthDist& d, Rng& rng) {
  double v = 0;
  switch (d.kind) {
    case LengthDist::Kind::Fixed:
      v = d.a;
      break;
    case LengthDist::Kind::Uniform:
      v = std::floor(d.a + rng.uniform() * (d.b - d.a + 1));
      break;
    case LengthDist::Kind::Normal:
      v = std::round(d.a + d.b * rng.normal());
      break;
    case LengthDist::Kind::LogNormal: {
      const double sigma2 = std::log(1.0 + (d.b * d.b) / (d.a * d.a));
      const double mu = std::log(d.a) - sigma2 / 2;
      v = std::round(std::exp(mu + std::sqrt(sigma2) * rng.normal()));
      break;
    }
  }
  // The parameters are bounded (LengthDist::parse), so v is finite; the clamp keeps the tail of an
  // unbounded distribution within kMaxRequestTokens.
  APEX_ASSERT(std::isfinite(v), "length sample is not finite");
  return static_cast<std::int32_t>(std::clamp(v, 1.0, static_cast<double>(kMaxRequestTokens)));
}

// One inter-arrival gap at `rate`: exponential (Poisson), or Gamma with CV = burstiness (shape
// 1/cv^2, scale mean*cv^2).
double arrival_gap(Rng& rng, double rate, double burstiness) {
  const double mean_gap = 1.0 / rate;
  if (burstiness == 1.0) return rng.exponential(mean_gap);
  const double shape = 1.0 / (burstiness * burstiness);
  return rng.gamma(shape, mean_gap / shape);
}

void check_burstiness(double burstiness) {
  if (!(burstiness > 0) || !std::isfinite(burstiness)) {
    throw UserError(
        fmt::format("{} must be a positive number (1 = Poisson), got {}", opt("burstiness"), burstiness));
  }
  if (burstiness < kMinBurstiness || burstiness > kMaxBurstiness) {
    throw UserError(
        fmt::format("{} must be between {} and {} (the coefficient of variation of the gaps; "
                    "1 = Poisson), got {}",
                    opt("burstiness"), kMinBurstiness, kMaxBurstiness, burstiness));
  }
}

// The most requests one synthetic run may have.
constexpr std::int64_t kMaxSyntheticRequests = 100'000'000;

class SyntheticSource final : public RequestSource {
 public:
  explicit SyntheticSource(const SyntheticSpec& s) : spec_(s), rng_(s.seed) {
    double end = 0;
    for (const LoadStage& st : spec_.stages) {
      end += st.duration_s;
      stage_end_.push_back(end);
    }
  }
  bool next(Request& out) override {
    if (spec_.stages.empty()) {
      if (static_cast<std::int64_t>(i_) >= spec_.num_requests) return false;
      if (i_ > 0 && std::isfinite(spec_.rate)) t_ += gap(spec_.rate);
    } else if (!next_staged_arrival()) {
      return false;
    }
    if (!(t_ <= 1e8)) {  // also a gap that is not finite (a rate so small its mean gap overflows)
      throw UserError(
          fmt::format("synthetic arrivals run past the simulated horizon of 1e8 s at request #{}; raise "
                      "{} or lower {}",
                      i_, opt("rate"), opt("num_requests")));
    }
    out.arrival = std::isfinite(spec_.rate) || !spec_.stages.empty() ? seconds_to_ns(t_) : 0;
    out.prompt = sample_length(spec_.prompt, rng_);
    out.output = sample_length(spec_.output, rng_);
    out.prefix_group = -1;
    out.prefix = 0;
    out.stage = static_cast<std::int32_t>(stage_);
    if (spec_.shared_prefix > 0) {
      out.prefix_group =
          static_cast<std::int64_t>(i_ % static_cast<std::uint64_t>(std::max(1, spec_.prefix_groups)));
      out.prefix = spec_.shared_prefix;
      out.prompt += spec_.shared_prefix;
    }
    out.id = i_++;
    return true;
  }

 private:
  double gap(double rate) { return arrival_gap(rng_, rate, spec_.burstiness); }
  // Advances t_ to the next arrival of the load profile; false after the last stage's end. A gap
  // that crosses a stage's end is dropped and the arrivals restart at the next stage's start at
  // its rate (for Poisson arrivals this is exactly the piecewise-constant-rate process).
  bool next_staged_arrival() {
    if (stage_ >= spec_.stages.size()) return false;
    if (i_ > 0) t_ += gap(spec_.stages[stage_].rate);
    while (!(t_ < stage_end_[stage_])) {
      if (++stage_ == spec_.stages.size()) return false;
      t_ = stage_end_[stage_ - 1] + gap(spec_.stages[stage_].rate);
    }
    if (static_cast<std::int64_t>(i_) >= kMaxSyntheticRequests) {
      throw UserError(fmt::format("the load stages of {} produce more than {} requests; shorten them",
                                  opt("rate"), kMaxSyntheticRequests));
    }
    return true;
  }

  SyntheticSpec spec_;
  Rng rng_;
  std::uint64_t i_ = 0;
  double t_ = 0;
  std::size_t stage_ = 0;
  std::vector<double> stage_end_;  // cumulative end of each stage, s
};

}  // namespace

LengthDist LengthDist::parse(const std::string& text, const std::string& where) {
  LengthDist d;
  const auto bad = [&](const std::string& why) {
    return UserError(fmt::format("{} {}: {}; write N, uniform:LO:HI, normal:MEAN:STD or lognormal:MEAN:STD",
                                 where, quote_value(text), why));
  };
  // Every parameter is a token count (or a spread of one): at most kMaxRequestTokens, so samples
  // and the moments derived from them stay finite.
  const auto max = static_cast<double>(kMaxRequestTokens);
  const auto in_range = [&](double v, const char* name, int lo) {
    if (v > max) {
      throw bad(fmt::format("{} {} is above the limit of {} tokens (valid: {} from {} to {})", name, v,
                            kMaxRequestTokens, name, lo, kMaxRequestTokens));
    }
  };
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ':') {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  auto num = [&](const std::string& s) {
    auto v = parse_double(s);
    if (!v) throw bad(fmt::format("{} is not a number", quote_value(s)));
    return *v;
  };
  if (parts.size() == 1) {
    d.kind = Kind::Fixed;
    d.a = num(parts[0]);
    if (d.a < 1 || d.a != std::floor(d.a)) throw bad("a length must be a whole number of tokens, at least 1");
    in_range(d.a, "the length", 1);
    return d;
  }
  if (parts.size() != 3) throw bad("expected a number or KIND:A:B");
  const std::string kind = to_lower(parts[0]);
  d.a = num(parts[1]);
  d.b = num(parts[2]);
  if (kind == "uniform") {
    d.kind = Kind::Uniform;
    if (d.a < 1 || d.b < d.a) throw bad("need 1 <= LO <= HI");
  } else if (kind == "normal") {
    d.kind = Kind::Normal;
    if (d.a < 1 || d.b < 0) throw bad("need MEAN >= 1 and STD >= 0");
  } else if (kind == "lognormal") {
    d.kind = Kind::LogNormal;
    if (d.a < 1 || d.b < 0) throw bad("need MEAN >= 1 and STD >= 0");
  } else {
    static const std::vector<std::string> kinds = {"uniform", "normal", "lognormal"};
    const std::string best = closest_match(parts[0], kinds);
    throw bad(fmt::format("unknown distribution {}{}", quote_value(parts[0]),
                          best.empty() ? std::string() : fmt::format(" (did you mean '{}'?)", best)));
  }
  const bool uniform = d.kind == Kind::Uniform;
  in_range(d.a, uniform ? "LO" : "MEAN", 1);
  in_range(d.b, uniform ? "HI" : "STD", uniform ? 1 : 0);
  return d;
}

double LengthDist::mean() const {
  switch (kind) {
    case Kind::Fixed:
      return a;
    case Kind::Uniform:
      return (a + b) / 2;
    case Kind::Normal:
    case Kind::LogNormal:
      return a;
  }
  return a;
}

std::int32_t LengthDist::max_value() const {
  switch (kind) {
    case Kind::Fixed:
      return static_cast<std::int32_t>(a);
    case Kind::Uniform:
      return static_cast<std::int32_t>(b);
    case Kind::Normal:
      return static_cast<std::int32_t>(std::min(std::ceil(a + 3.1 * b), double{kMaxRequestTokens}));
    case Kind::LogNormal: {  // a p99.9 beyond the sampler's clamp is the clamp
      const double sigma2 = std::log(1.0 + (b * b) / (a * a));
      return static_cast<std::int32_t>(
          std::min(std::ceil(std::exp(std::log(a) - sigma2 / 2 + 3.1 * std::sqrt(sigma2))),
                   double{kMaxRequestTokens}));
    }
  }
  return static_cast<std::int32_t>(a);
}

bool is_load_profile(const std::string& text) {
  return text.find_first_of(":,") != std::string::npos;
}

std::vector<LoadStage> parse_load_stages(const std::string& text, const std::string& where) {
  const auto bad = [&](const std::string& why) {
    return UserError(
        fmt::format("{} {}: {}; write a rate R (requests/s, or 'inf') or load stages "
                    "RATE:DURATION_S[,RATE:DURATION_S...] "
                    "(positive finite numbers, at most {} stages), e.g. 8:600,20:600",
                    where, quote_value(text), why, kMaxLoadStages));
  };
  std::vector<LoadStage> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != ',') continue;
    const std::string item = text.substr(start, i - start);
    start = i + 1;
    if (out.size() == kMaxLoadStages) throw bad(fmt::format("more than {} stages", kMaxLoadStages));
    const std::size_t stage = out.size() + 1;
    const auto colon = item.find(':');
    if (trim(item).empty()) throw bad(fmt::format("stage {} is empty", stage));
    if (colon == std::string::npos || item.find(':', colon + 1) != std::string::npos)
      throw bad(fmt::format("stage {} {} is not RATE:DURATION_S", stage, quote_value(item)));
    const std::string rate = item.substr(0, colon), duration = item.substr(colon + 1);
    const auto r = parse_double(rate);
    if (!r || !(*r > 0))
      throw bad(
          fmt::format("the rate {} of stage {} is not a positive finite number", quote_value(rate), stage));
    const auto d = parse_double(duration);
    if (!d || !(*d > 0)) {
      throw bad(fmt::format("the duration {} of stage {} is not a positive finite number of seconds",
                            quote_value(duration), stage));
    }
    out.push_back(LoadStage{*r, *d});
  }
  return out;
}

std::unique_ptr<RequestSource> synthetic_source(const SyntheticSpec& spec) {
  if (spec.stages.empty()) {
    if (!(spec.rate > 0))
      throw UserError(fmt::format("{} must be positive (or 'inf'), got {}", opt("rate"), spec.rate));
    if (spec.num_requests < 1)
      throw UserError(fmt::format("{} must be at least 1, got {}", opt("num_requests"), spec.num_requests));
    if (spec.num_requests > kMaxSyntheticRequests) {
      throw UserError(fmt::format("{} {} exceeds the limit of 100,000,000 requests per run",
                                  opt("num_requests"), spec.num_requests));
    }
  } else {
    if (spec.stages.size() > kMaxLoadStages) {
      throw UserError(
          fmt::format("{}: {} load stages, at most {}", opt("rate"), spec.stages.size(), kMaxLoadStages));
    }
    double duration = 0, expected = 0;
    for (std::size_t k = 0; k < spec.stages.size(); ++k) {
      const LoadStage& st = spec.stages[k];
      if (!(st.rate > 0) || !std::isfinite(st.rate) || !(st.duration_s > 0) ||
          !std::isfinite(st.duration_s)) {
        throw UserError(fmt::format(
            "{}: load stage {} has rate {} and duration {} s; both must be positive finite numbers",
            opt("rate"), k + 1, st.rate, st.duration_s));
      }
      if (st.rate * st.duration_s < 1) {
        // Its metrics would most likely be empty: no request arrives in it.
        throw UserError(fmt::format(
            "{}: load stage {} ({}:{}, {} req/s for {} s) expects {:.3g} requests, fewer than 1 to measure; "
            "raise its rate or its duration (rate x duration at least 1)",
            opt("rate"), k + 1, st.rate, st.duration_s, st.rate, st.duration_s, st.rate * st.duration_s));
      }
      duration += st.duration_s;
      expected += st.rate * st.duration_s;
    }
    if (!(duration <= 1e8)) {
      throw UserError(fmt::format("{}: the load stages last {} s, past the simulated horizon of 1e8 s",
                                  opt("rate"), duration));
    }
    if (!(expected <= static_cast<double>(kMaxSyntheticRequests))) {
      throw UserError(
          fmt::format("{}: the load stages expect {:.3g} requests, above the limit of "
                      "100,000,000 requests per run",
                      opt("rate"), expected));
    }
  }
  check_burstiness(spec.burstiness);
  return std::make_unique<SyntheticSource>(spec);
}

void assign_arrivals(Trace& trace, double rate, double burstiness, std::uint64_t seed) {
  if (!(rate > 0)) throw UserError(fmt::format("{} must be positive (or 'inf'), got {}", opt("rate"), rate));
  check_burstiness(burstiness);
  Rng rng(seed);
  double t = 0;
  for (std::size_t i = 0; i < trace.requests.size(); ++i) {
    if (i > 0 && std::isfinite(rate)) t += arrival_gap(rng, rate, burstiness);
    if (!(t <= 1e8)) {
      throw UserError(
          fmt::format("arrivals at {} req/s run past the simulated horizon of 1e8 s at request #{}; raise {}",
                      rate, i, opt("rate")));
    }
    trace.requests[i].arrival = seconds_to_ns(t);
  }
  trace.has_arrivals = true;
}

Trace synthesize(const SyntheticSpec& spec) {
  auto src = synthetic_source(spec);
  Trace t;
  if (spec.stages.empty()) {
    t.name = fmt::format("synthetic(rate={}, n={}, seed={})", spec.rate, spec.num_requests, spec.seed);
    t.requests.reserve(static_cast<std::size_t>(spec.num_requests));
  } else {
    std::vector<std::string> stages;
    for (const LoadStage& st : spec.stages)
      stages.push_back(fmt::format("{}:{}", st.rate, st.duration_s));
    t.name = fmt::format("synthetic(stages={}, seed={})", join(stages, ","), spec.seed);
  }
  Request r;
  while (src->next(r))
    t.requests.push_back(r);
  return t;
}

}  // namespace apex
