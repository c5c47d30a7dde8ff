// perf/cost_model.h — the time of one iteration of a batch on each pipeline stage of a replica.
//
// Composition (per GPU of a stage; all GPUs of a TP group run in lockstep):
//   Σ_cells count(cell, stage) × [ QKV, O, gate/up, down GEMMs (or router + experts)
//                                   + prefill and decode attention + 2 TP all-reduces
//                                   + norms / rotary / activation kernels ]
//   + embedding (first stage) + final norm, LM head, logits gather and sampling (last stage)
// plus PP send/recv between stages and a per-step CPU overhead (engine policy).
// The cost of one layer is computed once per distinct cell and multiplied by its count; the
// token-count-dependent part (GEMMs, collectives, elementwise) is memoized per token count.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "hw/hardware.h"
#include "model/model.h"
#include "perf/ops.h"
#include "plan/plan.h"
#include "plan/sharding.h"

namespace apex {

// Σ_{i=1..q} min(past + i, window): causal query-key pairs of a q-token chunk after `past` cached
// tokens, when each query sees at most `window` keys.
inline double window_pairs(std::int64_t past, std::int64_t q, std::int64_t window) {
  const std::int64_t below = std::max<std::int64_t>(0, std::min<std::int64_t>(window - past, q));
  const auto b = static_cast<double>(below);
  return b * static_cast<double>(past) + b * (b + 1) / 2 +
         static_cast<double>(q - below) * static_cast<double>(window);
}

// What one iteration (one micro-batch) computes, aggregated so that the cost is a function of a
// few numbers. Window sums count keys inside the sliding window only (used by windowed cells).
struct BatchShape {
  std::int32_t prefill_seqs = 0;    // prefill chunks
  std::int64_t prefill_tokens = 0;  // Σ chunk lengths
  double prefill_pairs = 0;         // Σ q·(past + (q+1)/2)
  std::int64_t prefill_kv = 0;      // Σ (past + q)
  double prefill_pairs_window = 0;
  std::int64_t prefill_kv_window = 0;
  std::int32_t decode_seqs = 0;
  std::int64_t decode_kv = 0;  // Σ context length (keys read, including the new token)
  std::int64_t decode_kv_window = 0;
  std::int32_t sampled = 0;  // sequences that produce a token (decodes + finishing prefills)
  // Speculative decoding: draft tokens the decodes of this step verify (Σ over decode sequences);
  // the target model runs them like extra decode queries against the same KV cache.
  std::int32_t spec_tokens = 0;
  // Encoder-decoder models: Σ encoder length over the decoder tokens of this step (cross-attention
  // reads); decode_kv then counts the decoder's own tokens only.
  std::int64_t cross_kv = 0;

  std::int64_t tokens() const { return prefill_tokens + decode_seqs + spec_tokens; }
  std::int32_t seqs() const { return prefill_seqs + decode_seqs; }
};

// Engine costs outside the GPU kernels.
struct EngineCosts {
  double step_overhead = 1.0e-3;   // CPU scheduling, input preparation, output processing per step
  double per_seq_overhead = 5e-6;  // per scheduled sequence per step
  int graph_max_tokens = 512;      // batches up to this many tokens replay a CUDA graph
  double eager_launch = 4e-6;      // launch cost per kernel outside a CUDA graph
  bool graph_decode_only = false;  // V0: only decode-only batches are graph-captured
  // One attention kernel per layer for a step that mixes decodes and prefill chunks (vLLM V1's
  // FlashAttention backend calls flash_attn_varlen_func once over every scheduled token), so the
  // kernel's fixed cost is paid once. false: a prefill and a decode kernel (vLLM V0, TensorRT-LLM's
  // context and generation phases, SGLang's separate extend and decode batches).
  bool varlen_attention = false;
  // Custom all-reduce (vLLM custom_all_reduce.py; SGLang copies its rule, TensorRT-LLM has its
  // own kernels): only a TP group on one node whose size has a cap below, whose GPUs are fully
  // connected (NVLink / NVSwitch / xGMI) or number at most `custom_ar_pcie_gpus`, and only for
  // messages under the cap of that size; everything else runs NCCL.
  bool custom_all_reduce = true;
  int custom_ar_pcie_gpus = 2;  // the largest group that runs it over PCIe (vLLM: 2 GPUs)
  // Message cap by TP size (bytes, index = GPUs); 0 = that size is not supported.
  std::array<double, 9> custom_ar_max_bytes = {
      0, 0, kCustomArMaxBytes, 0, kCustomArMaxBytes, 0, kCustomArMaxBytes, 0, kCustomArMaxBytes};
  static constexpr double kCustomArMaxBytes = 8.0 * 1024 * 1024;  // vLLM's default max_size, 8 MiB
  // vLLM's torch symmetric-memory all-reduce (Hopper / Blackwell): messages from the custom cap up
  // to this size (by TP size; 0 = no such tier) on the same GPUs. No kernel table measures it; vLLM
  // routes a message there because it beats both custom all-reduce and NCCL at that size, so it is
  // priced as the cheaper of the two.
  std::array<double, 9> symm_mem_max_bytes{};

