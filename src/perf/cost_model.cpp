#include "perf/cost_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace apex {
namespace {
constexpr std::int64_t kDenseCacheLimit = 1 << 16;  // memoize token counts up to 64K

// A value that depends on a count only (tokens, sampled sequences), memoized in `cache` by count
// below kDenseCacheLimit (negative = not computed); compute() gives it otherwise.
template <class F>
double memo_by_count(std::vector<double>& cache, std::int64_t n, F&& compute) {
  if (n < 0 || n >= kDenseCacheLimit) return compute();
  const auto i = static_cast<std::size_t>(n);
  if (i < cache.size() && cache[i] >= 0) return cache[i];
  const double v = compute();
  if (i >= cache.size()) cache.resize(std::max(i + 1, cache.size() * 2), -1.0);
  cache[i] = v;
  return v;
}

// The GPU index (within the cluster) of replica r, stage s, TP rank t, with replicas packed
// consecutively and each stage's TP group on consecutive GPUs.
int gpu_index(const Plan& p, int replica, int stage, int rank) {
  return replica * p.tp * p.pp + stage * p.tp + rank;
}
}  // namespace

CostModel::CostModel(const Model& model, const Cluster& cluster, const Plan& plan, const Precision& precision,
                     std::shared_ptr<const OpModel> ops, const EngineCosts& engine)
    : CostModel(ShardedModel(model, plan, precision), cluster, std::move(ops), engine) {}

CostModel::CostModel(const ShardedModel& sharded, const Cluster& cluster, std::shared_ptr<const OpModel> ops,
                     const EngineCosts& engine)
    : model_(sharded.model()),
      plan_(sharded.plan),
      precision_(sharded.precision),
      ops_(std::move(ops)),
      engine_(engine) {
  const Model& model = model_;
  const Plan& plan = plan_;
  APEX_ASSERT(!plan_.stages.empty(), "CostModel needs a plan made by make_plan");
  act_bytes_ = sharded.activation_width;
  // TP group: nodes spanned by one stage's GPUs (worst replica).
  tp_group_.gpus = plan.tp;
  tp_group_.intra = cluster.intra_node;
  tp_group_.inter = cluster.inter_node;
  tp_group_.nodes = 1;
  for (int r = 0; r < plan.dp; ++r) {
    for (int s = 0; s < plan.pp; ++s) {
      const int first = gpu_index(plan, r, s, 0) / cluster.gpus_per_node;
      const int last = gpu_index(plan, r, s, plan.tp - 1) / cluster.gpus_per_node;
      tp_group_.nodes = std::max(tp_group_.nodes, last - first + 1);
    }
  }
  for (int s = 0; s + 1 < plan.pp; ++s) {
    CommGroup g;
    g.gpus = 2;
    g.intra = cluster.intra_node;
    g.inter = cluster.inter_node;
    for (int r = 0; r < plan.dp; ++r) {
      const int a = gpu_index(plan, r, s, 0) / cluster.gpus_per_node;
      const int b = gpu_index(plan, r, s + 1, 0) / cluster.gpus_per_node;
      if (a != b) g.nodes = 2;
    }
    pp_links_.push_back(g);
  }
  for (const auto& st : plan_.stages)
    stage_cells_.push_back(st.cell_counts);
  attention_floor_.assign(model.cells.size(), -1.0);
  const int attn_tp = plan_.attn_tp();
  for (const Cell& c : model.cells) {
    AttnShape a;
    a.windowed = c.attn.window > 0 || c.attn.chunk > 0;
    a.heads = c.attn.num_heads / attn_tp;
    a.kv_heads = kv_heads_per_gpu(c.attn, attn_tp);
    a.head_dim = c.attn.head_dim;
    a.decode = {0, 0, a.heads, a.kv_heads, a.head_dim, precision_.kv, false};
    if (c.attn.kind == AttentionKind::MLA) {
      // Prefill runs MLA un-absorbed: per head, q·k over qk_nope + rope dims and p·v over v_head_dim;
      // head_dim (qk + v) / 2 gives the same 4·heads·head_dim FLOPs per pair.
      a.kv_heads = a.heads;
      a.head_dim = (c.attn.qk_nope_head_dim + c.attn.qk_rope_head_dim + c.attn.v_head_dim) / 2;
      // Decode runs absorbed: every head attends over the one shared latent (kv_lora_rank + rope).
      a.decode.kv_heads = 1;
      a.decode.head_dim = c.attn.kv_lora_rank + c.attn.qk_rope_head_dim;
      a.decode.latent = true;
    }
    a.decode_pricer = ops_->decode_attention_pricer(a.decode);
    attn_shapes_.push_back(std::move(a));
  }
  for (const auto& c : model.cells) {
    window_ = std::max(window_, c.attn.window);
    chunk_ = std::max(chunk_, c.attn.chunk);
  }
  APEX_ASSERT(window_ == 0 || chunk_ == 0, "a model mixes sliding-window and chunked attention");
  if (window_ > 0) window_ += kWindowTile;  // the band a tiled kernel computes

  // Replica-wide constants for Work (plan/sharding.h).
  weight_bytes_per_replica_ = sharded.weight_bytes_per_replica;
  kv_bytes_per_token_replica_ = sharded.kv_bytes_per_token_replica;
  kv_local_share_ = sharded.kv_local_share;
  routed_expert_bytes_ = sharded.routed_expert_bytes;
  if (model.encoder_decoder) {
    // The encoder's layers run (and stream their weights) only in iterations with new inputs.
    for (const auto& st : plan_.stages) {
      Stage enc = st;
      enc.has_embedding = enc.has_lm_head = false;
      for (std::size_t c = 0; c < model.cells.size(); ++c) {
        if (model.cells[c].role != CellRole::Encoder) enc.cell_counts[c] = 0;
      }
      encoder_weight_bytes_ += stage_weight_bytes(model, plan_, enc, precision_) * plan_.tp;
    }
  }
  experts_ = sharded.experts;
  topk_ = sharded.topk;
  linear_flops_per_token_ = sharded.linear_flops_per_token;
  encoder_flops_per_token_ = sharded.encoder_flops_per_token;
  attn_flops_per_pair_ = sharded.attn_flops_per_pair;
  attn_flops_per_pair_window_ = sharded.attn_flops_per_pair_window;
  dense_cache_.resize(model.cells.size());
  dense_known_.resize(model.cells.size());
}

