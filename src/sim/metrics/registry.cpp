#include "sim/metrics/registry.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

namespace apex {
namespace {

// The inventory of SimResult's fields, counted by structured bindings: adding a field to
// SimResult, MemoryFootprint, Summary, TimeBreakdown or StepBreakdown stops this from compiling
// until the field is registered below and the names here are updated. SimResult's plan,
// request_records, stages and limits are structural (serialized whole by dist/serialize.cpp, a
// stage's metrics as a SimResult of its own; limits are not reported); every other leaf field
// is one raw entry of the registry (tests/test_dist.cpp checks the count, 53).
[[maybe_unused]] void field_inventory(SimResult& r) {
  [[maybe_unused]] auto& [plan, memory, engine, ttft, tpot, itl, e2e, queue, requests, prompt_tokens,
                          output_tokens, first_arrival, last_completion, makespan, throughput, requests_per_s,
                          mfu, mbu, energy, energy_per_token, energy_per_request, power, slo, goodput,
                          iterations, preemptions, batch_seqs, batch_tokens, busy, peak_kv, peak_active,
                          prefix_hits, prefix_cpu_hits, cpu_offload_blocks, mean_active, time, records,
                          stages, limits] = r;
  [[maybe_unused]] auto& [capacity, budget, weights, activation, reserve, kv_cache, kv_per_token, kv_blocks,
                          block_size] = r.memory;
  [[maybe_unused]] auto& [count, mean, p50, p90, p99, min, max] = r.ttft;
  [[maybe_unused]] auto& [measured, kernels, cpu_overhead, pp_transfer] = r.time;
  [[maybe_unused]] auto& [gemm, moe, attention, communication, elementwise, launch, lm_head, draft] =
      r.time.kernels;
}

// A raw entry: `ref` is a generic lambda returning a reference to the field of a SimResult.
template <class Ref>
void add(std::vector<Metric>& out, Metric m, Ref ref) {
  m.get = [ref](const SimResult& r) -> MetricValue {
    using T = std::remove_cvref_t<decltype(ref(r))>;
    return MetricValue(std::in_place_type<T>, ref(r));
  };
  m.set = [ref](SimResult& r, const MetricValue& v) {
    auto& field = ref(r);
    field = std::get<std::remove_cvref_t<decltype(field)>>(v);
  };
  out.push_back(std::move(m));
}

// A derived entry: computed from raw fields, never serialized.
void derive(std::vector<Metric>& out, Metric m, MetricValue (*get)(const SimResult&)) {
  m.get = get;
  out.push_back(std::move(m));
}

#define APEX_FIELD(expr) \
  [](auto& r) -> auto& { \
    return expr;         \
  }

std::vector<Metric> build() {
  std::vector<Metric> v;
  const std::vector<std::string_view> all = {"mean", "p50", "p90", "p99"};
  // Latency summaries (seconds), in the order of the latency tables and CSV.
  add(v,
      {.id = "ttft",
       .section = "metrics",
       .key = "ttft_s",
       .unit = "s",
       .description = "time to first token: arrival to the first output token, plus the front-end latency",
       .label = "TTFT",
       .csv = CsvFormat::Precise,
       .csv_stats = all,
       .per_request = true},
      APEX_FIELD(r.ttft));
  add(v,
      {.id = "tpot",
       .section = "metrics",
       .key = "tpot_s",
       .unit = "s",
       .description = "time per output token after the first, per request",
       .label = "TPOT",
       .csv = CsvFormat::Precise,
       .csv_stats = all,
       .per_request = true},
      APEX_FIELD(r.tpot));
  add(v,
      {.id = "itl",
       .section = "metrics",
       .key = "itl_s",
       .unit = "s",
       .description = "inter-token latency, weighted by tokens",
       .label = "ITL",
       .csv = CsvFormat::Precise,
       .csv_stats = {"mean", "p99"},
       .per_request = true},
      APEX_FIELD(r.itl));
  add(v,
      {.id = "e2e",
       .section = "metrics",
       .key = "e2e_s",
       .unit = "s",
       .description = "end-to-end latency: arrival to the last output token, plus the front-end latency",
       .label = "E2E",
       .csv = CsvFormat::Precise,
       .csv_stats = all,
       .per_request = true},
      APEX_FIELD(r.e2e));
  add(v,
      {.id = "queue",
       .section = "metrics",
       .key = "queue_s",
       .unit = "s",
       .description = "queueing: arrival to first scheduled",
       .label = "queue",
       .per_request = true},
      APEX_FIELD(r.queue));
  // Rates, utilization, energy, SLOs.
  add(v,
      {.id = "throughput_tokens_per_s",
       .section = "metrics",
       .key = "throughput_tokens_per_s",
       .unit = "tokens/s",
       .description = "output tokens / makespan",
       .csv = CsvFormat::Precise,
       .table = {"throughput", "{:.1f} output tok/s"},
       .per_request = true},
      APEX_FIELD(r.throughput_tokens_per_s));
  add(v,
      {.id = "requests_per_s",
       .section = "metrics",
       .key = "requests_per_s",
       .unit = "requests/s",
       .description = "finished requests / makespan",
       .csv = CsvFormat::Precise,
       .table = {"throughput", ", {:.3f} req/s"},
       .per_request = true},
      APEX_FIELD(r.requests_per_s));
  add(v,
      {.id = "makespan",
       .section = "metrics",
       .key = "makespan_s",
       .unit = "s",
       .description = "first arrival to last completion",
       .csv = CsvFormat::Precise,
       .table = {"throughput", " over a {:.1f} s makespan"},
       .per_request = true},
      APEX_FIELD(r.makespan));
  add(v,
      {.id = "mfu",
       .section = "metrics",
       .key = "mfu",
       .unit = "1",
       .description = "model FLOPs / (makespan × GPUs × peak FLOP/s)",
       .csv = CsvFormat::Precise,
       .table = {"utilization", "MFU {:.1f}%", 100}},
      APEX_FIELD(r.mfu));
  add(v,
      {.id = "mbu",
       .section = "metrics",
       .key = "mbu",
       .unit = "1",
       .description = "bytes moved / (makespan × GPUs × HBM bandwidth)",
       .csv = CsvFormat::Precise,
       .table = {"utilization", ", MBU {:.1f}%", 100}},
      APEX_FIELD(r.mbu));
  add(v,
      {.id = "energy_j",
       .section = "metrics",
       .key = "energy_j",
       .unit = "J",
       .description = "GPU energy over the makespan, idle power included",
       .csv = CsvFormat::Precise},
      APEX_FIELD(r.energy_j));
  add(v,
      {.id = "energy_per_output_token_j",
       .section = "metrics",
       .key = "energy_per_output_token_j",
       .unit = "J/token",
       .description = "energy / output tokens"},
      APEX_FIELD(r.energy_per_output_token_j));
  add(v,
      {.id = "energy_per_request_j",
       .section = "metrics",
       .key = "energy_per_request_j",
       .unit = "J/request",
       .description = "energy / finished requests"},
      APEX_FIELD(r.energy_per_request_j));
  add(v,
      {.id = "mean_power_per_gpu_w",
       .section = "metrics",
       .key = "mean_power_per_gpu_w",
       .unit = "W",
       .description = "energy / (makespan × GPUs), idle time included"},
      APEX_FIELD(r.mean_power_per_gpu_w));
  add(v,
      {.id = "slo_attainment",
       .section = "metrics",
       .key = "slo_attainment",
       .unit = "1",
       .description = "fraction of requests meeting every given SLO",
       .csv = CsvFormat::Precise,
       .table = {"SLO attainment", "{:.1f}%", 100},
       .per_request = true},
      APEX_FIELD(r.slo_attainment));
  add(v,
      {.id = "goodput_requests_per_s",
       .section = "metrics",
       .key = "goodput_requests_per_s",
       .unit = "requests/s",
       .description = "requests meeting every SLO / makespan",
       .per_request = true},
      APEX_FIELD(r.goodput_requests_per_s));
  add(v,
      {.id = "requests",
       .section = "metrics",
       .key = "requests",
       .unit = "requests",
       .description = "finished requests",
       .table = {"requests", "{}"},
       .per_request = true},
      APEX_FIELD(r.requests));
  add(v,
      {.id = "prompt_tokens",
       .section = "metrics",
       .key = "prompt_tokens",
       .unit = "tokens",
       .description = "prompt tokens of the finished requests",
       .table = {"requests", " ({} prompt"},
       .per_request = true},
      APEX_FIELD(r.prompt_tokens));
  add(v,
      {.id = "output_tokens",
       .section = "metrics",
       .key = "output_tokens",
       .unit = "tokens",
       .description = "output tokens of the finished requests",
       .table = {"requests", " + {} output tokens)"},
       .per_request = true},
      APEX_FIELD(r.output_tokens));
  add(v, {.id = "first_arrival", .unit = "s", .description = "arrival of the first request"},
      APEX_FIELD(r.first_arrival));
  add(v, {.id = "last_completion", .unit = "s", .description = "completion of the last request"},
      APEX_FIELD(r.last_completion));
  // Memory per GPU.
  add(v,
      {.id = "memory.weights",
       .section = "memory",
       .key = "weights_bytes_per_gpu",
       .unit = "bytes",
       .description = "weights of the heaviest stage, per GPU",
       .csv = CsvFormat::Whole},
      APEX_FIELD(r.memory.weights));
  add(v,
      {.id = "memory.kv_cache",
       .section = "memory",
       .key = "kv_cache_bytes_per_gpu",
       .unit = "bytes",
       .description = "what is left for the KV cache, per GPU (may be negative)",
       .csv = CsvFormat::Whole},
      APEX_FIELD(r.memory.kv_cache));
  derive(v,
         {.id = "memory.kv_tokens",
          .section = "memory",
          .key = "kv_cache_tokens_per_replica",
          .unit = "tokens",
          .description = "KV blocks × block size, per replica"},
         [](const SimResult& r) -> MetricValue { return r.memory.kv_tokens(); });
  add(v,
      {.id = "memory.activation",
       .section = "memory",
       .key = "activation_bytes_per_gpu",
       .unit = "bytes",
       .description = "peak activation of the profile run, per GPU",
       .csv = CsvFormat::Whole},
      APEX_FIELD(r.memory.activation));
  add(v,
      {.id = "memory.runtime_reserve",
       .section = "memory",
       .key = "runtime_reserve_bytes_per_gpu",
       .unit = "bytes",
       .description = "NCCL / cuBLAS workspaces and other non-torch memory, per GPU"},
      APEX_FIELD(r.memory.runtime_reserve));
  add(v,
      {.id = "memory.capacity",
       .section = "memory",
       .key = "gpu_capacity_bytes",
       .unit = "bytes",
       .description = "GPU memory the driver reports"},
      APEX_FIELD(r.memory.capacity));
  add(v,
      {.id = "memory.kv_bytes_per_token",
       .section = "memory",
       .key = "kv_bytes_per_token_per_gpu",
       .unit = "bytes/token",
       .description = "KV bytes of one token, per GPU of the heaviest stage"},
      APEX_FIELD(r.memory.kv_bytes_per_token));
  add(v, {.id = "memory.budget", .unit = "bytes", .description = "capacity × gpu_memory_utilization"},
      APEX_FIELD(r.memory.budget));
  add(v, {.id = "memory.kv_blocks", .unit = "blocks", .description = "KV blocks per replica"},
      APEX_FIELD(r.memory.kv_blocks));
  add(v, {.id = "memory.block_size", .unit = "tokens", .description = "tokens per KV block"},
      APEX_FIELD(r.memory.block_size));
  add(v,
      {.id = "engine", .section = "engine", .key = "name", .unit = "", .description = "serving engine name"},
      APEX_FIELD(r.engine));
  // Scheduler counters.
  add(v,
      {.id = "iterations",
       .section = "counters",
       .key = "iterations",
       .unit = "iterations",
       .description = "engine steps over all replicas",
       .table = {"scheduler", "{} iterations"}},
      APEX_FIELD(r.iterations));
  add(v,
      {.id = "mean_batch_seqs",
       .section = "counters",
       .key = "mean_batch_seqs",
       .unit = "sequences",
       .description = "sequences per step",
       .table = {"scheduler", ", mean batch {:.1f} seqs"}},
      APEX_FIELD(r.mean_batch_seqs));
  add(v,
      {.id = "mean_batch_tokens",
       .section = "counters",
       .key = "mean_batch_tokens",
       .unit = "tokens",
       .description = "tokens per step",
       .table = {"scheduler", " / {:.0f} tokens"}},
      APEX_FIELD(r.mean_batch_tokens));
  add(v,
      {.id = "preemptions",
       .section = "counters",
       .key = "preemptions",
       .unit = "preemptions",
       .description = "requests evicted for lack of KV blocks",
       .table = {"scheduler", ", {} preemptions"}},
      APEX_FIELD(r.preemptions));
  add(v,
      {.id = "peak_kv_utilization",
       .section = "counters",
       .key = "peak_kv_utilization",
       .unit = "1",
       .description = "highest share of KV blocks in use",
       .table = {"scheduler", ", peak KV use {:.0f}%", 100}},
      APEX_FIELD(r.peak_kv_utilization));
  add(v,
      {.id = "busy_fraction",
       .section = "counters",
       .key = "busy_fraction",
       .unit = "1",
       .description = "share of replica-time with a micro-batch in flight",
       .table = {"utilization", ", busy {:.1f}%", 100}},
      APEX_FIELD(r.busy_fraction));
  add(v,
      {.id = "peak_active_requests",
       .section = "counters",
       .key = "peak_active_requests",
       .unit = "requests",
       .description = "most requests arrived and not finished at once"},
      APEX_FIELD(r.peak_active_requests));
  add(v,
      {.id = "prefix_hit_tokens",
       .unit = "tokens",
       .description = "prompt tokens whose KV came from the prefix cache"},
      APEX_FIELD(r.prefix_hit_tokens));
  derive(v,
         {.id = "prefix_cache_hit_rate",
          .section = "counters",
          .key = "prefix_cache_hit_rate",
          .unit = "1",
          .description = "prefix_hit_tokens / prompt_tokens",
          .table = {"prefix cache", "{:.1f}% of prompt tokens served from cached prefixes", 100}},
         [](const SimResult& r) -> MetricValue {
           return r.prompt_tokens > 0
                      ? static_cast<double>(r.prefix_hit_tokens) / static_cast<double>(r.prompt_tokens)
                      : 0.0;
         });
  add(v,
      {.id = "prefix_cpu_hit_tokens",
       .unit = "tokens",
       .description = "prompt tokens whose KV was loaded back from the CPU offload tier"},
      APEX_FIELD(r.prefix_cpu_hit_tokens));
  add(v,
      {.id = "cpu_offload_blocks",
       .unit = "blocks",
       .description = "CPU KV offload tier per replica (0 = off)"},
      APEX_FIELD(r.cpu_offload_blocks));
  derive(v,
         {.id = "prefix_cache_cpu_hit_rate",
          .section = "counters",
          .key = "prefix_cache_cpu_hit_rate",
          .unit = "1",
          .description = "prefix_cpu_hit_tokens / prompt_tokens (reported with CPU KV offload on)",
          .table = {"prefix cache", ", {:.1f}% loaded back from the CPU offload tier", 100},
          .present = [](const SimResult& r) { return r.cpu_offload_blocks > 0; }},
         [](const SimResult& r) -> MetricValue {
           return r.prompt_tokens > 0
                      ? static_cast<double>(r.prefix_cpu_hit_tokens) / static_cast<double>(r.prompt_tokens)
                      : 0.0;
         });
  add(v,
      {.id = "mean_active_requests",
       .unit = "requests",
       .description = "time-averaged requests in the system (Little's L)"},
      APEX_FIELD(r.mean_active_requests));
  // Time breakdown (simulate --breakdown), in report order; seconds summed over iterations.
  add(v, {.id = "time.measured", .unit = "", .description = "the kernel parts were collected"},
      APEX_FIELD(r.time.measured));
  const auto part = [&v](std::string_view id, std::string_view key, std::string_view what, auto ref) {
    add(v, {.id = id, .section = "breakdown", .key = key, .unit = "s", .description = what}, ref);
  };
  part("time.gemm", "gemm", "dense projections, dense FFN, router and shared experts",
       APEX_FIELD(r.time.kernels.gemm));
  part("time.moe", "moe", "routed experts", APEX_FIELD(r.time.kernels.moe));
  part("time.attention", "attention", "prefill, decode and cross attention kernels",
       APEX_FIELD(r.time.kernels.attention));
  part("time.communication", "communication", "TP all-reduces, EP all-to-all, logits all-gather",
       APEX_FIELD(r.time.kernels.communication));
  part("time.elementwise", "elementwise", "norms, rotary, activations, embedding, sampling",
       APEX_FIELD(r.time.kernels.elementwise));
  part("time.lm_head", "lm_head", "LM head GEMM", APEX_FIELD(r.time.kernels.lm_head));
  part("time.kernel_launch", "kernel_launch", "kernel launches outside CUDA graphs",
       APEX_FIELD(r.time.kernels.launch));
  part("time.draft", "draft", "speculative decoding: the draft layer and LM head",
       APEX_FIELD(r.time.kernels.draft));
  part("time.pp_transfer", "pp_transfer", "activations sent between pipeline stages",
       APEX_FIELD(r.time.pp_transfer));
  part("time.cpu_overhead", "cpu_overhead", "engine step overhead before each micro-batch launches",
       APEX_FIELD(r.time.cpu_overhead));
  for (std::size_t i = 0; i < v.size(); ++i) {
    for (std::size_t k = 0; k < i; ++k) {
      if (v[k].id == v[i].id ||
          (!v[i].section.empty() && v[k].section == v[i].section && v[k].key == v[i].key))
        throw std::logic_error(fmt::format("metric registry: '{}' registered twice", v[i].id));
    }
  }
  return v;
}

#undef APEX_FIELD

Json summary_report(const Summary& s) {
  return Json{{"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p99", s.p99}};
}

double summary_stat(const Summary& s, std::string_view stat) {
  if (stat == "mean") return s.mean;
  if (stat == "p50") return s.p50;
  if (stat == "p90") return s.p90;
  if (stat == "p99") return s.p99;
  if (stat == "min") return s.min;
  if (stat == "max") return s.max;
  throw std::logic_error(fmt::format("unknown summary statistic '{}'", stat));
}

// Doubles as JSON numbers; the non-finite ones (which JSON lacks) as strings.
Json exact(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}
double exact_double(const Json& j) {
  if (!j.is_string()) return j.get<double>();
  const auto& s = j.get_ref<const std::string&>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  throw std::invalid_argument(fmt::format("not a serialized double: '{}'", s));
}

std::string format_double(CsvFormat f, double x) {
  return f == CsvFormat::Whole ? fmt::format("{:.0f}", x) : fmt::format("{:.9g}", x);
}

}  // namespace

const std::vector<Metric>& metric_registry() {
  static const std::vector<Metric> registry = build();
  return registry;
}

const Metric& metric(std::string_view id) {
  for (const Metric& m : metric_registry()) {
    if (m.id == id) return m;
  }
  throw std::logic_error(fmt::format("no metric '{}' in the registry", id));
}

std::vector<const Metric*> metrics_in(std::string_view section) {
  std::vector<const Metric*> out;
  for (const Metric& m : metric_registry()) {
    if (m.section == section) out.push_back(&m);
  }
  return out;
}

Json metric_report_json(const Metric& m, const SimResult& r) {
  return std::visit(
      [](const auto& x) -> Json {
        if constexpr (std::is_same_v<std::remove_cvref_t<decltype(x)>, Summary>) {
          return summary_report(x);
        } else {
          return x;
        }
      },
      m.get(r));
}

Json metric_raw_json(const Metric& m, const SimResult& r) {
  return std::visit(
      [](const auto& x) -> Json {
        using T = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Summary>) {
          return Json{{"count", x.count},    {"mean", exact(x.mean)}, {"p50", exact(x.p50)},
                      {"p90", exact(x.p90)}, {"p99", exact(x.p99)},   {"min", exact(x.min)},
                      {"max", exact(x.max)}};
        } else if constexpr (std::is_same_v<T, double>) {
          return exact(x);
        } else {
          return x;
        }
      },
      m.get(r));
}

