// validate/serving.cpp — map each public serving result onto an APEX deployment and simulate it.
#include "validate/serving.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "core/parallel.h"
#include "core/stats.h"
#include "core/text.h"
#include "model/registry.h"
#include "search/deployment.h"

namespace apex {

std::vector<ServingRow> read_serving_rows(const std::string& csv_path) {
  std::ifstream in(csv_path);
  if (!in) throw UserError(fmt::format("cannot read serving measurements '{}'", csv_path));
  std::string line;
  std::getline(in, line);
  const auto header = split_csv(line);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < header.size(); ++i)
    col[std::string(header[i])] = i;
  for (const char* need : {"source", "model", "engine", "gpu", "num_gpus", "tp", "pp", "dtype", "input_len",
                           "output_len", "concurrency_or_rate", "metric", "value", "unit"}) {
    if (!col.count(need)) throw UserError(fmt::format("{}:1: missing column '{}'", csv_path, need));
  }
  std::vector<ServingRow> rows;
  std::size_t lineno = 1;
  while (std::getline(in, line)) {
    ++lineno;
    if (trim(line).empty()) continue;
    const auto f = split_csv(line);
    auto get = [&](const char* name) -> std::string {
      const auto it = col.find(name);
      return it != col.end() && it->second < f.size() ? std::string(f[it->second]) : std::string();
    };
    ServingRow r;
    r.line = lineno;
    r.source = get("source");
    r.model = get("model");
    r.engine = get("engine");
    r.gpu = get("gpu");
    r.num_gpus = static_cast<int>(parse_int(get("num_gpus")).value_or(0));
    r.tp = static_cast<int>(parse_int(get("tp")).value_or(0));
    r.pp = static_cast<int>(parse_int(get("pp")).value_or(0));
    r.dp = get("dp");
    r.ep = get("ep");
    r.dtype = get("dtype");
    r.input_len = get("input_len");
    r.output_len = get("output_len");
    r.load = get("concurrency_or_rate");
    r.metric = get("metric");
    r.value = parse_double(get("value")).value_or(0);
    r.unit = get("unit");
    r.notes = get("notes");
    rows.push_back(std::move(r));
  }
  return rows;
}