CostModel::DenseCost CostModel::dense_part(std::size_t cell_index, std::int64_t tokens) const {
  if (tokens <= 0) return {};
  const bool cacheable = tokens < kDenseCacheLimit;
  if (cacheable) {
    auto& known = dense_known_[cell_index];
    if (static_cast<std::size_t>(tokens) < known.size() && known[static_cast<std::size_t>(tokens)]) {
      return dense_cache_[cell_index][static_cast<std::size_t>(tokens)];
    }
  }
  const Cell& c = model_.cells[cell_index];
  const std::int64_t h = model_.hidden;
  // Attention and dense FFN run tensor-parallel over attn_tp GPUs; with data-parallel attention
  // each GPU handles its own share of the group's tokens.
  const int tp = plan_.attn_tp();
  const std::int64_t local = rank_tokens(tokens);
  const DType w = precision_.weight, a = precision_.activation;
  DenseCost d;
  // Attention projections.
  if (c.attn.kind == AttentionKind::MLA) {
    const std::int64_t nh = c.attn.num_heads / tp;
    const std::int64_t qk = c.attn.qk_nope_head_dim + c.attn.qk_rope_head_dim;
    if (c.attn.q_lora_rank > 0) {
      d.gemm += ops_->gemm({local, c.attn.q_lora_rank, h, w, a});
      d.gemm += ops_->gemm({local, nh * qk, c.attn.q_lora_rank, w, a});
    } else {
      d.gemm += ops_->gemm({local, nh * qk, h, w, a});
    }
    d.gemm += ops_->gemm({local, c.attn.kv_lora_rank + c.attn.qk_rope_head_dim, h, w, a});
    d.gemm +=
        ops_->gemm({local, nh * (c.attn.qk_nope_head_dim + c.attn.v_head_dim), c.attn.kv_lora_rank, w, a});
    d.gemm += ops_->gemm({local, h, nh * c.attn.v_head_dim, w, a});
  } else {
    const std::int64_t q = c.attn.num_heads / tp * c.attn.head_dim;
    const std::int64_t kv = kv_heads_per_gpu(c.attn, tp) * c.attn.head_dim;
    d.gemm += ops_->gemm({local, q + 2 * kv, h, w, a});
    d.gemm += ops_->gemm({local, h, q, w, a});
  }
  // Feed-forward.
  const int up_factor = c.ffn.gated ? 2 : 1;
  const double hidden_bytes = static_cast<double>(tokens * h) * act_bytes_;
  if (c.ffn.is_moe()) {
    // Router on each GPU's own tokens, then the fused MoE of this GPU's experts: it sees the
    // token-expert pairs of the whole group that land on its num_experts/ep experts.
    d.gemm += ops_->gemm({local, c.ffn.num_experts, h, DType::BF16, a});
    MoeArgs m;
    m.tokens = tokens;
    m.hidden = h;
    m.inter = c.ffn.intermediate;
    m.topk = c.ffn.top_k;
    m.experts = c.ffn.num_experts;
    m.tp = plan_.expert_tp();
    m.ep = plan_.ep;
    m.weight = w;
    m.activation = a;
    m.gated = c.ffn.gated;
    m.skew = expert_skew_;
    m.capacity_factor = capacity_factor_;
    m.ep_masked = engine_.moe_ep_masked;
    d.moe = ops_->moe(m);
    d.gemm += d.moe;
    if (c.ffn.shared_intermediate > 0) {
      const std::int64_t sw = c.ffn.shared_intermediate / tp;
      d.gemm += ops_->gemm({local, up_factor * sw, h, w, a}) + ops_->gemm({local, h, sw, w, a});
    }
    if (plan_.attn_dp) {
      // Dispatch and combine: each GPU sends its tokens' hidden states to the GPUs of their experts.
      const double bytes = static_cast<double>(local * c.ffn.top_k * h) * act_bytes_;
      d.comm += 2 * ops_->collective(Collective::AllToAll, bytes, tp_group_);
    }
  } else {
    const std::int64_t width = c.ffn.intermediate / tp;
    d.gemm += ops_->gemm({local, up_factor * width, h, w, a});
    d.gemm += ops_->gemm({local, h, width, w, a});
  }
  // Megatron TP: one all-reduce after attention, one after the FFN (or the experts' partial sums).
  if (!plan_.attn_dp && plan_.tp > 1) d.comm += 2 * tp_all_reduce(hidden_bytes);
  // Elementwise: two fused residual+norm kernels, rotary on q/k, the FFN activation.
  const double local_hidden_bytes = static_cast<double>(local * h) * act_bytes_;
  const double inter_bytes =
      c.ffn.is_moe() ? static_cast<double>(tokens * c.ffn.top_k) / plan_.ep *
                           static_cast<double>(c.ffn.intermediate) / plan_.expert_tp() * act_bytes_
                     : static_cast<double>(local * (c.ffn.intermediate / tp)) * act_bytes_;
  d.elementwise = 2 * ops_->elementwise(3 * local_hidden_bytes) +
                  ops_->elementwise(static_cast<double>(local * c.attn.num_heads / tp * c.attn.head_dim) * 2 *
                                    act_bytes_) +
                  ops_->elementwise(3 * inter_bytes);
  if (cacheable) {
    auto& known = dense_known_[cell_index];
    auto& cache = dense_cache_[cell_index];
    if (static_cast<std::size_t>(tokens) >= known.size()) {
      const auto size = std::max<std::size_t>(static_cast<std::size_t>(tokens) + 1, known.size() * 2);
      known.resize(size, 0);
      cache.resize(size);
    }
    known[static_cast<std::size_t>(tokens)] = 1;
    cache[static_cast<std::size_t>(tokens)] = d;
  }
  return d;
}