void metric_set_raw_json(const Metric& m, SimResult& r, const Json& j) {
  if (!m.raw()) throw std::logic_error(fmt::format("metric '{}' is derived and cannot be set", m.id));
  MetricValue v = m.get(r);  // the current value names the field's type
  std::visit(
      [&j](auto& x) {
        using T = std::remove_cvref_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Summary>) {
          x.count = j.at("count").get<std::uint64_t>();
          x.mean = exact_double(j.at("mean"));
          x.p50 = exact_double(j.at("p50"));
          x.p90 = exact_double(j.at("p90"));
          x.p99 = exact_double(j.at("p99"));
          x.min = exact_double(j.at("min"));
          x.max = exact_double(j.at("max"));
        } else if constexpr (std::is_same_v<T, double>) {
          x = exact_double(j);
        } else {
          x = j.get<T>();
        }
      },
      v);
  m.set(r, v);
}

std::vector<std::string> metric_csv_header() {
  std::vector<std::string> out;
  for (const Metric& m : metric_registry()) {
    if (m.csv == CsvFormat::None) continue;
    if (m.csv_stats.empty()) {
      out.emplace_back(m.key);
      continue;
    }
    // A summary's key ends in its unit ("ttft_s"); each column puts the statistic before it.
    const auto unit_at = m.key.rfind('_');
    for (std::string_view stat : m.csv_stats)
      out.push_back(fmt::format("{}_{}{}", m.key.substr(0, unit_at), stat, m.key.substr(unit_at)));
  }
  return out;
}