namespace {

bool starts(const std::string& s, std::string_view p) {
  return s.rfind(p, 0) == 0;
}
bool has(const std::string& s, std::string_view p) {
  return s.find(p) != std::string::npos;
}

// A row translated into APEX terms, or the reason it cannot be.
struct Setup {
  std::string model, gpu, engine = "trtllm";
  Precision precision;
  int tp = 1;
  int ep = 1;
  bool attn_dp = false;
  int concurrency = 0;  // closed-loop clients (0 = every request at t=0)
  std::int64_t requests = 1;
  std::int32_t isl = 0, osl = 0;
  EngineOverrides knobs;
  int spec_tokens = 0;  // speculative decoding (MTP layers)
  enum class Measure {
    OutputThroughput,
    OutputThroughputPerGpu,
    Ttft,
    TokensPerUser
  } measure = Measure::OutputThroughput;
  std::string why_not;
};

Setup translate(const ServingRow& r) {
  Setup s;
  auto skip = [&](std::string why) {
    s.why_not = std::move(why);
    return s;
  };
  // Workload first: rows measured on a dataset cannot be reproduced without its lengths.
  if (has(r.load, "scenario") || has(r.model, "MLPerf")) {
    return skip("MLPerf dataset run: per-request input/output lengths are not published");
  }
  // Model.
  const std::string& m = r.model;
  if (has(m, "DeepSeek") && !starts(r.engine, "TensorRT-LLM")) {
    return skip("prefill/decode-disaggregated or production deployment: disaggregation is not modelled");
  }
  if (has(r.load, "real dataset"))
    return skip("dataset run: per-request input/output lengths are not published");
  if (starts(m, "Llama-3.1-8B") || starts(m, "Llama-3-8B"))
    s.model = "llama-3.1-8b";
  else if (starts(m, "Llama-3.3-70B") || starts(m, "Llama-3-70B") || starts(m, "Llama-3.1-70B"))
    s.model = "llama-3.1-70b";
  else if (starts(m, "Llama-3.1-405B") || starts(m, "Llama-3-405B"))
    s.model = "llama-3.1-405b";
  else if (m == "Llama-2-7B")
    s.model = "llama-2-7b";
  else if (m == "Llama-2-70B")
    s.model = "llama-2-70b";
  else if (starts(m, "Mistral-7B"))
    s.model = "mistral-7b";
  else if (m == "GPT-J-6B")
    s.model = "gptj-6b";
  else if (m == "Falcon-180B")
    s.model = "falcon-180b";
  else if (starts(m, "Qwen3-30B-A3B"))
    s.model = "qwen3-30b-a3b";
  else if (starts(m, "Qwen3-235B-A22B"))
    s.model = "qwen3-235b-a22b";
  else if (starts(m, "Mixtral-8x7B"))
    s.model = "mixtral-8x7b";
  else if (starts(m, "DeepSeek-R1"))
    s.model = "deepseek-r1";
  else if (starts(m, "Llama-4-Scout-17B-16E"))
    s.model = "llama-4-scout-17b-16e";
  else if (starts(m, "Llama-4-Maverick-17B-128E"))
    s.model = "llama-4-maverick-17b-128e";
  else
    return skip(fmt::format("model '{}' has no published configuration APEX can load", m));
  // GPU.
  const std::string& g = r.gpu;
  if (has(g, "H800")) return skip("H800 has no GPU preset");
  if (has(g, "GB200"))
    s.gpu = "gb200";
  else if (has(g, "B200"))
    s.gpu = "b200";
  else if (has(g, "H200"))
    s.gpu = "h200-sxm";
  else if (has(g, "H100"))
    s.gpu = "h100-sxm";
  else if (has(g, "A100") && has(g, "40GB"))
    s.gpu = "a100-sxm-40gb";
  else if (has(g, "A100"))
    s.gpu = "a100-sxm-80gb";
  else if (has(g, "L40S"))
    s.gpu = "l40s";
  else if (has(g, "MI300X"))
    s.gpu = "mi300x";
  else
    return skip(fmt::format("GPU '{}' has no preset", g));
  // Precision: TensorRT-LLM's FP8 checkpoints quantize weights, activations and the KV cache;
  // FP4 ones use NVFP4 GEMMs with an FP8 KV cache.
  const std::string d = to_lower(r.dtype);
  if (starts(d, "fp8")) {
    s.precision = Precision{DType::FP8, DType::BF16, DType::FP8};
  } else if (starts(d, "fp4")) {
    s.precision = Precision{DType::FP4, DType::BF16, has(d, "fp16 kv") ? DType::BF16 : DType::FP8};
  } else if (starts(d, "fp16")) {
    s.precision = Precision{DType::FP16, DType::FP16, DType::FP16};
  } else if (starts(d, "bf16")) {
    s.precision = Precision{};
  } else {
    return skip(fmt::format("precision '{}' not expressible", r.dtype));
  }
  // Engine.
  if (starts(r.engine, "vLLM"))
    s.engine = "vllm";
  else if (!starts(r.engine, "TensorRT-LLM"))
    return skip(fmt::format("engine '{}' has no policy preset", r.engine));
  s.tp = r.tp > 0 ? r.tp : r.num_gpus;
  if (r.pp > 1) return skip("pipeline-parallel row");
  // MoE rows of the TensorRT-LLM overview do not state EP ('?'); its MoE recipes spread the
  // experts over the TP group (moe_ep_size = tp), which APEX assumes.
  const auto ep = parse_int(r.ep);
  s.ep = ep && *ep > 0 ? static_cast<int>(*ep) : s.tp;
  // The same recipes run attention data-parallel over the group (enable_attention_dp).
  // Rows that state dp = tp on tp GPUs ran attention data-parallel the same way.
  const auto dp = parse_int(r.dp);
  s.attn_dp = (has(r.notes, "enable_attention_dp") || (dp && *dp == s.tp && r.num_gpus == s.tp)) &&
              s.tp > 1 && s.ep == s.tp;
  const auto isl = parse_int(r.input_len), osl = parse_int(r.output_len);
  if (!isl || !osl || *isl < 1 || *osl < 1) return skip("input/output lengths not stated");
  s.isl = static_cast<std::int32_t>(*isl);
  s.osl = static_cast<std::int32_t>(*osl);
  // Load.
  if (starts(r.load, "offline max load")) {
    s.requests = 1000;  // trtllm-bench runs of the sources use ~1000 requests (Azure: exactly 1000)
  } else if (starts(r.load, "static batch")) {
    const auto b = parse_int(trim(std::string_view(r.load).substr(12)));
    if (!b || *b < 1) return skip("static batch size not stated");
    s.requests = *b;
    // Static batching: the whole batch is prefilled in one step, then decoded in lockstep.
    s.knobs.max_num_seqs = static_cast<int>(*b);
    s.knobs.max_num_batched_tokens = static_cast<int>(std::max<std::int64_t>(8192, *b * *isl));
  } else if (r.load == "batch 1") {
    s.requests = 1;
  } else if (starts(r.load, "concurrency 1 (bs1)")) {
    // Minimum-latency runs: one client, so one request at a time; "MTP N layers" drafts N tokens.
    s.concurrency = 1;
    s.requests = 4;
    if (const auto at = r.load.find("MTP "); at != std::string::npos) {
      const auto n =
          parse_int(trim(std::string_view(r.load).substr(at + 4, r.load.find(' ', at + 4) - at - 4)));
      if (!n || *n < 1) return skip("MTP depth not stated");
      s.spec_tokens = static_cast<int>(*n);
      s.knobs.spec_tokens = s.spec_tokens;
    }
  } else if (starts(r.load, "concurrency ")) {
    // "concurrency N, max_batch M/rank": N closed-loop clients; the request count is not
    // published, so 4N requests (the steady state dominates); M sequences per attention rank.
    const auto n = parse_int(trim(std::string_view(r.load).substr(12, r.load.find(',') - 12)));
    if (!n || *n < 1) return skip("concurrency not stated");
    s.concurrency = static_cast<int>(*n);
    s.requests = 4 * *n;
    if (const auto at = r.load.find("max_batch "); at != std::string::npos) {
      const auto per_rank =
          parse_int(trim(std::string_view(r.load).substr(at + 10, r.load.find('/', at) - at - 10)));
      if (per_rank && *per_rank > 0)
        s.knobs.max_num_seqs = static_cast<int>(*per_rank * (s.attn_dp ? s.tp : 1));
    }
  } else {
    return skip(fmt::format("load '{}' not expressible", r.load));
  }
  // Metric.
  if (r.metric == "TTFT") {
    s.measure = Setup::Measure::Ttft;
  } else if (r.metric == "output_tok_per_s_per_user") {
    s.measure = Setup::Measure::TokensPerUser;
  } else if (r.metric == "output_throughput_total" || r.metric == "output_throughput" ||
             r.metric == "throughput" || r.metric == "token_throughput") {
    // Some TensorRT-LLM v0.6.1 tables do not say whether 'tok/s' is per GPU; their notes say it is
    // plausibly per GPU like the H100 table of the same release, and APEX reads them that way.
    const bool per_gpu = has(r.unit, "/GPU") || has(r.notes, "plausibly per GPU");
    s.measure = per_gpu ? Setup::Measure::OutputThroughputPerGpu : Setup::Measure::OutputThroughput;
  } else {
    return skip(fmt::format("metric '{}' not simulated", r.metric));
  }
  return s;
}

void run_case(ServingCase& c) {
  const Setup s = translate(c.row);
  if (!s.why_not.empty()) {
    c.skip_reason = s.why_not;
    return;
  }
  try {
    Deployment d;
    d.model = load_model(s.model);
    // TensorRT-LLM benchmarks run GPT-J and Falcon past their 2048-token training context (RoPE
    // extrapolates); allow the same here rather than refusing the row.
    d.model.max_positions = std::max<std::int64_t>(d.model.max_positions, s.isl + s.osl);
    d.cluster = make_cluster(s.gpu, 1, std::max(s.tp, 1));
    d.precision = s.precision;
    d.engine = s.engine;
    d.engine_overrides = s.knobs;
    d.max_model_len =
        std::min<std::int64_t>(d.model.max_positions, std::max<std::int64_t>(s.isl + s.osl, 2048));
    d.concurrency = s.concurrency;
    if (s.spec_tokens > 0) d.model.enable_draft_layer();
    d.validate();
    Plan p;
    p.tp = s.tp;
    p.ep = d.model.is_moe() ? s.ep : 1;
    p.attn_dp = d.model.is_moe() && s.attn_dp;
    make_plan_or_throw(d, p);
    const EnginePolicy engine = d.engine_policy();
    if (auto why = memory_check(d, p, engine, s.isl + s.osl)) {
      c.skip_reason = fmt::format("does not fit as {}: {}", dtype_name(s.precision.weight), *why);
      return;
    }
    SyntheticSpec w;
    w.rate = std::numeric_limits<double>::infinity();
    w.num_requests = s.requests;
    w.prompt = LengthDist::parse(std::to_string(s.isl), "isl");
    w.output = LengthDist::parse(std::to_string(s.measure == Setup::Measure::Ttft ? 1 : s.osl), "osl");
    auto src = synthetic_source(w);
    const SimResult r = simulate_plan(d, p, *src);
    switch (s.measure) {
      case Setup::Measure::Ttft:
        c.simulated_value = r.ttft.mean * 1e3;
        break;
      case Setup::Measure::OutputThroughput:
        c.simulated_value = r.throughput_tokens_per_s;
        break;
      case Setup::Measure::OutputThroughputPerGpu:
        c.simulated_value = r.throughput_tokens_per_s / p.gpus();
        break;
      case Setup::Measure::TokensPerUser:
        c.simulated_value = r.tpot.mean > 0 ? 1.0 / r.tpot.mean : 0.0;
        break;
    }
    c.setup = fmt::format(
        "{} {} {} W{}/KV{}{}, {} × {}→{} {}{}", s.engine, p.label(), s.gpu, dtype_name(s.precision.weight),
        dtype_name(s.precision.kv),
        s.spec_tokens > 0
            ? fmt::format(" MTP{} (acceptance {})", s.spec_tokens, d.engine_policy().costs.spec_acceptance)
            : "",
        s.requests, s.isl, s.measure == Setup::Measure::Ttft ? 1 : s.osl,
        s.concurrency > 0 ? fmt::format("from {} closed-loop clients", s.concurrency) : "at t=0",
        s.measure == Setup::Measure::OutputThroughputPerGpu ? ", per GPU" : "");
    c.simulated = true;
    c.error = c.row.value > 0 ? c.simulated_value / c.row.value - 1.0 : 0.0;
  } catch (const UserError& e) {
    c.skip_reason = fmt::format("not expressible: {}", e.what());
  }
}

bool moe_model(const ServingRow& r) {
  return has(r.model, "Qwen3") || has(r.model, "Mixtral") || has(r.model, "DeepSeek") ||
         has(r.model, "Llama-4");
}

std::string source_name(const ServingRow& r) {
  // Short label: the repository and the engine family, MoE rows apart.
  std::string s = r.source.substr(0, r.source.find(' '));
  if (starts(s, "github:")) s = s.substr(7);
  return fmt::format("{} ({}){}", s, r.engine.substr(0, r.engine.find(" (")), moe_model(r) ? ", MoE" : "");
}

}  // namespace