std::int64_t CostModel::local_kv_min(std::int64_t lo, std::int64_t hi) const {
  if (chunk_ > 0 && hi > lo && (lo - 1) / chunk_ != (hi - 1) / chunk_) return 1;  // a chunk starts in between
  return local_kv(lo);                                                            // non-decreasing otherwise
}

double CostModel::local_pairs(std::int64_t past, std::int64_t q) const {
  if (chunk_ > 0) {
    // Σ over positions p in [past, past + q) of (p mod chunk) + 1, via prefix sums.
    const auto prefix = [c = chunk_](std::int64_t n) {
      const auto full = static_cast<double>(n / c), rest = static_cast<double>(n % c),
                 cd = static_cast<double>(c);
      return full * cd * (cd + 1) / 2 + rest * (rest + 1) / 2;
    };
    return prefix(past + q) - prefix(past);
  }
  return window_ > 0 ? window_pairs(past, q, window_) : 0.0;
}

std::int64_t CostModel::local_prefill_kv(std::int64_t past, std::int64_t q) const {
  if (chunk_ > 0) return past + q - past / chunk_ * chunk_;  // from the start of the chunk holding `past`
  return window_ > 0 ? std::min(past + q, window_) : 0;
}

std::int64_t CostModel::rank_tokens(std::int64_t tokens) const {
  return plan_.attn_dp ? (tokens + plan_.tp - 1) / plan_.tp : tokens;
}

