// validate/staged_markdown.cpp — the vLLM V1 section of docs/validation.md: errors only (the
// measured rows carry no licence and are not reproduced).
#include <cmath>

#include <fmt/format.h>

#include "validate/staged.h"

namespace apex {
namespace {

std::string pct(double e) {
  return fmt::format("{:+.1f}%", 100 * e);
}

std::string summary_line(const char* what, const StagedSummary& s) {
  return fmt::format("| {} | {} | {:.1f}% | {:.1f}% | {:.1f}% | {:.1f}% | {:.1f}% | {} |\n", what, s.stages,
                     100 * s.e2e_mean, 100 * s.decode, 100 * s.ttft_mean, 100 * s.e2e_p90, 100 * s.ttft_p90,
                     s.saturation_mismatches);
}

}  // namespace

std::string staged_markdown(const std::vector<StagedCase>& cases, const StagedFit& fit,
                            const std::string& csv_path) {
  std::string md;
  md += "## vLLM V1 (0.15.1): measured multi-stage serving runs\n\n";
  md += fmt::format(
      "Regenerate with `build/bin/apex validate serving --stage-reference {} -o FILE` (appended to this file "
      "when given together with `--reference`).\n\n",
      csv_path);
  md +=
      "Every run of the reference file is simulated as one load profile on the default engine (`vllm`, "
      "0.15): its model, GPU, tensor parallelism, precision and recorded server flags (max-num-seqs 128, "
      "gpu-memory-utilization 0.9 and max-model-len 4096 where a run did not record them, as the data notes "
      "say every recorded run used), the inference-perf shared-prefix workload (each group's system prompt, "
      "then the request's own question; exactly output_len tokens out) and its Poisson stages back to "
      "back, "
      "the second starting with the state the first left. Measured TTFT and E2E are client-side, so the "
      "engine's front-end latency (HTTP, tokenization, streaming) is added to the simulated ones; it is "
      "the one parameter fitted here: the value that minimizes the median |log error| of stage mean TTFT "
      "over the stages measured unsaturated. Clean decode = (E2E − TTFT) / (output_len − 1), which the "
      "front-end latency does not change. Error = simulated / measured − 1. The measured values "
      "themselves are not reproduced (the rows carry no licence).\n\n"
      "UNSURE: inference-perf's generator (inference_perf/datagen/shared_prefix_datagen.py) makes "
      "groups × users prompts once and request i sends prompt i mod their count, so every prompt would "
      "recur and, after the first pass, be a prefix-cache hit. Simulated that way the TTFT fit breaks "
      "(front-end latency 25 ms, out-of-sample TTFT median 25% instead of 8%, decode 6.2% instead of "
      "5.4%), while the measured TTFTs grow with each model's prefill compute: the runs behave as if "
      "each question were new, so each is simulated as new.\n\n";
  md += fmt::format(
      "**Front-end latency fitted on every run: {:.1f} ms** (shipped as the `vllm` default, "
      "data/engine_fits.json). Out of sample, each model's stages are predicted with the latency fitted "
      "on the other models' runs (leave-one-model-out):",
      1e3 * fit.frontend_s);
  for (const auto& [m, f] : fit.lomo_frontend)
    md += fmt::format(" {} {:.1f} ms;", m, 1e3 * f);
  md += "\n\n";
  md +=
      "| fit | stages | E2E mean | clean decode | TTFT mean | E2E p90 | TTFT p90 | saturation mismatches |\n";
  md += "|---|---|---|---|---|---|---|---|\n";
  md += summary_line("out of sample (leave-one-model-out)", fit.out_of_sample);
  md += summary_line("in sample", fit.in_sample);
  md += fmt::format(
      "\nMedian absolute errors. A stage is saturated when it serves under {:.0f}% of its offered rate or "
      "its mean TTFT exceeds {:.0f}x the run's first stage (measured runs report no served rate: only the "
      "TTFT test applies to them).\n\n",
      100 * kSaturatedServed, kSaturatedTtftRatio);
  md += "### Every stage (out of sample)\n\n";
  md +=
      "| run | model | GPU | TP | stage | req/s | E2E mean | decode | TTFT mean | E2E p90 | TTFT p90 | "
      "saturated (measured / simulated) | APEX setup |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : cases) {
    if (!c.simulated()) continue;
    const auto it = fit.lomo_frontend.find(c.model);
    const double f = it != fit.lomo_frontend.end() ? it->second : fit.frontend_s;
    for (std::size_t k = 0; k < c.stages.size(); ++k) {
      const StageOutcome& s = c.stages[k];
      if (!s.measured) continue;
      const StageErrors e = stage_errors(c, s, f);
      md += fmt::format("| {} | {} | {} | {} | {} | {:g} | {} | {} | {} | {} | {} | {} / {} | {} |\n",
                        c.run.id, c.model, c.gpu, c.run.tp, k, s.rate, pct(e.e2e_mean), pct(e.decode),
                        pct(e.ttft_mean), pct(e.e2e_p90), pct(e.ttft_p90),
                        s.measured_saturated ? "yes" : "no", s.simulated_saturated ? "yes" : "no", c.setup);
    }
  }
  std::string kv;
  for (const auto& c : cases) {
    if (!c.simulated() || !c.run.gpu_kv_blocks || *c.run.gpu_kv_blocks <= 0) continue;
    kv += fmt::format("| {} | {} | {} | {} | {} |\n", c.run.id, c.model, c.gpu, c.run.tp,
                      pct(static_cast<double>(c.kv_blocks) / static_cast<double>(*c.run.gpu_kv_blocks) - 1));
  }
  if (!kv.empty()) {
    md +=
        "\n### KV-cache size\n\nWhere a run's log gives vLLM's GPU KV-cache block count, the simulated count "
        "(what gpu-memory-utilization leaves after weights, activations and the runtime reserve, in "
        "block-size blocks) against it. Llama 4 Scout runs vLLM's hybrid KV-cache manager (chunked local "
        "layers in their own groups), whose logged block count is not per token of every layer: UNSURE "
        "how to compare it.\n\n| run | model | GPU | TP | blocks (simulated / logged − 1) "
        "|\n|---|---|---|---|---|\n";
    md += kv;
  }
  bool any_skipped = false;
  for (const auto& c : cases) {
    if (c.simulated()) continue;
    if (!any_skipped) md += "\n### Runs not simulated\n\n| run | reason |\n|---|---|\n";
    any_skipped = true;
    md += fmt::format("| {} | {} |\n", c.run.id, c.skip_reason);
  }
  return md;
}

}  // namespace apex