bool is_moe_case(const ServingCase& c) {
  return moe_model(c.row);
}

std::vector<ServingCase> validate_serving(const std::vector<ServingRow>& rows, int threads, int stride) {
  std::vector<ServingCase> cases(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i)
    cases[i].row = rows[i];
  std::vector<std::size_t> todo;
  int seen = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!translate(rows[i]).why_not.empty()) {
      cases[i].skip_reason = translate(rows[i]).why_not;
      continue;
    }
    if (seen++ % std::max(1, stride) == 0) todo.push_back(i);
  }
  parallel_for(todo.size(), threads, [&](std::size_t k) { run_case(cases[todo[k]]); });
  if (stride > 1) {
    std::vector<ServingCase> kept;
    for (auto& c : cases) {
      if (c.simulated || !c.skip_reason.empty()) kept.push_back(std::move(c));
    }
    return kept;
  }
  return cases;
}

ErrorStats error_stats(const std::vector<ServingCase>& cases) {
  std::vector<double> abs;
  double s = 0;
  for (const auto& c : cases) {
    if (!c.simulated) continue;
    abs.push_back(std::fabs(c.error));
    s += c.error;
  }
  ErrorStats e;
  e.n = abs.size();
  if (abs.empty()) return e;
  std::sort(abs.begin(), abs.end());
  e.median = percentile_sorted(abs, 0.5);
  e.p90 = percentile_sorted(abs, 0.9);
  e.mean_signed = s / static_cast<double>(abs.size());
  return e;
}

