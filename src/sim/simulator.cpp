// sim/simulator.cpp — the event loop, the replica scheduler (vLLM semantics) and metrics.
#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <queue>

#include <fmt/format.h>

#include "core/error.h"

namespace apex {

RouterKind parse_router(const std::string& text) {
  if (text == "round-robin") return RouterKind::RoundRobin;
  if (text == "least-loaded") return RouterKind::LeastLoaded;
  const std::vector<std::string> names = {"round-robin", "least-loaded"};
  throw UserError(unknown_name_message("router", text, names));
}

std::string_view router_name(RouterKind r) {
  return r == RouterKind::RoundRobin ? "round-robin" : "least-loaded";
}

std::optional<std::string> check_trace_fits(const Trace& trace, std::int64_t max_model_len,
                                            std::int64_t kv_tokens) {
  for (std::size_t i = 0; i < trace.requests.size(); ++i) {
    const auto& r = trace.requests[i];
    const std::int64_t total = static_cast<std::int64_t>(r.prompt) + r.output;
    if (total > max_model_len) {
      return fmt::format("request #{} needs {} tokens (prompt {} + output {}) but the max model length is {}",
                         i, total, r.prompt, r.output, max_model_len);
    }
    if (total > kv_tokens) {
      return fmt::format("request #{} needs {} tokens of KV cache but the whole cache holds {} tokens", i,
                         total, kv_tokens);
    }
  }
  return std::nullopt;
}

namespace {

// Per-request runtime state, kept only while the request is active (arrived, not finished).
struct Active {
  std::uint64_t id = 0;
  TimeNs arrival = 0;
  TimeNs first_token = -1;
  TimeNs last_token = -1;
  std::int32_t prompt = 0;
  std::int32_t output = 0;
  std::int32_t generated = 0;  // output tokens sampled so far
  std::int32_t computed = 0;   // tokens whose KV is computed (vLLM num_computed_tokens)
  std::int32_t blocks = 0;     // KV blocks held
  std::int32_t scheduled = 0;  // tokens in the in-flight micro-batch
  bool in_flight = false;
  bool running = false;  // in the running list (holds blocks)
  bool queue_recorded = false;
  double spec_credit = 0;          // speculative decoding: expected accepted tokens not yet emitted
  std::int64_t prefix_group = -1;  // prefix caching: the group whose cached blocks this request uses
  std::int32_t prefix = 0;         // shared prompt tokens of that group
  std::int32_t shared_blocks = 0;  // blocks of the group's cached prefix this request reads
  bool holds_prefix = false;       // counted in the group's references
  std::int32_t replica = 0;
  std::int32_t preemptions = 0;

  std::int32_t num_tokens() const { return prompt + generated; }
};

struct MicroBatch {
  std::vector<std::int32_t> slots;
  BatchShape shape;
  TimeNs start = 0;
};

enum class EventKind : std::uint8_t { BatchDone, Wake };

// First-order GPU power while a stage computes: idle + (TDP − idle) × min(1, kPowerMem · memory
// utilization + kPowerCompute · compute utilization). The two coefficients are fitted to the
// ML.ENERGY anchors for an H100 SXM (batch-1 decode ≈ 300 W, batch-128 decode ≈ 600 W; prefill
// at the 700 W cap): docs/energy.md.
constexpr double kPowerMem = 0.48;
constexpr double kPowerCompute = 3.0;

struct Event {
  TimeNs time;
  std::uint64_t seq;
  EventKind kind;
  std::int32_t replica;
  std::int32_t batch;  // index into the replica's micro-batch slots
};
struct EventLater {
  bool operator()(const Event& a, const Event& b) const {
    return a.time != b.time ? a.time > b.time : a.seq > b.seq;
  }
};

class Simulation;

class Replica {
 public:
  Replica(Simulation& sim, int index);
  void admit(std::int32_t slot) { waiting_.push_back(slot); }
  std::size_t load() const { return waiting_.size() + running_.size(); }
  void on_batch_done(int batch, TimeNs now);
  void try_schedule(TimeNs now);
  bool idle() const { return in_flight_ == 0 && waiting_.empty() && running_.empty(); }
  // Idle: every block is free or holds an unreferenced cached prefix.
  bool blocks_conserved() const {
    std::int64_t cached = 0;
    for (const auto& [group, c] : prefixes_)
      cached += c.refs == 0 ? c.blocks : -(1LL << 40);
    return cached == evictable_blocks_ && free_blocks + cached == total_blocks;
  }

  std::int64_t total_blocks = 0;
  std::int64_t free_blocks = 0;
  std::int64_t reserved_blocks = 0;  // reserve_full_sequence: Σ final blocks of running requests