  // Whether an all-reduce of `bytes` over a TP group of `gpus` GPUs on `nodes` nodes runs the
  // custom kernel; `fully_connected`: the node's scale-up link (hw::Link::fully_connected).
  bool uses_custom_all_reduce(int gpus, int nodes, bool fully_connected, double bytes) const {
    if (!custom_all_reduce || nodes != 1 || gpus < 2 || gpus >= static_cast<int>(custom_ar_max_bytes.size()))
      return false;
    if (!fully_connected && gpus > custom_ar_pcie_gpus) return false;
    return bytes < custom_ar_max_bytes[static_cast<std::size_t>(gpus)];
  }
  // The same for the symmetric-memory tier (only where the custom kernel is not used).
  bool uses_symm_mem_all_reduce(int gpus, int nodes, bool fully_connected, double bytes) const {
    if (!custom_all_reduce || nodes != 1 || gpus < 2 || gpus >= static_cast<int>(symm_mem_max_bytes.size()))
      return false;
    if (!fully_connected && gpus > custom_ar_pcie_gpus) return false;
    return bytes < symm_mem_max_bytes[static_cast<std::size_t>(gpus)] &&
           !uses_custom_all_reduce(gpus, nodes, fully_connected, bytes);
  }
  // Asynchronous scheduling (vLLM >= 0.14 default): the CPU work of step n+1 (scheduling, input
  // preparation, output processing) runs while step n is on the GPU, so only the part of it that
  // exceeds the GPU step is exposed, plus `async_gap` per step. A request that arrives during step
  // n still joins step n+1 (docs/engines.md: the vLLM V1 runs show no extra step of TTFT).
  bool async_scheduling = false;
  // The engine runs expert parallelism with vLLM's masked fused-MoE kernel (MoeArgs::ep_masked).
  bool moe_ep_masked = true;
  double async_gap = 0;
  // Speculative decoding with a one-layer draft (MTP / EAGLE): each decode step drafts
  // `spec_tokens` tokens sequentially with the draft layer and the LM head, then the target model
  // verifies them in one pass; each draft token is accepted with probability `spec_acceptance`
  // (given the previous one was). 0 = off.
  int spec_tokens = 0;
  double spec_acceptance = 0.8;
  // Client-side latency per request outside the engine loop (HTTP, tokenization, detokenization
  // and streaming), seconds: added to every request's TTFT and E2E, never to its decode (TPOT,
  // ITL) nor to the engine's scheduling. 0 = engine-side metrics.
  double frontend_latency = 0;
};

// Expected tokens one speculative decode step emits with k draft tokens, each accepted with
// probability a given its predecessor was: 1 + a + a² + … + a^k.
inline double expected_spec_tokens(int k, double a) {
  double e = 1, p = 1;
  for (int i = 0; i < k; ++i)
    e += (p *= a);
  return e;
}

// FLOPs and bytes of one iteration on the whole replica, for MFU / MBU / energy.
struct Work {
  double model_flops = 0;  // 2 × active parameters × tokens + attention (no replicated work)
  double bytes_read = 0;   // weights and KV cache read from HBM, all GPUs of the replica
};

// The FLOPs and bytes of a batch as terms of its decode_kv: work() of a batch is at(decode_kv)
// of its terms, so batches that differ only in decode_kv (a steady decode stretch) share them.
struct WorkTerms {
  double flops_fixed = 0, flops_per_key = 0, pairs = 0, flops_local = 0, flops_draft = 0;
  double bytes_fixed = 0, bytes_per_key = 0, bytes_local = 0;
  std::int64_t other_keys = 0;  // keys read besides decode_kv's (prefill chunks, cross-attention)
  Work at(std::int64_t decode_kv) const {
    Work w;
    w.model_flops = flops_fixed + flops_per_key * (pairs + static_cast<double>(decode_kv)) + flops_local;
    if (flops_draft != 0) w.model_flops += flops_draft;
    w.bytes_read = bytes_fixed + bytes_per_key * static_cast<double>(decode_kv + other_keys) + bytes_local;
    return w;
  }
};

class CostModel {
 public:
  CostModel(const Model& model, const Cluster& cluster, const Plan& plan, const Precision& precision,
            std::shared_ptr<const OpModel> ops, const EngineCosts& engine);
  // The same for a model already sharded by the plan (plan/sharding.h): its numbers are copied;
  // the Model it refers to must outlive the cost model.
  CostModel(const ShardedModel& sharded, const Cluster& cluster, std::shared_ptr<const OpModel> ops,
            const EngineCosts& engine);