BatchShape CostModel::rank_shape(const BatchShape& b) const {
  if (!plan_.attn_dp) return b;
  // Sequences are spread evenly over the data-parallel attention ranks; the busiest rank sets
  // the pace (ceil), its share of every sum is proportional.
  const int g = plan_.tp;
  BatchShape r;
  auto share = [g](auto v) { return static_cast<decltype(v)>((v + g - 1) / g); };
  r.prefill_seqs = share(b.prefill_seqs);
  r.prefill_tokens = share(b.prefill_tokens);
  r.prefill_pairs = b.prefill_pairs / g;
  r.prefill_kv = share(b.prefill_kv);
  r.prefill_pairs_window = b.prefill_pairs_window / g;
  r.prefill_kv_window = share(b.prefill_kv_window);
  r.decode_seqs = share(b.decode_seqs);
  r.decode_kv = share(b.decode_kv);
  r.decode_kv_window = share(b.decode_kv_window);
  r.sampled = share(b.sampled);
  r.spec_tokens = share(b.spec_tokens);
  return r;
}

std::int64_t CostModel::cell_tokens(std::size_t cell, const BatchShape& b) const {
  if (!model_.encoder_decoder) return b.tokens();
  // Encoder layers see the prompts; decoder layers one token per sequence (a finishing prefill
  // runs the encoder and the first decoder step in the same iteration).
  return model_.cells[cell].role == CellRole::Encoder ? b.prefill_tokens : b.decode_seqs + b.prefill_seqs;
}

