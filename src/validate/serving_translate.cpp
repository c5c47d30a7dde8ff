// validate/serving_translate.cpp — a public serving result row in APEX terms: which preset model,
// GPU and engine stand for the row's, how its load and metric map onto a workload and a measure,
// and the deployment, plan and workload that follow.
#include "validate/serving_translate.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "core/text.h"
#include "model/registry.h"
#include "sim/engines/engine_spec.h"

namespace apex::serving {
namespace {

bool starts(const std::string& s, std::string_view p) {
  return s.rfind(p, 0) == 0;
}
bool has(const std::string& s, std::string_view p) {
  return s.find(p) != std::string::npos;
}

}  // namespace

std::optional<std::string> apex_engine(const std::string& row_engine) {
  if (const EngineSpec* e = engine_reported_as(row_engine)) return e->name;
  return std::nullopt;
}

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
  if (has(m, "DeepSeek") && !starts(r.engine, "TensorRT-LLM")) {  // the others are PD-disaggregated
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
  const auto engine = apex_engine(r.engine);
  if (!engine) return skip(fmt::format("engine '{}' has no policy preset", r.engine));
  s.engine = *engine;
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
    s.measure = Measure::Ttft;
  } else if (r.metric == "output_tok_per_s_per_user") {
    s.measure = Measure::TokensPerUser;
  } else if (r.metric == "output_throughput_total" || r.metric == "output_throughput" ||
             r.metric == "throughput" || r.metric == "token_throughput") {
    // Some TensorRT-LLM v0.6.1 tables do not say whether 'tok/s' is per GPU; their notes say it is
    // plausibly per GPU like the H100 table of the same release, and APEX reads them that way.
    const bool per_gpu = has(r.unit, "/GPU") || has(r.notes, "plausibly per GPU");
    s.measure = per_gpu ? Measure::OutputThroughputPerGpu : Measure::OutputThroughput;
  } else {
    return skip(fmt::format("metric '{}' not simulated", r.metric));
  }
  return s;
}

Deployment deployment_for(const Setup& s) {
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
  return d;
}

Plan plan_for(const Setup& s, const Deployment& d) {
  Plan p;
  p.tp = s.tp;
  p.ep = d.model.is_moe() ? s.ep : 1;
  p.attn_dp = d.model.is_moe() && s.attn_dp;
  make_plan_or_throw(d, p);
  return p;
}

SyntheticSpec workload_for(const Setup& s) {
  SyntheticSpec w;
  w.rate = std::numeric_limits<double>::infinity();
  w.num_requests = s.requests;
  w.prompt = LengthDist::parse(std::to_string(s.isl), "isl");
  w.output = LengthDist::parse(std::to_string(s.measure == Measure::Ttft ? 1 : s.osl), "osl");
  return w;
}

std::string describe_setup(const Setup& s, const Deployment& d, const Plan& p) {
  return fmt::format("{} {} {} W{}/KV{}{}, {} × {}→{} {}{}", s.engine, p.label(), s.gpu,
                     dtype_name(s.precision.weight), dtype_name(s.precision.kv),
                     s.spec_tokens > 0 ? fmt::format(" MTP{} (acceptance {})", s.spec_tokens,
                                                     d.engine_policy().costs.spec_acceptance)
                                       : "",
                     s.requests, s.isl, s.measure == Measure::Ttft ? 1 : s.osl,
                     s.concurrency > 0 ? fmt::format("from {} closed-loop clients", s.concurrency) : "at t=0",
                     s.measure == Measure::OutputThroughputPerGpu ? ", per GPU" : "");
}

bool is_moe_row(const ServingRow& r) {
  return has(r.model, "Qwen3") || has(r.model, "Mixtral") || has(r.model, "DeepSeek") ||
         has(r.model, "Llama-4");
}

}  // namespace apex::serving