  int num_stages() const { return static_cast<int>(stage_cells_.size()); }
  // Keys a sliding-window layer attends to, as its kernel computes them (window + one key tile);
  // 0 when the model has no sliding-window layer.
  std::int64_t window() const { return window_; }
  // Local attention: sliding-window or chunked layers (a model has one kind at most) see only
  // part of the context. The *_window sums of BatchShape hold what such layers compute, given
  // by these: keys read when the sequence holds `len` tokens (decode), the fewest over lengths
  // [lo, hi], and the query-key pairs and keys of a q-token chunk after `past` tokens (prefill).
  bool has_local_attention() const { return window_ > 0 || chunk_ > 0; }
  std::int64_t local_kv(std::int64_t len) const {
    if (len <= 0) return 0;
    if (chunk_ > 0) return (len - 1) % chunk_ + 1;  // the keys of the current chunk
    return window_ > 0 ? std::min(len, window_) : 0;
  }
  std::int64_t local_kv_min(std::int64_t lo, std::int64_t hi) const;
  double local_pairs(std::int64_t past, std::int64_t q) const;
  std::int64_t local_prefill_kv(std::int64_t past, std::int64_t q) const;
  // Seconds each stage takes for this micro-batch (out.size() == num_stages()).
  void stage_times(const BatchShape& b, std::vector<double>& out) const;
  // Seconds to pass `tokens` activations from stage s to s + 1.
  double pp_transfer(int s, std::int64_t tokens) const;
  // CPU time of one engine step (scheduling, input preparation, output processing).
  double step_overhead(const BatchShape& b) const;
  // The least CPU time a step can expose: all of it, or under asynchronous scheduling (one stage)
  // only async_gap when it hides behind the previous step (sim/replica.cpp).
  double min_exposed_overhead(const BatchShape& b) const {
    const double cpu = step_overhead(b);
    return engine_.async_scheduling && num_stages() == 1 ? std::min(cpu, engine_.async_gap) : cpu;
  }
  const EngineCosts& engine_costs() const { return engine_; }
  Work work(const BatchShape& b) const { return work_terms(b).at(b.decode_kv); }
  WorkTerms work_terms(const BatchShape& b) const;

  // The steps of a steady decode stretch on one stage (sim/replica.cpp): batches that differ from
  // a base only in decode_kv. time() and work() are stage_times()[0] and work() of such a batch
  // bit for bit (test Costs.DecodeStepsEqualTheGeneralPath), with what the composition sets worked
  // out once: one decode-attention price per cell and step is left.
  class DecodeSteps {
   public:
    // Every stage's time, as stage_times(): out.size() == stages.
    void times(std::int64_t decode_kv, std::vector<double>& out) const {
      const std::int64_t kv = rank_kv(decode_kv);
      layer_s_.resize(layers_.size());
      for (std::size_t c = 0; c < layers_.size(); ++c)
        layer_s_[c] = layer_time(c, kv);
      out.resize(stages_.size());
      for (std::size_t s = 0; s < stages_.size(); ++s)
        out[s] = stage_time(stages_[s], [&](std::size_t c) { return layer_s_[c]; });
    }
    // The same for one stage (a plan without pipeline parallelism): times()[0].
    double time(std::int64_t decode_kv) const {
      const std::int64_t kv = rank_kv(decode_kv);
      return stage_time(stages_[0], [&](std::size_t c) { return layer_time(c, kv); });
    }
    Work work(std::int64_t decode_kv) const { return work_.at(decode_kv); }