double CostModel::attention_part(std::size_t cell_index, const BatchShape& whole) const {
  const Cell& c = model_.cells[cell_index];
  const int tp = plan_.attn_tp();
  BatchShape ranked;
  const BatchShape& b = plan_.attn_dp ? (ranked = rank_shape(whole)) : whole;
  if (model_.encoder_decoder) {
    const std::int64_t heads = c.attn.num_heads / tp;
    const std::int64_t kv_heads = kv_heads_per_gpu(c.attn, tp);
    double t = 0;
    if (c.role == CellRole::Encoder) {
      if (b.prefill_seqs == 0) return 0.0;
      // Bidirectional: every input token attends to every other (Σ q² = 2 · causal pairs − q).
      PrefillAttnArgs p{b.prefill_seqs,
                        b.prefill_tokens,
                        2 * b.prefill_pairs - static_cast<double>(b.prefill_tokens),
                        b.prefill_kv,
                        heads,
                        kv_heads,
                        c.attn.head_dim,
                        precision_.kv};
      return ops_->attention_prefill(p);
    }
    const std::int64_t dec_tokens = b.decode_seqs + b.prefill_seqs;
    if (dec_tokens == 0) return 0.0;
    // Decoder self-attention over its own tokens, then cross-attention over the cached encoder
    // output; both read their caches like decode attention.
    t += ops_->attention_decode({dec_tokens, std::max<std::int64_t>(b.decode_kv + b.prefill_seqs, dec_tokens),
                                 heads, kv_heads, c.attn.head_dim, precision_.kv});
    t += ops_->attention_decode({dec_tokens, std::max<std::int64_t>(b.cross_kv, dec_tokens), heads, kv_heads,
                                 c.attn.head_dim, precision_.kv});
    // The cross-attention keys and values of new inputs are projected once, at prefill.
    if (b.prefill_tokens > 0) {
      t += ops_->gemm({b.prefill_tokens, 2 * kv_heads * c.attn.head_dim, model_.hidden, precision_.weight,
                       precision_.activation});
    }
    return t;
  }
  const AttnShape& a = attn_shapes_[cell_index];
  const bool windowed = a.windowed;
  const std::int64_t heads = a.heads, kv_heads = a.kv_heads, head_dim = a.head_dim;
  double prefill = 0, decode = 0;
  if (b.prefill_seqs > 0) {
    PrefillAttnArgs p;
    p.seqs = b.prefill_seqs;
    p.tokens = b.prefill_tokens;
    p.pairs = windowed ? b.prefill_pairs_window : b.prefill_pairs;
    p.kv_tokens = windowed ? b.prefill_kv_window : b.prefill_kv;
    p.heads = heads;
    p.kv_heads = kv_heads;
    p.head_dim = head_dim;
    p.kv = precision_.kv;
    prefill = ops_->attention_prefill(p);
  }
  if (b.decode_seqs > 0) {
    const std::int64_t kv_tokens = windowed ? b.decode_kv_window : b.decode_kv;
    if (b.spec_tokens > 0) {
      // Speculative verification: 1 + k queries per sequence read the cache once (as more query
      // heads per KV head would).
      DecodeAttnArgs d = a.decode;
      d.seqs = b.decode_seqs;
      d.kv_tokens = kv_tokens;
      d.heads = (heads * (b.decode_seqs + b.spec_tokens) + b.decode_seqs - 1) / b.decode_seqs;
      decode = ops_->attention_decode(d);
    } else {
      decode = a.decode_pricer->price(b.decode_seqs, kv_tokens);
    }
    if (prefill > 0 && engine_.varlen_attention) {
      // One varlen kernel over the chunks and the decodes: its fixed cost (that of the smallest
      // call) is paid once, never more than the cheaper part.
      double& floor = attention_floor_[cell_index];
      if (floor < 0) floor = a.decode_pricer->price(1, 1);
      return prefill + decode - std::min({floor, prefill, decode});
    }
  }
  return prefill + decode;
}

double CostModel::tp_all_reduce(double bytes) const {
  // The engine's rule (EngineCosts::uses_custom_all_reduce) on this cluster's scale-up link.
  const bool full = tp_group_.intra.fully_connected;
  if (engine_.uses_symm_mem_all_reduce(plan_.tp, tp_group_.nodes, full, bytes)) {
    return std::min(ops_->collective(Collective::CustomAllReduce, bytes, tp_group_),
                    ops_->collective(Collective::AllReduce, bytes, tp_group_));
  }
  const bool custom = engine_.uses_custom_all_reduce(plan_.tp, tp_group_.nodes, full, bytes);
  return ops_->collective(custom ? Collective::CustomAllReduce : Collective::AllReduce, bytes, tp_group_);
}

double CostModel::launch_penalty(const BatchShape& b) const {
  // Outside CUDA graphs each kernel pays its launch; V1's piecewise graphs still run attention
  // eagerly for batches larger than the largest captured size.
  const bool graphed =
      b.tokens() <= engine_.graph_max_tokens && (!engine_.graph_decode_only || b.prefill_seqs == 0);
  if (graphed) return 0.0;
  const double kernels_per_layer = engine_.graph_decode_only ? 12.0 : 2.0;
  return kernels_per_layer * engine_.eager_launch;
}

double CostModel::embedding(std::int64_t tokens) const {
  return memo_by_count(embedding_cache_, tokens, [&] {
    double t = ops_->elementwise(static_cast<double>(rank_tokens(tokens) * model_.hidden) * act_bytes_);
    if (plan_.attn_tp() > 1) t += tp_all_reduce(static_cast<double>(tokens * model_.hidden) * act_bytes_);
    return t;
  });
}

double CostModel::lm_head(const BatchShape& whole) const {
  if (whole.sampled <= 0) return 0.0;
  // Depends on the sampled count only: memoized.
  return memo_by_count(lm_head_cache_, whole.sampled, [&] { return lm_head_uncached(whole); });
}