std::string serving_markdown(const std::vector<ServingCase>& cases, const std::string& csv_path) {
  std::string out;
  out += "# End-to-end validation against public serving results\n\n";
  out += fmt::format(
      "Regenerate with `build/bin/apex validate serving --reference {} -o docs/validation.md`.\n\n",
      csv_path);
  out +=
      "Every row of the reference file that APEX can express is simulated with the row's model, GPU, tensor "
      "parallelism, precision, engine and load (fixed input/output lengths; offline rows send 1000 requests "
      "at "
      "t=0; static-batch rows prefill the whole batch in one step). Error = simulated / measured − 1. Rows "
      "that "
      "cannot be expressed are listed at the end with the reason.\n\n";
  const ErrorStats all = error_stats(cases);
  std::vector<ServingCase> dense, moe;
  for (const auto& c : cases)
    (is_moe_case(c) ? moe : dense).push_back(c);
  const ErrorStats d = error_stats(dense), m = error_stats(moe);
  out += fmt::format(
      "**Dense models: {} rows — median |error| {:.1f}%, p90 {:.1f}%, mean signed error {:+.1f}%.**\n\n", d.n,
      d.median * 100, d.p90 * 100, d.mean_signed * 100);
  out += fmt::format(
      "**Mixture-of-experts models: {} rows — median |error| {:.1f}%, p90 {:.1f}%, mean signed error "
      "{:+.1f}%** (see Outliers: the MoE kernels APEX is calibrated on are vLLM's, these rows are "
      "TensorRT-LLM's).\n\n",
      m.n, m.median * 100, m.p90 * 100, m.mean_signed * 100);
  out += fmt::format("All {} simulated rows: median {:.1f}%, p90 {:.1f}%.\n\n", all.n, all.median * 100,
                     all.p90 * 100);
  // Per source.
  std::map<std::string, std::vector<ServingCase>> by_source;
  for (const auto& c : cases) {
    if (c.simulated) by_source[source_name(c.row)].push_back(c);
  }
  out +=
      "## Summary per source\n\n| source | rows | median abs error | p90 abs error | mean signed error "
      "|\n|---|---|---|---|---|\n";
  for (const auto& [src, list] : by_source) {
    const ErrorStats e = error_stats(list);
    out += fmt::format("| {} | {} | {:.1f}% | {:.1f}% | {:+.1f}% |\n", src, e.n, e.median * 100, e.p90 * 100,
                       e.mean_signed * 100);
  }
  out +=
      "\n## Every simulated row\n\n| line | model | GPU | dtype | ISL/OSL | load | metric | measured | "
      "simulated | error | APEX setup |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : cases) {
    if (!c.simulated) continue;
    const auto& r = c.row;
    out += fmt::format("| {} | {} | {} ×{} | {} | {}/{} | {} | {} | {:.4g} {} | {:.4g} | {:+.1f}% | {} |\n",
                       r.line, r.model, r.gpu, r.num_gpus, r.dtype, r.input_len, r.output_len, r.load,
                       r.metric, r.value, r.unit, c.simulated_value, c.error * 100, c.setup);
  }
  out +=
      "\n## Outliers\n\n"
      "Rows off by more than 25% fall into five groups:\n\n"
      "* **TensorRT-LLM v0.6.1 static-batch tables (2023)**, errors of both signs: Llama-2-70B and "
      "Falcon-180B "
      "with FP8 on H100 at large batches come out ~+90% (APEX too fast), GPT-J-6B (MHA, head_dim 256, a KV "
      "cache 4x larger per token than GQA models) −34..−49%. APEX's kernels are fitted to 2026 library "
      "measurements (aiconfigurator, vLLM 0.24 kernels), not to that 2023 release, whose FP8 GEMMs and "
      "decode "
      "attention differed in both directions; its smaller-batch rows agree within ~15%.\n"
      "* **Azure `benchmark.py` rows with ISL 128 / OSL 8** (+27..30% on Llama-3-70B TP8): the precision is "
      "the "
      "script default, recorded as \"FP16 (UNSURE)\", and the output is 8 tokens, so the figure is mostly "
      "one "
      "prefill step plus launch and synchronization overheads that a static-batch script pays and APEX does "
      "not model.\n"
      "* **MoE rows (Qwen3 and Llama 4 on TensorRT-LLM)**: the multi-GPU rows (EP over the group with "
      "data-parallel attention, as the source's MoE recipe runs them) agree to a median of ~13% "
      "(Qwen3-235B-A22B "
      "on 8 GPUs), ~15% (Llama-4-Maverick on 8) and ~14% (Llama-4-Scout on 4 Hopper GPUs), with the ISL-128 "
      "rows on H200/B200 30-48% slow: APEX prices fused-MoE layers from aiconfigurator's tables of vLLM's "
      "MoE "
      "kernels (FP8: the faster of the per-tensor and block-scaled tables, which on Hopper is the block "
      "one), "
      "while TensorRT-LLM runs its own MoE kernels. The single-GPU Blackwell rows (Qwen3-30B-A3B, "
      "Llama-4-Scout, "
      "FP4) come out 10-150% fast (median ~30% for Scout, ~47% for Qwen3-30B): APEX's step there is mostly "
      "decode attention at ~80% of HBM bandwidth and FP4 MoE, so the measured figures include costs APEX "
      "does "
      "not see; the GB200 figures are below the B200 ones for the same configuration (GB200 has the faster "
      "memory), so part of that gap is in the measurements.\n"
      "* **DeepSeek-R1 closed-loop rows (TensorRT-LLM, 8 GPUs)**: the throughput rows (data-parallel "
      "attention + EP 8) are 22-38% fast; the request count is not published (APEX sends 4x the "
      "concurrency), and APEX prices MLA attention with its generic attention model, fitted to GQA/MHA "
      "kernels: no MLA kernel table is in the measurements. The batch-1 row with 3 MTP draft tokens is "
      "60% fast: APEX assumes each draft token is accepted with probability 0.8 (2.95 tokens per step); the "
      "measured speed implies about 2 tokens per step on that run's data.\n"
      "* **Batch-1 TTFT on L40S and multi-GPU H100 (TensorRT-LLM v0.5)**: single-request prefill is short "
      "(10-100 ms); fixed per-request host costs of that release and PCIe-only L40S communication "
      "dominate.\n";
  std::map<std::string, int> reasons;
  for (const auto& c : cases) {
    if (!c.simulated && !c.skip_reason.empty()) {
      std::string key = c.skip_reason;
      if (starts(key, "does not fit")) key = key.substr(0, key.find(':'));
      ++reasons[key];
    }
  }
  out += "\n## Rows not simulated\n\n| rows | reason |\n|---|---|\n";
  for (const auto& [why, n] : reasons)
    out += fmt::format("| {} | {} |\n", n, why);
  return out;
}

}  // namespace apex