   private:
    friend class CostModel;
    // The sums of stage_times, in its order; attention as attention_part's (its prefill part 0).
    std::int64_t rank_kv(std::int64_t decode_kv) const {
      return share_ > 1 ? (decode_kv + share_ - 1) / share_ : decode_kv;
    }
    double layer_time(std::size_t c, std::int64_t kv) const {
      return layers_[c].dense + layers_[c].pricer->price(seqs_, kv) + launch_;
    }
    struct Stage;
    template <class LayerTime>
    double stage_time(const Stage& st, LayerTime&& layer) const {
      double t = 0;
      for (std::size_t c = 0; c < layers_.size(); ++c)
        t += st.counts[c] * layer(c);
      if (st.has_embedding) t += embedding_;
      if (st.has_head) t += head_;
      return t;
    }
    struct Layer {
      double dense = 0;
      const DecodeAttnPricer* pricer = nullptr;
    };
    struct Stage {
      std::vector<double> counts;  // per cell
      bool has_embedding = false, has_head = false;
    };
    std::vector<Layer> layers_;
    std::vector<Stage> stages_;
    mutable std::vector<double> layer_s_;  // times()'s scratch: one layer of each cell
    std::int64_t seqs_ = 0;                // decodes per attention rank
    int share_ = 1;                        // attention data-parallel ranks sharing the decodes (1: none)
    double launch_ = 0, embedding_ = 0, head_ = 0;
    WorkTerms work_;
  };
  // Fills `out` for the batches like `base`; false when that form does not hold (a prefill chunk,
  // speculative decoding, local attention, an encoder-decoder model).
  bool decode_steps(const BatchShape& base, DecodeSteps& out) const;
  const OpModel& ops() const { return *ops_; }
  // Expert-load imbalance of MoE layers (power-law alpha; 0 = balanced). Set before use.
  void set_expert_skew(double skew) { expert_skew_ = skew; }
  void set_expert_capacity_factor(double cf) { capacity_factor_ = cf; }

  // Components of one layer of `cell`, for reports and tests. `gemm` includes the MoE part.
  struct LayerBreakdown {
    double gemm = 0, attention = 0, communication = 0, elementwise = 0;
    double moe = 0;  // routed experts (fused MoE kernel), also counted in gemm
    double total() const { return gemm + attention + communication + elementwise; }
  };
  LayerBreakdown layer(std::size_t cell, const BatchShape& b) const;

  // Where the time of one micro-batch goes, summed over its pipeline stages (seconds of stage
  // time; with pp = 1 the components add up to stage_times()[0]).
  struct StepBreakdown {
    double gemm = 0;           // dense projections, dense FFN, router and shared experts
    double moe = 0;            // routed experts
    double attention = 0;      // prefill, decode and cross attention kernels
    double communication = 0;  // TP all-reduces, EP all-to-all, logits all-gather
    double elementwise = 0;    // norms, rotary, activations, embedding, sampling
    double launch = 0;         // kernel launches outside CUDA graphs
    double lm_head = 0;        // LM head GEMM
    double draft = 0;          // speculative decoding: the draft layer and LM head, per draft token
    double total() const {
      return gemm + moe + attention + communication + elementwise + launch + lm_head + draft;
    }
    StepBreakdown& operator+=(const StepBreakdown& o);
  };
  StepBreakdown step_breakdown(const BatchShape& b) const;