double CostModel::lm_head_uncached(const BatchShape& whole) const {
  const BatchShape b = rank_shape(whole);
  const int tp = plan_.attn_tp();
  const std::int64_t vocab_shard = (model_.vocab + tp - 1) / tp;
  double t =
      ops_->elementwise(static_cast<double>(b.sampled * model_.hidden) * act_bytes_ * 2);  // final norm
  t += ops_->gemm({b.sampled, vocab_shard, model_.hidden, DType::BF16, precision_.activation});
  const double logits = static_cast<double>(b.sampled * model_.vocab) * 4.0;
  if (tp > 1) t += ops_->collective(Collective::AllGather, logits, tp_group_);
  t += ops_->elementwise(2 * logits);  // softmax / penalties / sampling over fp32 logits
  return t;
}

const CostModel::StepMemo& CostModel::step_memo(const BatchShape& b) const {
  // What does not depend on the decodes' contexts is worked out once per batch composition: a
  // decode stretch reprices attention only. The same sums, in the same order, as without it.
  // Pure decode steps by their sequence count (pipeline micro-batches alternate compositions).
  const bool decode_only = b.prefill_seqs == 0 && b.decode_seqs < kDenseCacheLimit;
  if (decode_only && static_cast<std::size_t>(b.decode_seqs) >= decode_memos_.size())
    decode_memos_.resize(static_cast<std::size_t>(b.decode_seqs) + 1);
  StepMemo& m = decode_only ? decode_memos_[static_cast<std::size_t>(b.decode_seqs)] : mixed_memo_;
  const bool same = m.valid && b.spec_tokens == 0 && m.prefill_seqs == b.prefill_seqs &&
                    m.prefill_tokens == b.prefill_tokens && m.decode_seqs == b.decode_seqs &&
                    m.sampled == b.sampled;
  if (same) return m;
  const std::size_t cells = model_.cells.size();
  m.valid = b.spec_tokens == 0;  // drafting reads the contexts
  m.prefill_seqs = b.prefill_seqs;
  m.prefill_tokens = b.prefill_tokens;
  m.decode_seqs = b.decode_seqs;
  m.sampled = b.sampled;
  m.launch = launch_penalty(b);
  m.dense.resize(cells);
  for (std::size_t c = 0; c < cells; ++c) {
    const DenseCost d = dense_part(c, cell_tokens(c, b));
    m.dense[c] = d.gemm + d.comm + d.elementwise;
  }
  m.embedding = embedding(b.tokens());
  m.head = lm_head(b) + draft_part(b);
  return m;
}

bool CostModel::decode_steps(const BatchShape& base, DecodeSteps& out) const {
  if (base.prefill_seqs != 0 || base.decode_seqs <= 0 || base.spec_tokens != 0 || has_local_attention() ||
      model_.encoder_decoder)
    return false;
  const StepMemo& m = step_memo(base);
  const BatchShape ranked = rank_shape(base);
  out.seqs_ = ranked.decode_seqs;
  out.share_ = plan_.attn_dp ? plan_.tp : 1;
  out.launch_ = m.launch;
  out.embedding_ = m.embedding;
  out.head_ = m.head;
  const std::size_t cells = model_.cells.size();
  out.layers_.resize(cells);
  for (std::size_t c = 0; c < cells; ++c)
    out.layers_[c] = {m.dense[c], attn_shapes_[c].decode_pricer.get()};
  out.stages_.resize(stage_cells_.size());
  for (std::size_t s = 0; s < stage_cells_.size(); ++s) {
    DecodeSteps::Stage& st = out.stages_[s];
    st.counts.resize(cells);
    for (std::size_t c = 0; c < cells; ++c)
      st.counts[c] = static_cast<double>(stage_cells_[s][c]);
    st.has_embedding = plan_.stages[s].has_embedding;
    st.has_head = plan_.stages[s].has_lm_head;
  }
  out.work_ = work_terms(base);
  return true;
}

