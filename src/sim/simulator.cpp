// sim/simulator.cpp — the event loop: arrivals, routing and batch completions on one shared
// clock. What happens inside a replica lives in replica.cpp (pipeline clock), scheduler/
// (batching), kv/ (blocks and prefix cache) and metrics/ (measurement).
#include "sim/simulator.h"

#include "sim/instance.h"

#include <algorithm>
#include <limits>
#include <queue>

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "perf/batch_shape.h"
#include "perf/energy.h"
#include "sim/metrics/collector.h"
#include "sim/replica.h"
#include "sim/router/router.h"
#include "sim/scheduler/scheduler.h"

namespace apex {

namespace {

enum class EventKind : std::uint8_t { BatchDone, Wake };

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

class Simulation final : public EventSink, public SchedulerEvents {
 public:
  Simulation(const PlanInstance& instance, RequestSource& src, const RunOptions& options);
  SimResult run();

  // EventSink
  void batch_done_at(TimeNs t, int replica, int batch) override {
    push(t, EventKind::BatchDone, replica, batch);
  }
  void wake_at(TimeNs t, int replica) override { push(t, EventKind::Wake, replica, -1); }
  TimeNs horizon(int replica) const override {
    // Replicas after this one still schedule at this instant: their steps are not known yet.
    for (std::size_t i = static_cast<std::size_t>(replica) + 1; i < dirty_.size(); ++i) {
      if (dirty_[i]) return last_instant_;
    }
    TimeNs h = std::numeric_limits<TimeNs>::max();
    if (!events_.empty()) h = events_.top().time;
    if (have_next_ && may_send()) h = std::min(h, std::max(next_.arrival, last_instant_));
    return h;
  }
  void pass(TimeNs t) override {
    metrics_.advance(last_instant_, t, requests_.live());
    last_instant_ = t;
  }
  // SchedulerEvents
  void on_tokens(ActiveRequest& a, std::int32_t n, TimeNs now) override { metrics_.on_tokens(a, n, now); }
  void on_finish(std::int32_t slot, TimeNs now) override {
    metrics_.on_finish(requests_[slot], now);
    requests_.remove(slot);
  }
  void on_preempt(ActiveRequest&) override { metrics_.on_preempt(); }
  void on_prefix_hit(std::int32_t tokens) override { metrics_.on_prefix_hit(tokens); }
  void on_prefix_cpu_hit(std::int32_t tokens) override {
    prefix_cpu_hit_tokens_ += static_cast<std::uint64_t>(tokens);
  }

 private:
  void push(TimeNs t, EventKind k, int replica, int batch) {
    events_.push(Event{t, seq_++, k, static_cast<std::int32_t>(replica), static_cast<std::int32_t>(batch)});
  }
  void check_request(const Request& r, std::uint64_t index) const;
  // Closed loop (cfg.concurrency clients): a request is sent at its arrival time or, when every
  // client is waiting on an earlier one, the moment one of them completes; that is its arrival.
  bool may_send() const { return clients_ == 0 || requests_.live() < clients_; }
  std::size_t route();