 private:
  struct DenseCost {
    double gemm = 0, comm = 0, elementwise = 0;  // gemm includes moe
    double moe = 0;
  };
  DenseCost dense_part(std::size_t cell, std::int64_t tokens) const;
  std::int64_t cell_tokens(std::size_t cell, const BatchShape& b) const;  // tokens one cell processes
  double attention_part(std::size_t cell, const BatchShape& b) const;
  double lm_head(const BatchShape& b) const;
  double draft_part(const BatchShape& b) const;  // speculative drafting on the last stage
  double lm_head_uncached(const BatchShape& b) const;
  double launch_penalty(const BatchShape& b) const;
  double tp_all_reduce(double bytes) const;
  std::int64_t rank_tokens(std::int64_t tokens) const;  // tokens one attention rank processes
  BatchShape rank_shape(const BatchShape& b) const;     // the share of one attention rank

  const Model& model_;
  Plan plan_;
  Precision precision_;
  std::shared_ptr<const OpModel> ops_;
  EngineCosts engine_;
  CommGroup tp_group_;
  std::vector<CommGroup> pp_links_;                     // stage s -> s+1
  std::vector<std::vector<std::int64_t>> stage_cells_;  // counts per stage
  std::int64_t window_ = 0;
  std::int64_t chunk_ = 0;  // chunked local attention (Llama 4)
  double act_bytes_ = 2;
  double expert_skew_ = 0;
  double capacity_factor_ = 0;
  double weight_bytes_per_replica_ = 0;  // all weights but the routed experts, all GPUs
  double routed_expert_bytes_ = 0;       // MoE routed experts, all layers and GPUs
  double encoder_weight_bytes_ = 0;      // encoder-decoder: the encoder's share of weight_bytes_per_replica_
  std::int64_t experts_ = 0, topk_ = 0;
  double kv_bytes_per_token_replica_ = 0;  // summed over stages and TP ranks
  double kv_local_share_ = 0;              // of those, the share in sliding-window / chunked layers
  double linear_flops_per_token_ = 0;      // decoder(-only) layers + LM head
  double encoder_flops_per_token_ = 0;     // encoder layers (encoder-decoder models)
  double attn_flops_per_pair_ = 0;         // summed over layers
  double attn_flops_per_pair_window_ = 0;
  mutable std::vector<std::vector<DenseCost>> dense_cache_;  // [cell][tokens]
  mutable std::vector<std::vector<char>> dense_known_;
  mutable std::vector<double> lm_head_cache_;          // [sampled], negative = not computed
  mutable std::vector<double> embedding_cache_;        // [tokens], negative = not computed
  mutable std::vector<std::vector<double>> pp_cache_;  // pp_transfer [stage][tokens], negative = not computed
  mutable std::vector<double> active_experts_cache_;   // work(): [tokens], negative = not computed
  // Per cell: the fixed cost of one attention kernel launch (the smallest decode call), which a
  // varlen mixed step pays once instead of twice (EngineCosts::varlen_attention).
  // Computed on first use; negative = not computed.
  mutable std::vector<double> attention_floor_;
  // Per cell: its attention's per-GPU shape, and the decode-attention pricer for it.
  struct AttnShape {
    bool windowed = false;
    std::int64_t heads = 0, kv_heads = 0, head_dim = 0;     // prefill (MLA: un-absorbed)
    DecodeAttnArgs decode;                                  // decode (MLA: absorbed); seqs, kv_tokens unset
    std::unique_ptr<const DecodeAttnPricer> decode_pricer;  // its caches are this CostModel's
  };
  std::vector<AttnShape> attn_shapes_;
  // stage_times' parts that depend on the batch's composition only (not on its contexts): for the
  // last decode-only composition of each sequence count, and the last mixed one.
  struct StepMemo {
    bool valid = false;
    std::int32_t prefill_seqs = 0, decode_seqs = 0, sampled = 0;
    std::int64_t prefill_tokens = 0;
    double launch = 0, embedding = 0, head = 0;
    std::vector<double> dense;  // per cell: GEMMs + communication + elementwise
  };
  const StepMemo& step_memo(const BatchShape& b) const;  // the memo for b, filled if stale
  mutable std::vector<StepMemo> decode_memos_;           // [decode_seqs]
  mutable StepMemo mixed_memo_;
  mutable std::vector<double> per_cell_;  // stage_times' scratch: one layer of each cell
  double embedding(std::int64_t tokens) const;
};

}  // namespace apex