void CostModel::stage_times(const BatchShape& b, std::vector<double>& out) const {
  const std::size_t stages = stage_cells_.size(), cells = model_.cells.size();
  out.resize(stages);
  const std::int64_t tokens = b.tokens();
  if (tokens <= 0) {
    std::fill(out.begin(), out.end(), 0.0);
    return;
  }
  const StepMemo& m = step_memo(b);
  // One evaluation per distinct cell, multiplied by its count in each stage.
  per_cell_.resize(cells);
  for (std::size_t c = 0; c < cells; ++c)
    per_cell_[c] = m.dense[c] + attention_part(c, b) + m.launch;
  for (std::size_t s = 0; s < stages; ++s) {
    double t = 0;
    for (std::size_t c = 0; c < cells; ++c) {
      t += static_cast<double>(stage_cells_[s][c]) * per_cell_[c];
    }
    if (plan_.stages[s].has_embedding) t += m.embedding;
    if (plan_.stages[s].has_lm_head) t += m.head;
    out[s] = t;
  }
}

double CostModel::draft_part(const BatchShape& b) const {
  if (b.spec_tokens <= 0 || b.decode_seqs <= 0 || model_.draft_layers <= 0) return 0.0;
  // The draft runs spec_tokens sequential passes over the decoding sequences: one layer like the
  // model's last (attending to its own cache of the context) and the shared LM head.
  const int passes = std::min(engine_.spec_tokens, (b.spec_tokens + b.decode_seqs - 1) / b.decode_seqs);
  BatchShape d;
  d.decode_seqs = b.decode_seqs;
  d.decode_kv = b.decode_kv;
  d.decode_kv_window = b.decode_kv_window;
  d.sampled = b.decode_seqs;
  const auto cell = static_cast<std::size_t>(model_.draft_cell);
  const DenseCost layer = dense_part(cell, d.decode_seqs);
  const double one = static_cast<double>(model_.draft_layers) *
                         (layer.gemm + layer.comm + layer.elementwise + attention_part(cell, d)) +
                     lm_head(d);
  return passes * one;
}

double CostModel::pp_transfer(int s, std::int64_t tokens) const {
  if (s < 0 || s + 1 >= plan_.pp || tokens <= 0) return 0.0;
  const auto stage = static_cast<std::size_t>(s);
  if (pp_cache_.size() < pp_links_.size()) pp_cache_.resize(pp_links_.size());
  return memo_by_count(pp_cache_[stage], tokens, [&] {
    // vLLM sends the hidden states and the residual from each TP rank of stage s to its peer.
    const double bytes = static_cast<double>(tokens * model_.hidden) * act_bytes_ * 2.0 / plan_.tp;
    return ops_->collective(Collective::SendRecv, bytes, pp_links_[stage]);
  });
}

double CostModel::step_overhead(const BatchShape& b) const {
  // Each data-parallel attention rank schedules, prepares and samples its own sequences: the
  // per-sequence part follows the busiest rank's share, as the step waits for the slowest rank.
  return engine_.step_overhead + engine_.per_seq_overhead * static_cast<double>(rank_shape(b).seqs());
}