  const PlanInstance& inst_;
  const Deployment& d_;
  RequestSource& source_;
  CostModel cost_;
  ShapeBuilder shapes_;
  MetricsCollector metrics_;
  RequestTable requests_;
  std::uint64_t max_live_;
  std::unique_ptr<Router> router_;
  std::vector<Replica> replicas_;
  std::vector<std::size_t> loads_;  // scratch for the router
  std::priority_queue<Event, std::vector<Event>, EventLater> events_;
  std::uint64_t seq_ = 0;
  CpuOffloadTier offload_;  // per replica
  std::uint64_t prefix_cpu_hit_tokens_ = 0;
  std::uint64_t clients_ = 0;
  // The event loop's position: the next request of the source, the last instant, the replicas
  // to schedule at it.
  Request next_;
  bool have_next_ = false;
  TimeNs last_instant_ = -1;
  std::vector<char> dirty_;
};

Simulation::Simulation(const PlanInstance& instance, RequestSource& src, const RunOptions& options)
    : inst_(instance),
      d_(instance.d()),
      source_(src),
      cost_(instance.sharded, d_.cluster, d_.op_model_ptr(), instance.engine.costs),
      shapes_(cost_, d_.model.encoder_decoder),
      metrics_(instance, options),
      max_live_(options.max_live_requests),
      router_(find_router(d_.router).make()) {
  const EnginePolicy& e = instance.engine;
  const MemoryFootprint& memory = instance.memory;
  cost_.set_expert_skew(d_.expert_skew);
  cost_.set_expert_capacity_factor(d_.expert_capacity_factor);
  if (memory.kv_blocks <= 0) {
    throw UserError(
        fmt::format("plan {} leaves no memory for the KV cache: per GPU, weights {} + activations {} + "
                    "reserve {} exceed {} × {:.2f} = {}",
                    instance.plan.label(), format_bytes(memory.weights), format_bytes(memory.activation),
                    format_bytes(memory.runtime_reserve), format_bytes(memory.capacity),
                    e.gpu_memory_utilization, format_bytes(memory.budget)));
  }
  const PrefixCacheSpec* prefix = e.prefix_caching ? e.prefix_cache : nullptr;
  APEX_ASSERT(e.scheduler != nullptr, "engine policy without a scheduler");
  const Plan& plan = instance.plan;
  if (prefix != nullptr && e.cpu_offload_bytes > 0) {
    offload_ = cpu_offload_tier(e.cpu_offload_bytes, plan.tp * plan.pp,
                                static_cast<double>(e.block_size) * memory.kv_bytes_per_token,
                                d_.cluster.gpu.host_bandwidth);
  }
  replicas_.reserve(static_cast<std::size_t>(plan.dp));
  for (int r = 0; r < plan.dp; ++r) {
    auto kv =
        std::make_unique<KvManager>(memory.kv_blocks, e.block_size, instance.local_kv, prefix, offload_);
    replicas_.emplace_back(r, plan.pp, plan.tp, options.breakdown, std::move(kv), cost_, metrics_, *this);
    Replica& rep = replicas_.back();
    rep.set_scheduler(e.scheduler->make(SchedulerContext{e, requests_, rep.kv(), shapes_, *this}));
    rep.set_fast_forward(options.fast_forward);
  }
  loads_.resize(replicas_.size());
  clients_ = static_cast<std::uint64_t>(d_.concurrency);
}

void Simulation::check_request(const Request& r, std::uint64_t index) const {
  const std::int64_t total = static_cast<std::int64_t>(r.prompt) + r.output;
  const std::int64_t max_model_len = d_.effective_max_model_len();
  if (total > max_model_len) {
    // Raising the engine's limit helps only up to the model's own context.
    const MaxModelLenAdvice a = max_model_len_advice(d_);
    const std::string fix = a.can_raise ? a.text : a.text + "; shorten the request";
    throw UserError(
        fmt::format("request #{} needs {} tokens (prompt {} + output {}) but the max model length is {}; {}",
                    index, total, r.prompt, r.output, max_model_len, fix));
  }
  const Model& m = d_.model;
  if (m.encoder_decoder && (r.prompt > m.max_source_positions || r.output > m.max_target_positions)) {
    throw UserError(
        fmt::format("request #{} has {} input and {} output tokens but {} takes at most {} input "
                    "(encoder) and {} output (decoder) tokens",
                    index, r.prompt, r.output, m.name, m.max_source_positions, m.max_target_positions));
  }
  const LocalKv& local = inst_.local_kv;
  if (local.equivalent(total) > inst_.usable_kv_tokens) {
    throw UserError(
        fmt::format("request #{} needs {} tokens of KV cache but plan {} holds only {} tokens for one "
                    "request; use more GPUs per replica, a smaller {} or a higher {}",
                    index, local.equivalent(total), inst_.plan.label(), inst_.usable_kv_tokens,
                    opt("kv_dtype"), opt("gpu_memory_utilization")));
  }
}

std::size_t Simulation::route() {
  if (replicas_.size() == 1) return 0;
  for (std::size_t i = 0; i < replicas_.size(); ++i)
    loads_[i] = replicas_[i].load();
  return router_->route(loads_);
}

SimResult Simulation::run() {
  const auto dp = static_cast<std::size_t>(inst_.plan.dp);
  have_next_ = source_.next(next_);
  dirty_.assign(dp, 0);
  std::uint64_t index = 0;
  last_instant_ = -1;
  TimeNs prev_arrival = -1;  // of the previous request as the source gave it (sortedness check)
  while (have_next_ || !events_.empty()) {
    // The next instant: the earliest of the next arrival and the next event.
    TimeNs now = std::numeric_limits<TimeNs>::max();
    if (have_next_ && may_send()) now = std::max(next_.arrival, last_instant_);
    if (!events_.empty()) now = std::min(now, events_.top().time);
    APEX_ASSERT(now != std::numeric_limits<TimeNs>::max(),
                "closed loop stalled: every client waits, nothing runs");
    if (last_instant_ >= 0) metrics_.advance(last_instant_, now, requests_.live());
    last_instant_ = now;
    // 1. Completions and wake-ups at `now`, in (time, seq) order.
    while (!events_.empty() && events_.top().time == now) {
      const Event e = events_.top();
      events_.pop();
      if (e.kind == EventKind::BatchDone)
        replicas_[static_cast<std::size_t>(e.replica)].on_batch_done(e.batch, now);
      dirty_[static_cast<std::size_t>(e.replica)] = 1;
    }
    // 2. Arrivals at `now`, routed in arrival order (held closed-loop requests are sent now).
    while (have_next_ && next_.arrival <= now && may_send()) {
      const TimeNs original_arrival = next_.arrival;
      next_.arrival = now;
      check_request(next_, index);
      if (requests_.live() >= max_live_) {
        // Memory follows the requests in the system; a load this far above what the plan serves
        // would grow it without bound (about 200 B per waiting request).
        throw UserError(fmt::format(
            "more than {} requests are waiting or running at once at t = {:.1f} s on plan {}: the offered "
            "load far exceeds what the plan serves; lower {} or {}, or send a closed loop ({})",
            max_live_, ns_to_seconds(now), inst_.plan.label(), opt("rate"), opt("num_requests"),
            opt("concurrency")));
      }
      const std::int32_t slot = requests_.add();
      ActiveRequest& a = requests_[slot];
      a.id = next_.id;
      a.arrival = next_.arrival;
      a.prompt = next_.prompt;
      a.output = next_.output;
      a.prefix_group = next_.prefix_group;
      a.prefix = next_.prefix;
      a.stage = next_.stage;
      const std::size_t target = route();
      a.replica = static_cast<std::int32_t>(target);
      replicas_[target].scheduler().enqueue(slot);
      dirty_[target] = 1;
      metrics_.on_arrival(a, requests_.live());
      ++index;
      prev_arrival = std::max(prev_arrival, original_arrival);
      have_next_ = source_.next(next_);
      if (have_next_ && next_.arrival < prev_arrival) {
        throw UserError(
            fmt::format("request #{} arrives before the previous one; traces must be sorted", index));
      }
    }
    // 3. Every touched replica schedules, in index order (fast-forward may pass later instants
    // in which nothing else happens: last_instant_ follows).
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
      if (!dirty_[i]) continue;
      dirty_[i] = 0;
      replicas_[i].try_schedule(now);
    }
  }
  for (auto& r : replicas_) {
    APEX_ASSERT(r.idle(), "simulation ended with unfinished requests");
    APEX_ASSERT(r.kv().conserved(), "KV blocks leaked: free + cached prefixes != total");
  }
  SimResult r = metrics_.result(inst_.memory);
  r.cpu_offload_blocks = static_cast<std::uint64_t>(offload_.blocks);
  r.prefix_cpu_hit_tokens = prefix_cpu_hit_tokens_;
  for (auto& rep : replicas_)
    r.limits.merge(rep.scheduler().limits());
  r.limits.recorded = true;
  return r;
}

}  // namespace

SimResult simulate(const PlanInstance& instance, RequestSource& requests, const RunOptions& options) {
  APEX_ASSERT(instance.deployment != nullptr, "PlanInstance without a deployment");
  APEX_ASSERT(!instance.plan.stages.empty(), "PlanInstance.plan must be made by make_plan");
  Simulation sim(instance, requests, options);
  SimResult r = sim.run();
  if (r.requests == 0) throw UserError("the workload has no requests");
  return r;
}

}  // namespace apex