 private:
  bool build_batch(MicroBatch& mb);
  bool build_mixed(MicroBatch& mb);
  bool build_prefill_first(MicroBatch& mb);
  void add_to_batch(MicroBatch& mb, std::int32_t slot, std::int32_t tokens);
  bool allocate(Active& a, std::int32_t tokens);
  bool reserve(const Active& a);  // reserve_full_sequence admission; false when it does not fit
  bool admit_head(MicroBatch& mb, std::int64_t& budget, std::int64_t watermark);
  void release(const Active& a);
  std::int32_t blocks_for(std::int64_t tokens) const;
  // Tokens a decoding request schedules in one step: 1, plus the draft tokens it verifies under
  // speculative decoding (never more than its remaining output needs).
  std::int32_t decode_width(const Active& a) const;
  void preempt(std::int32_t slot);
  std::int32_t pick_victim() const;
  // Prefix caching (engine.prefix_caching). A group's prefix is cached once a request computed
  // it (block-aligned, the prompt's last token always recomputed); requests reference it while
  // running; unreferenced prefixes stay cached until their blocks are needed (LRU).
  struct CachedPrefix {
    std::int32_t tokens = 0, blocks = 0, refs = 0;
    TimeNs last_use = 0;
  };
  std::int32_t cacheable_prefix(const Active& a) const;
  void register_prefix(Active& a);
  void drop_prefix(Active& a, TimeNs now);
  bool evict_for(std::int64_t blocks);  // frees unreferenced prefixes until `blocks` are free
  std::map<std::int64_t, CachedPrefix> prefixes_;
  std::int64_t evictable_blocks_ = 0;
  TimeNs now_ = 0;  // time of the scheduling pass in progress
  void remove_running(std::int32_t slot);

  Simulation& sim_;
  int index_;
  std::deque<std::int32_t> waiting_;
  std::vector<std::int32_t> running_;
  std::vector<MicroBatch> batches_;  // pp slots
  std::vector<char> batch_busy_;
  std::vector<TimeNs> stage_free_;
  std::vector<double> stage_s_;  // scratch
  int in_flight_ = 0;
  TimeNs wake_at_ = -1;
  TimeNs busy_until_ = 0;
};

class Simulation {
 public:
  Simulation(const SimConfig& c, RequestSource& src, std::shared_ptr<const OpModel> ops)
      : cfg(c),
        source(src),
        memory(memory_footprint(*c.model, c.cluster, c.plan, c.precision, c.engine.memory_knobs())),
        cost(*c.model, c.cluster, c.plan, c.precision, std::move(ops), c.engine.costs) {
    cost.set_expert_skew(c.expert_skew);
    cost.set_expert_capacity_factor(c.expert_capacity_factor);
    if (memory.kv_blocks <= 0) {
      throw UserError(
          fmt::format("plan {} leaves no memory for the KV cache: per GPU, weights {} + activations {} + "
                      "reserve {} exceed {} × {:.2f} = {}",
                      c.plan.label(), format_bytes(memory.weights), format_bytes(memory.activation),
                      format_bytes(memory.runtime_reserve), format_bytes(memory.capacity),
                      c.engine.gpu_memory_utilization, format_bytes(memory.budget)));
    }
    for (int r = 0; r < c.plan.dp; ++r)
      replicas.emplace_back(*this, r);
    // One request's blocks live on one data-parallel attention rank; V0 keeps a watermark free.
    std::int64_t blocks = c.plan.attn_dp ? memory.kv_blocks / c.plan.tp : memory.kv_blocks;
    blocks -= static_cast<std::int64_t>(c.engine.admission_watermark * static_cast<double>(memory.kv_blocks));
    if (c.engine.free_local_kv) local_kv = local_kv_of(*c.model, c.engine.block_size);
    max_request_tokens = std::max<std::int64_t>(0, blocks) * memory.block_size;
    for (auto& r : replicas)
      r.total_blocks = r.free_blocks = memory.kv_blocks;
    // MFU is measured against the dense peak of the math the GEMMs run in: 8-bit and FP4 weights
    // run 8-/4-bit tensor-core math, weight-only int4 runs in the activation dtype.
    const DType w = c.precision.weight;
    const DType math = (w == DType::FP8 || w == DType::INT8 || w == DType::FP4) ? w : c.precision.activation;
    peak_flops = c.cluster.gpu.peak_flops(math);
    if (peak_flops <= 0) peak_flops = c.cluster.gpu.peak_flops(DType::BF16);
    if (peak_flops <= 0) peak_flops = c.cluster.gpu.peak_flops(DType::FP16);
  }

  SimResult run();

  std::int32_t new_slot() {
    if (!free_slots.empty()) {
      const std::int32_t s = free_slots.back();
      free_slots.pop_back();
      slots[static_cast<std::size_t>(s)] = Active{};
      return s;
    }
    slots.emplace_back();
    return static_cast<std::int32_t>(slots.size() - 1);
  }
  Active& at(std::int32_t slot) { return slots[static_cast<std::size_t>(slot)]; }
  void push(TimeNs t, EventKind k, int replica, int batch) {
    events.push(Event{t, seq++, k, static_cast<std::int32_t>(replica), static_cast<std::int32_t>(batch)});
  }
  void emit_tokens(Active& a, std::int32_t n, TimeNs now);
  void finish(std::int32_t slot, TimeNs now);
  void account(const MicroBatch& mb, const std::vector<double>& stage_s, int gpus_per_stage);