WorkTerms CostModel::work_terms(const BatchShape& b) const {
  // work() is at(b.decode_kv) of these: each sum as one expression, left to right, with the
  // decode_kv term in its place (an absent term adds 0, which leaves a sum unchanged).
  WorkTerms w;
  const auto tokens = static_cast<double>(b.tokens());
  const auto decoder_tokens =
      static_cast<double>(model_.encoder_decoder ? b.decode_seqs + b.prefill_seqs : b.tokens());
  const auto encoder_tokens = static_cast<double>(model_.encoder_decoder ? b.prefill_tokens : 0);
  w.flops_fixed = linear_flops_per_token_ * decoder_tokens + encoder_flops_per_token_ * encoder_tokens +
                  2.0 * static_cast<double>(model_.vocab * model_.hidden) * b.sampled;
  w.flops_per_key = attn_flops_per_pair_;
  w.pairs = b.prefill_pairs;
  w.flops_local =
      attn_flops_per_pair_window_ * (b.prefill_pairs_window + static_cast<double>(b.decode_kv_window));
  if (b.spec_tokens > 0 && model_.draft_layers > 0 && b.decode_seqs > 0) {
    // The draft passes: one layer and the LM head per draft token and sequence.
    const Cell& dc = model_.cells[static_cast<std::size_t>(model_.draft_cell)];
    w.flops_draft = static_cast<double>(b.spec_tokens) *
                    (2.0 * static_cast<double>(model_.draft_layers) *
                         (dc.active_params(model_.hidden) - static_cast<double>(dc.norm_params)) +
                     2.0 * static_cast<double>(model_.vocab * model_.hidden));
  }
  // Weights are streamed once per micro-batch; decode reads every cached key and value.
  double active_experts = 1.0;  // fraction of routed experts a step of this many tokens touches
  if (experts_ > 0) {
    active_experts = memo_by_count(active_experts_cache_, b.tokens(), [&] {
      return 1.0 - std::pow(1.0 - 1.0 / static_cast<double>(experts_), tokens * static_cast<double>(topk_));
    });
  }
  if (model_.encoder_decoder) {
    // What the iteration runs: the encoder's weights only when it encodes new inputs; every decoder
    // layer reads its own tokens' keys and values and the cross-attention cache of the inputs (the
    // cache of a new input is written by the same iteration).
    w.bytes_fixed = weight_bytes_per_replica_ - (b.prefill_tokens > 0 ? 0.0 : encoder_weight_bytes_);
    w.bytes_per_key = kv_bytes_per_token_replica_;
    w.other_keys = b.prefill_seqs + b.cross_kv;
    return w;
  }
  const double kv_global = kv_bytes_per_token_replica_ * (1.0 - kv_local_share_);
  const double kv_local = kv_bytes_per_token_replica_ * kv_local_share_;
  w.bytes_fixed = weight_bytes_per_replica_ + routed_expert_bytes_ * active_experts;
  w.bytes_per_key = kv_global;
  w.other_keys = b.prefill_kv;
  w.bytes_local = kv_local * static_cast<double>(b.decode_kv_window + b.prefill_kv_window);
  return w;
}

CostModel::LayerBreakdown CostModel::layer(std::size_t cell, const BatchShape& b) const {
  const DenseCost d = dense_part(cell, cell_tokens(cell, b));
  LayerBreakdown l{d.gemm, attention_part(cell, b), d.comm, d.elementwise};
  l.moe = d.moe;
  return l;
}

CostModel::StepBreakdown& CostModel::StepBreakdown::operator+=(const StepBreakdown& o) {
  gemm += o.gemm;
  moe += o.moe;
  attention += o.attention;
  communication += o.communication;
  elementwise += o.elementwise;
  launch += o.launch;
  lm_head += o.lm_head;
  draft += o.draft;
  return *this;
}

CostModel::StepBreakdown CostModel::step_breakdown(const BatchShape& b) const {
  StepBreakdown out;
  const std::int64_t tokens = b.tokens();
  if (tokens <= 0) return out;
  const double launch = launch_penalty(b);
  for (std::size_t c = 0; c < model_.cells.size(); ++c) {
    std::int64_t n = 0;
    for (const auto& stage : stage_cells_)
      n += stage[c];
    if (n == 0) continue;
    const auto k = static_cast<double>(n);
    const DenseCost d = dense_part(c, cell_tokens(c, b));
    out.gemm += k * (d.gemm - d.moe);
    out.moe += k * d.moe;
    out.communication += k * d.comm;
    out.elementwise += k * d.elementwise;
    out.attention += k * attention_part(c, b);
    out.launch += k * launch;
  }
  for (const auto& s : plan_.stages) {
    if (s.has_embedding) {
      const double t = embedding(tokens);
      const double ar =
          plan_.attn_tp() > 1 ? tp_all_reduce(static_cast<double>(tokens * model_.hidden) * act_bytes_) : 0;
      out.elementwise += t - ar;
      out.communication += ar;
    }
    if (s.has_lm_head) out.draft += draft_part(b);
    if (s.has_lm_head && b.sampled > 0) {
      const BatchShape r = rank_shape(b);
      const int tp = plan_.attn_tp();
      const double head = ops_->gemm(
          {r.sampled, (model_.vocab + tp - 1) / tp, model_.hidden, DType::BF16, precision_.activation});
      const double logits = static_cast<double>(r.sampled * model_.vocab) * 4.0;
      const double gather = tp > 1 ? ops_->collective(Collective::AllGather, logits, tp_group_) : 0;
      out.lm_head += head;
      out.communication += gather;
      out.elementwise += lm_head(b) - head - gather;
    }
  }
  return out;
}

}  // namespace apex