std::vector<std::string> metric_csv_cells(const SimResult& r) {
  std::vector<std::string> out;
  for (const Metric& m : metric_registry()) {
    if (m.csv == CsvFormat::None) continue;
    const MetricValue v = m.get(r);
    if (const auto* s = std::get_if<Summary>(&v); s && !m.csv_stats.empty()) {
      for (std::string_view stat : m.csv_stats)
        out.push_back(format_double(m.csv, summary_stat(*s, stat)));
    } else if (const auto* x = std::get_if<double>(&v)) {
      out.push_back(format_double(m.csv, *x));
    } else {
      out.push_back(std::visit(
          [&m](const auto& y) -> std::string {
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(y)>, Summary>) {
              throw std::logic_error(fmt::format("metric '{}' is a summary without CSV statistics", m.id));
            } else {
              return fmt::format("{}", y);
            }
          },
          v));
    }
  }
  return out;
}

std::string metric_table_line(const SimResult& r, std::string_view line) {
  std::string out;
  for (const Metric& m : metric_registry()) {
    if (m.table.line != line || !m.reported(r)) continue;
    const MetricValue v = m.get(r);
    const auto text = fmt::runtime(m.table.text);
    if (const auto* x = std::get_if<double>(&v)) {
      out += fmt::format(text, *x * m.table.times);
    } else if (const auto* n = std::get_if<std::uint64_t>(&v)) {
      out += fmt::format(text, *n);
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
      out += fmt::format(text, *i);
    } else {
      throw std::logic_error(fmt::format("metric '{}' cannot be shown in the table", m.id));
    }
  }
  return out;
}

}  // namespace apex