  const SimConfig& cfg;
  RequestSource& source;
  MemoryFootprint memory;
  CostModel cost;
  std::vector<Replica> replicas;
  std::vector<Active> slots;
  std::vector<std::int32_t> free_slots;
  std::priority_queue<Event, std::vector<Event>, EventLater> events;
  std::uint64_t seq = 0;
  std::uint64_t active = 0;
  double peak_flops = 0;

  // Metrics.
  std::vector<double> ttft, tpot, e2e, queue;
  LogHistogram itl;
  std::uint64_t finished = 0, prompt_tokens = 0, output_tokens = 0, slo_met = 0;
  std::uint64_t iterations = 0, preemptions = 0, batch_seqs = 0, batch_tokens = 0, peak_active = 0;
  std::uint64_t prefix_hit_tokens = 0;  // prompt tokens served from the prefix cache
  TimeNs first_arrival = -1, last_completion = 0;
  double flops = 0, bytes = 0, dynamic_energy = 0, busy_replica_time = 0;
  double peak_kv = 0;
  double active_time_integral = 0;  // ∫ (requests in the system) dt, for Little's law
  TimeBreakdown time;
  std::int64_t max_request_tokens = 0;  // KV tokens a single request may occupy
  LocalKv local_kv;                     // what the engine frees of local-attention layers (none: share 0)
  std::vector<RequestRecord> records;
};

Replica::Replica(Simulation& sim, int index) : sim_(sim), index_(index) {
  const int pp = sim.cfg.plan.pp;
  batches_.resize(static_cast<std::size_t>(pp));
  batch_busy_.assign(static_cast<std::size_t>(pp), 0);
  stage_free_.assign(static_cast<std::size_t>(pp), 0);
}

std::int32_t Replica::decode_width(const Active& a) const {
  const int k = sim_.cfg.engine.costs.spec_tokens;
  if (k <= 0) return 1;
  return 1 + std::max(0, std::min(k, a.output - a.generated - 1));
}

std::int32_t Replica::blocks_for(std::int64_t tokens) const {
  const std::int64_t b = sim_.cfg.engine.block_size;
  const std::int64_t held = sim_.local_kv.equivalent(tokens);
  return static_cast<std::int32_t>((held + b - 1) / b);
}

std::int32_t Replica::cacheable_prefix(const Active& a) const {
  if (!sim_.cfg.engine.prefix_caching || a.prefix_group < 0) return 0;
  const std::int32_t b = sim_.cfg.engine.block_size;
  return std::min(a.prefix, a.prompt - 1) / b * b;
}

void Replica::register_prefix(Active& a) {
  // The first request to compute its group's prefix leaves those blocks in the cache.
  const std::int32_t tokens = cacheable_prefix(a);
  if (tokens <= 0 || a.holds_prefix || a.computed < tokens || prefixes_.count(a.prefix_group) != 0) return;
  CachedPrefix c;
  c.tokens = tokens;
  c.blocks = blocks_for(tokens);
  c.refs = 1;
  prefixes_.emplace(a.prefix_group, c);
  a.blocks -= c.blocks;
  a.shared_blocks = c.blocks;
  a.holds_prefix = true;
}

void Replica::drop_prefix(Active& a, TimeNs now) {
  if (!a.holds_prefix) return;
  CachedPrefix& c = prefixes_.at(a.prefix_group);
  if (--c.refs == 0) {
    evictable_blocks_ += c.blocks;
    c.last_use = now;
  }
  a.holds_prefix = false;
  a.shared_blocks = 0;
}

bool Replica::evict_for(std::int64_t blocks) {
  while (free_blocks < blocks && evictable_blocks_ > 0) {
    auto victim = prefixes_.end();
    for (auto it = prefixes_.begin(); it != prefixes_.end(); ++it) {
      if (it->second.refs == 0 &&
          (victim == prefixes_.end() || it->second.last_use < victim->second.last_use))
        victim = it;
    }
    APEX_ASSERT(victim != prefixes_.end(), "evictable prefix blocks without an unreferenced prefix");
    free_blocks += victim->second.blocks;
    evictable_blocks_ -= victim->second.blocks;
    prefixes_.erase(victim);
  }
  return free_blocks >= blocks;
}

bool Replica::allocate(Active& a, std::int32_t tokens) {
  const std::int32_t need =
      blocks_for(static_cast<std::int64_t>(a.computed) + tokens) - a.blocks - a.shared_blocks;
  if (need <= 0) return true;
  if (need > free_blocks && !evict_for(need)) return false;
  free_blocks -= need;
  a.blocks += need;
  return true;
}

void Replica::remove_running(std::int32_t slot) {
  auto it = std::find(running_.begin(), running_.end(), slot);
  APEX_ASSERT(it != running_.end(), "request not in the running list");
  running_.erase(it);
}

std::int32_t Replica::pick_victim() const {
  // vLLM FCFS: the last request of the running list; requests inside an in-flight micro-batch
  // (pipeline parallelism) cannot be preempted until it completes.
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    if (!sim_.at(*it).in_flight) return *it;
  }
  return -1;
}

void Replica::preempt(std::int32_t slot) {
  // Recompute: free the KV blocks, forget computed tokens, resume before new arrivals.
  Active& a = sim_.at(slot);
  free_blocks += a.blocks;
  release(a);
  drop_prefix(a, now_);
  a.blocks = 0;
  a.computed = 0;
  a.running = false;
  remove_running(slot);
  waiting_.push_front(slot);
  ++a.preemptions;
  ++sim_.preemptions;
}

void Replica::add_to_batch(MicroBatch& mb, std::int32_t slot, std::int32_t q) {
  Active& a = sim_.at(slot);
  a.scheduled = q;
  a.in_flight = true;
  mb.slots.push_back(slot);
  BatchShape& s = mb.shape;
  const std::int64_t past = a.computed;
  const bool local = sim_.cost.has_local_attention();
  if (sim_.cfg.model->encoder_decoder) {
    // The prompt is the encoder input (one whole step); decoder tokens attend to their own
    // tokens and, through cross-attention, to the prompt.
    if (past < a.prompt) {
      ++s.prefill_seqs;
      s.prefill_tokens += q;
      const auto pq = static_cast<double>(q);
      s.prefill_pairs += pq * (pq + 1) / 2;
      s.prefill_kv += q;
    } else {
      ++s.decode_seqs;
      s.decode_kv += past + 1 - a.prompt;
    }
    s.cross_kv += a.prompt;
    if (past + q >= a.num_tokens()) ++s.sampled;
    return;
  }
  const bool decode = q == 1 || (a.generated > 0 && past + 1 == a.num_tokens());
  if (decode) {
    ++s.decode_seqs;
    s.spec_tokens += q - 1;
    s.decode_kv += past + 1;
    if (local) s.decode_kv_window += sim_.cost.local_kv(past + 1);
  } else {
    ++s.prefill_seqs;
    s.prefill_tokens += q;
    const auto pq = static_cast<double>(q);
    s.prefill_pairs += pq * (static_cast<double>(past) + (pq + 1) / 2);
    s.prefill_kv += past + q;
    if (local) {
      s.prefill_pairs_window += sim_.cost.local_pairs(past, q);
      s.prefill_kv_window += sim_.cost.local_prefill_kv(past, q);
    }
  }
  if (past + q >= a.num_tokens()) ++s.sampled;
}

bool Replica::build_mixed(MicroBatch& mb) {
  const EnginePolicy& e = sim_.cfg.engine;
  std::int64_t budget = e.max_num_batched_tokens;
  bool preempted = false;
  // 1. Running requests, in order: decodes and unfinished prefill chunks.
  for (std::size_t i = 0; i < running_.size() && budget > 0;) {
    const std::int32_t slot = running_[i];
    Active& a = sim_.at(slot);
    if (a.in_flight) {
      ++i;
      continue;
    }
    std::int64_t q = a.num_tokens() - a.computed;
    if (q == 1 && a.generated > 0) q = decode_width(a);
    if (e.long_prefill_token_threshold > 0) q = std::min<std::int64_t>(q, e.long_prefill_token_threshold);
    q = std::min(q, budget);
    bool scheduled = false;
    for (;;) {
      if (allocate(a, static_cast<std::int32_t>(q))) {
        scheduled = true;
        break;
      }
      const std::int32_t victim = pick_victim();
      if (victim < 0) break;
      preempted = true;
      preempt(victim);
      if (victim == slot) break;
    }
    if (!scheduled) break;
    add_to_batch(mb, slot, static_cast<std::int32_t>(q));
    budget -= q;
    ++i;
  }
  // 2. Waiting requests, FCFS, only if nothing was preempted this step.
  if (!preempted) {
    const auto watermark =
        static_cast<std::int64_t>(e.admission_watermark * static_cast<double>(total_blocks));
    while (!waiting_.empty() && budget > 0 && static_cast<int>(running_.size()) < e.max_num_seqs) {
      if (!admit_head(mb, budget, watermark)) break;
    }
  }
  return !mb.slots.empty();
}

bool Replica::admit_head(MicroBatch& mb, std::int64_t& budget, std::int64_t watermark) {
  // The head of the waiting queue joins the batch with as much of its prompt as the budget allows
  // (all of it without chunked prefill), if its KV blocks (and, under no-evict admission, its
  // whole sequence's) are available. FCFS: when the head cannot start, nothing behind it does.
  const EnginePolicy& e = sim_.cfg.engine;
  const std::int32_t slot = waiting_.front();
  Active& a = sim_.at(slot);
  // Prefix cache hit: reference the cached prefix (so eviction cannot take it) and start after it.
  std::int32_t hit = 0;
  if (a.computed == 0 && !a.holds_prefix) {
    auto it = prefixes_.find(a.prefix_group);
    if (it != prefixes_.end() && cacheable_prefix(a) >= it->second.tokens) {
      CachedPrefix& c = it->second;
      if (c.refs++ == 0) evictable_blocks_ -= c.blocks;
      a.holds_prefix = true;
      a.shared_blocks = c.blocks;
      a.computed = hit = c.tokens;
    }
  }
  auto undo = [&] {
    if (hit > 0) {
      drop_prefix(a, now_);
      a.computed = 0;
    }
    return false;
  };
  std::int64_t q = a.num_tokens() - a.computed;
  if (!e.chunked_prefill && q > budget) return undo();
  if (e.long_prefill_token_threshold > 0) q = std::min<std::int64_t>(q, e.long_prefill_token_threshold);
  q = std::min(q, budget);
  const std::int32_t need = blocks_for(a.computed + q) - a.blocks - a.shared_blocks;
  if (need > free_blocks - watermark && !evict_for(need + watermark)) return undo();
  if (!reserve(a)) return undo();
  sim_.prefix_hit_tokens += static_cast<std::uint64_t>(hit);
  allocate(a, static_cast<std::int32_t>(q));
  waiting_.pop_front();
  running_.push_back(slot);
  a.running = true;
  add_to_batch(mb, slot, static_cast<std::int32_t>(q));
  budget -= q;
  return true;
}

bool Replica::reserve(const Active& a) {
  if (!sim_.cfg.engine.reserve_full_sequence) return true;
  const std::int64_t final_blocks = blocks_for(static_cast<std::int64_t>(a.prompt) + a.output);
  if (reserved_blocks + final_blocks > total_blocks) return false;
  reserved_blocks += final_blocks;
  return true;
}

void Replica::release(const Active& a) {
  if (sim_.cfg.engine.reserve_full_sequence)
    reserved_blocks -= blocks_for(static_cast<std::int64_t>(a.prompt) + a.output);
}

bool Replica::build_prefill_first(MicroBatch& mb) {
  const EnginePolicy& e = sim_.cfg.engine;
  std::int64_t budget = e.max_num_batched_tokens;
  const auto watermark = static_cast<std::int64_t>(e.admission_watermark * static_cast<double>(total_blocks));
  // Prefill step: unfinished chunked prefills first, then new prompts, while they fit.
  for (std::int32_t slot : running_) {
    Active& a = sim_.at(slot);
    if (a.in_flight || budget <= 0) continue;
    const std::int64_t remaining = a.num_tokens() - a.computed;
    if (remaining <= 1 && a.generated > 0) continue;  // a decode: not part of a prefill step
    const std::int64_t q = std::min(remaining, budget);
    if (!allocate(a, static_cast<std::int32_t>(q))) break;
    add_to_batch(mb, slot, static_cast<std::int32_t>(q));
    budget -= q;
  }
  while (!waiting_.empty() && budget > 0 && static_cast<int>(running_.size()) < e.max_num_seqs) {
    if (!admit_head(mb, budget, watermark)) break;
  }
  if (!mb.slots.empty()) return true;
  // Decode step: every running request that is not in flight gets one token, preempting from the
  // back of the running list (recompute) when a new block is not available.
  for (std::size_t i = 0; i < running_.size();) {
    const std::int32_t slot = running_[i];
    Active& a = sim_.at(slot);
    if (a.in_flight) {
      ++i;
      continue;
    }
    const std::int32_t width = decode_width(a);
    bool ok = false;
    for (;;) {
      if (allocate(a, width)) {
        ok = true;
        break;
      }
      const std::int32_t victim = pick_victim();
      if (victim < 0) break;
      preempt(victim);
      if (victim == slot) break;
    }
    if (!ok) break;
    add_to_batch(mb, slot, width);
    ++i;
  }
  return !mb.slots.empty();
}

bool Replica::build_batch(MicroBatch& mb) {
  mb.slots.clear();
  mb.shape = BatchShape{};
  return sim_.cfg.engine.batching == BatchingKind::Mixed ? build_mixed(mb) : build_prefill_first(mb);
}

void Replica::try_schedule(TimeNs now) {
  now_ = now;
  const int pp = sim_.cfg.plan.pp;
  while (in_flight_ < pp && stage_free_[0] <= now) {
    if (waiting_.empty() && running_.empty()) return;
    int b = 0;
    while (batch_busy_[static_cast<std::size_t>(b)])
      ++b;
    MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
    if (!build_batch(mb)) return;
    // Launch: CPU step overhead, then the micro-batch walks the stages in FIFO order. Each
    // stage's start waits for the previous stage and for the stage's previous micro-batch.
    sim_.cost.stage_times(mb.shape, stage_s_);
    const TimeNs overhead = std::max<TimeNs>(1, seconds_to_ns(sim_.cost.step_overhead(mb.shape)));
    TimeNs t = now + overhead;
    sim_.time.cpu_overhead += ns_to_seconds(overhead);
    if (sim_.cfg.breakdown) sim_.time.kernels += sim_.cost.step_breakdown(mb.shape);
    for (int s = 0; s < pp; ++s) {
      const TimeNs start = std::max(t, stage_free_[static_cast<std::size_t>(s)]);
      const TimeNs end = start + std::max<TimeNs>(1, seconds_to_ns(stage_s_[static_cast<std::size_t>(s)]));
      stage_free_[static_cast<std::size_t>(s)] = end;
      const TimeNs hop = s + 1 < pp ? seconds_to_ns(sim_.cost.pp_transfer(s, mb.shape.tokens())) : 0;
      sim_.time.pp_transfer += ns_to_seconds(hop);
      t = end + hop;
    }
    mb.start = now;
    for (std::int32_t slot : mb.slots) {
      Active& a = sim_.at(slot);
      if (!a.queue_recorded) {
        sim_.queue.push_back(ns_to_seconds(now - a.arrival));
        a.queue_recorded = true;
      }
    }
    batch_busy_[static_cast<std::size_t>(b)] = 1;
    ++in_flight_;
    sim_.account(mb, stage_s_, sim_.cfg.plan.tp);
    // Busy time is the union of in-flight intervals (micro-batches overlap under PP).
    sim_.busy_replica_time += ns_to_seconds(std::max<TimeNs>(0, t - std::max(now, busy_until_)));
    busy_until_ = std::max(busy_until_, t);
    sim_.push(t, EventKind::BatchDone, index_, b);
    double used = static_cast<double>(total_blocks - free_blocks) / static_cast<double>(total_blocks);
    sim_.peak_kv = std::max(sim_.peak_kv, used);
  }
  // A pipeline slot is open but stage 0 is still busy: wake up when it frees.
  if (in_flight_ < pp && stage_free_[0] > now && (!waiting_.empty() || !running_.empty()) &&
      wake_at_ != stage_free_[0]) {
    wake_at_ = stage_free_[0];
    sim_.push(stage_free_[0], EventKind::Wake, index_, -1);
  }
}

void Replica::on_batch_done(int b, TimeNs now) {
  MicroBatch& mb = batches_[static_cast<std::size_t>(b)];
  for (std::int32_t slot : mb.slots) {
    Active& a = sim_.at(slot);
    a.in_flight = false;
    if (!a.running) continue;  // cannot happen (in-flight requests are not preempted); defensive
    std::int32_t emitted = 0;
    if (a.scheduled > 1 && a.generated > 0 && a.computed + 1 == a.num_tokens()) {
      // Speculative decode: of the k drafts, the expected number is accepted (deterministically,
      // carrying the fraction to the next step); the KV of rejected drafts is discarded.
      const int k = a.scheduled - 1;
      a.spec_credit += expected_spec_tokens(k, sim_.cfg.engine.costs.spec_acceptance);
      emitted = std::clamp(static_cast<std::int32_t>(a.spec_credit + 1e-9), 1, k + 1);
      emitted = std::min(emitted, a.output - a.generated);
      a.spec_credit -= emitted;
      a.computed += emitted;
    } else {
      a.computed += a.scheduled;
      register_prefix(a);
      if (a.computed >= a.num_tokens()) emitted = 1;
    }
    a.scheduled = 0;
    if (emitted > 0) {
      a.generated += emitted;
      sim_.emit_tokens(a, emitted, now);
      if (a.generated >= a.output) {
        free_blocks += a.blocks;
        release(a);
        drop_prefix(a, now);
        a.blocks = 0;
        a.running = false;
        remove_running(slot);
        sim_.finish(slot, now);
      }
    }
  }
  mb.slots.clear();
  batch_busy_[static_cast<std::size_t>(b)] = 0;
  --in_flight_;
}

void Simulation::emit_tokens(Active& a, std::int32_t n, TimeNs now) {
  if (a.first_token < 0) {
    a.first_token = now;
  } else {
    // n tokens in one step share the interval (token-weighted, as vLLM's time_per_output_token).
    const TimeNs gap = now - a.last_token;
    for (std::int32_t i = 0; i < n; ++i)
      itl.add(gap / n);
  }
  a.last_token = now;
}

void Simulation::finish(std::int32_t slot, TimeNs now) {
  Active& a = at(slot);
  const double t_ttft = ns_to_seconds(a.first_token - a.arrival);
  const double t_e2e = ns_to_seconds(now - a.arrival);
  ttft.push_back(t_ttft);
  e2e.push_back(t_e2e);
  double t_tpot = 0;
  if (a.output > 1) {
    t_tpot = (t_e2e - t_ttft) / static_cast<double>(a.output - 1);
    tpot.push_back(t_tpot);
  }
  bool ok = true;
  if (cfg.ttft_slo > 0 && t_ttft > cfg.ttft_slo) ok = false;
  if (cfg.tpot_slo > 0 && a.output > 1 && t_tpot > cfg.tpot_slo) ok = false;
  if (ok) ++slo_met;
  if (cfg.record_requests) {
    records.push_back(RequestRecord{a.id, ns_to_seconds(a.arrival), t_ttft, t_e2e, t_tpot, a.prompt, a.output,
                                    a.replica, a.preemptions});
  }
  ++finished;
  prompt_tokens += static_cast<std::uint64_t>(a.prompt);
  output_tokens += static_cast<std::uint64_t>(a.output);
  last_completion = std::max(last_completion, now);
  --active;
  free_slots.push_back(slot);
}

void Simulation::account(const MicroBatch& mb, const std::vector<double>& stage_s, int gpus_per_stage) {
  ++iterations;
  batch_seqs += static_cast<std::uint64_t>(mb.shape.seqs());
  batch_tokens += static_cast<std::uint64_t>(mb.shape.tokens());
  const Work w = cost.work(mb.shape);
  flops += w.model_flops;
  bytes += w.bytes_read;
  // While a stage computes, each of its GPUs draws idle power plus a dynamic part that grows with
  // achieved compute and memory utilization (see kPowerMem / kPowerCompute).
  double busy_gpu_s = 0;
  for (double s : stage_s)
    busy_gpu_s += s * gpus_per_stage;
  if (busy_gpu_s <= 0) return;
  const Gpu& g = cfg.cluster.gpu;
  // Compute power follows the work done per second times the energy per operation, which falls
  // with the square of the clock under DVFS (voltage tracks frequency): cubic at full load.
  const double u_comp = w.model_flops / (busy_gpu_s * peak_flops) * g.clock_scale;  // vs the boost-clock peak
  const double u_mem = w.bytes_read / (busy_gpu_s * g.hbm_bandwidth);
  const double activity =
      std::min(1.0, kPowerMem * std::min(1.0, u_mem) +
                        kPowerCompute * std::min(1.0, u_comp) * g.clock_scale * g.clock_scale);
  dynamic_energy += (g.power_max_w - g.power_idle_w) * activity * busy_gpu_s;
}

SimResult Simulation::run() {
  const int dp = cfg.plan.dp;
  Request next;
  bool have_next = source.next(next);
  std::uint64_t rr = 0;
  std::vector<char> dirty(static_cast<std::size_t>(dp), 0);
  std::uint64_t index = 0;
  TimeNs last_instant = -1;
  // Closed loop (cfg.concurrency clients): a request is sent at its arrival time or, when every
  // client is waiting on an earlier one, the moment one of them completes; that is its arrival.
  const auto clients = static_cast<std::uint64_t>(cfg.concurrency);
  auto may_send = [&] { return clients == 0 || active < clients; };
  TimeNs prev_arrival = -1;  // of the previous request as the source gave it (sortedness check)
  while (have_next || !events.empty()) {
    // The next instant: the earliest of the next arrival and the next event.
    TimeNs now = std::numeric_limits<TimeNs>::max();
    if (have_next && may_send()) now = std::max(next.arrival, last_instant);
    if (!events.empty()) now = std::min(now, events.top().time);
    APEX_ASSERT(now != std::numeric_limits<TimeNs>::max(),
                "closed loop stalled: every client waits, nothing runs");
    if (last_instant >= 0)
      active_time_integral += static_cast<double>(active) * ns_to_seconds(now - last_instant);
    last_instant = now;
    // 1. Completions and wake-ups at `now`, in (time, seq) order.
    while (!events.empty() && events.top().time == now) {
      const Event e = events.top();
      events.pop();
      Replica& r = replicas[static_cast<std::size_t>(e.replica)];
      if (e.kind == EventKind::BatchDone) r.on_batch_done(e.batch, now);
      dirty[static_cast<std::size_t>(e.replica)] = 1;
    }
    // 2. Arrivals at `now`, routed in arrival order (held closed-loop requests are sent now).
    while (have_next && next.arrival <= now && may_send()) {
      const TimeNs original_arrival = next.arrival;
      next.arrival = now;
      const std::int64_t total = static_cast<std::int64_t>(next.prompt) + next.output;
      if (total > cfg.max_model_len) {
        throw UserError(
            fmt::format("request #{} needs {} tokens (prompt {} + output {}) but the max model length "
                        "is {}; shorten it or raise --max-model-len (the model allows {})",
                        index, total, next.prompt, next.output, cfg.max_model_len, cfg.model->max_positions));
      }
      if (cfg.model->encoder_decoder &&
          (next.prompt > cfg.model->max_source_positions || next.output > cfg.model->max_target_positions)) {
        throw UserError(
            fmt::format("request #{} has {} input and {} output tokens but {} takes at most {} input "
                        "(encoder) and {} output (decoder) tokens",
                        index, next.prompt, next.output, cfg.model->name, cfg.model->max_source_positions,
                        cfg.model->max_target_positions));
      }
      if (local_kv.equivalent(total) > max_request_tokens) {
        throw UserError(
            fmt::format("request #{} needs {} tokens of KV cache but plan {} holds only {} tokens for one "
                        "request; use more GPUs per replica, a smaller --kv-dtype or a higher "
                        "--gpu-memory-utilization",
                        index, local_kv.equivalent(total), cfg.plan.label(), max_request_tokens));
      }
      const std::int32_t slot = new_slot();
      Active& a = at(slot);
      a.id = next.id;
      a.arrival = next.arrival;
      a.prompt = next.prompt;
      a.output = next.output;
      a.prefix_group = next.prefix_group;
      a.prefix = next.prefix;
      if (first_arrival < 0) first_arrival = next.arrival;
      std::size_t target = 0;
      if (cfg.router == RouterKind::RoundRobin) {
        target = static_cast<std::size_t>(rr++ % static_cast<std::uint64_t>(dp));
      } else {
        for (std::size_t i = 1; i < replicas.size(); ++i) {
          if (replicas[i].load() < replicas[target].load()) target = i;
        }
      }
      a.replica = static_cast<std::int32_t>(target);
      replicas[target].admit(slot);
      dirty[target] = 1;
      ++active;
      peak_active = std::max(peak_active, active);
      ++index;
      prev_arrival = std::max(prev_arrival, original_arrival);
      have_next = source.next(next);
      if (have_next && next.arrival < prev_arrival) {
        throw UserError(
            fmt::format("request #{} arrives before the previous one; traces must be sorted", index));
      }
    }
    // 3. Every touched replica schedules, in index order.
    for (std::size_t i = 0; i < dirty.size(); ++i) {
      if (!dirty[i]) continue;
      dirty[i] = 0;
      replicas[i].try_schedule(now);
    }
  }
  for (const auto& r : replicas) {
    APEX_ASSERT(r.idle(), "simulation ended with unfinished requests");
    APEX_ASSERT(r.blocks_conserved(), "KV blocks leaked: free + cached prefixes != total");
  }

  SimResult out;
  out.plan = cfg.plan;
  out.memory = memory;
  out.engine = cfg.engine.name;
  out.requests = finished;
  out.prompt_tokens = prompt_tokens;
  out.output_tokens = output_tokens;
  out.ttft = summarize(ttft);
  out.tpot = summarize(tpot);
  out.e2e = summarize(e2e);
  out.queue = summarize(queue);
  out.itl = itl.summary_seconds();
  out.first_arrival = first_arrival < 0 ? 0 : ns_to_seconds(first_arrival);
  out.last_completion = ns_to_seconds(last_completion);
  out.makespan = finished > 0 ? ns_to_seconds(last_completion - first_arrival) : 0;
  out.iterations = iterations;
  out.preemptions = preemptions;
  out.peak_kv_utilization = peak_kv;
  out.peak_active_requests = peak_active;
  out.prefix_hit_tokens = prefix_hit_tokens;
  out.request_records = std::move(records);
  out.time = time;
  out.time.measured = cfg.breakdown;
  if (iterations > 0) {
    out.mean_batch_seqs = static_cast<double>(batch_seqs) / static_cast<double>(iterations);
    out.mean_batch_tokens = static_cast<double>(batch_tokens) / static_cast<double>(iterations);
  }
  const int gpus = cfg.plan.gpus();
  if (out.makespan > 0) {
    out.throughput_tokens_per_s = static_cast<double>(output_tokens) / out.makespan;
    out.requests_per_s = static_cast<double>(finished) / out.makespan;
    out.goodput_requests_per_s = static_cast<double>(slo_met) / out.makespan;
    out.mfu = flops / (out.makespan * peak_flops * gpus);
    out.mbu = bytes / (out.makespan * cfg.cluster.gpu.hbm_bandwidth * gpus);
    out.mean_active_requests = active_time_integral / out.makespan;
    out.busy_fraction = std::min(1.0, busy_replica_time / (out.makespan * dp));
    APEX_ASSERT(out.mfu <= 1.0 + 1e-9, "MFU above 100%: the cost model is faster than the peak");
    APEX_ASSERT(out.mbu <= 1.0 + 1e-9, "MBU above 100%: the cost model is faster than HBM");
  }
  out.energy_j = cfg.cluster.gpu.power_idle_w * gpus * out.makespan + dynamic_energy;
  out.energy_per_output_token_j = output_tokens > 0 ? out.energy_j / static_cast<double>(output_tokens) : 0;
  out.energy_per_request_j = finished > 0 ? out.energy_j / static_cast<double>(finished) : 0;
  out.mean_power_per_gpu_w = out.makespan > 0 ? out.energy_j / (out.makespan * gpus) : 0;
  out.slo_attainment = finished > 0 ? static_cast<double>(slo_met) / static_cast<double>(finished) : 0;
  return out;
}

}  // namespace

SimResult simulate(const SimConfig& config, RequestSource& requests, std::shared_ptr<const OpModel> ops) {
  APEX_ASSERT(config.model != nullptr, "SimConfig.model is null");
  APEX_ASSERT(!config.plan.stages.empty(), "SimConfig.plan must be made by make_plan");
  Simulation sim(config, requests, std::move(ops));
  SimResult r = sim.run();
  if (r.requests == 0) throw UserError("the workload has no requests");
  return r;
}

}  // namespace apex
