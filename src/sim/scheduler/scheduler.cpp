#include "sim/scheduler/scheduler.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "sim/engine.h"

namespace apex {

bool BatchScheduler::next_batch(MicroBatch& mb, TimeNs now) {
  now_ = now;
  preempted_ = false;
  mb.slots.clear();
  mb.shape = BatchShape{};
  mb.kv_load_blocks = 0;
  drop_flying();  // other micro-batches' requests (pipeline parallelism)
  if (!build(mb)) return false;
  const BlockPool& pool = c_.kv.pool();  // as the launch finds it (peak_kv_utilization)
  limits_.kv_peak_used = std::max(limits_.kv_peak_used, pool.total() - pool.free());
  return true;
}

bool BatchScheduler::below_max_seqs() {
  const auto n = static_cast<std::int64_t>(running_.size());
  if (n >= c_.engine.max_num_seqs) {
    limits_.max_num_seqs = true;
    return false;
  }
  limits_.seqs_needed = std::max(limits_.seqs_needed, n + 1);
  return true;
}

bool BatchScheduler::budget_left(std::int64_t budget) {
  if (budget <= 0) {
    limits_.max_num_batched_tokens = true;
    return false;
  }
  limits_.tokens_needed = std::max(limits_.tokens_needed, c_.engine.max_num_batched_tokens - budget + 1);
  return true;
}

std::int64_t BatchScheduler::within_budget(std::int64_t q, std::int64_t budget) {
  return fits_budget(q, budget) ? q : budget;
}

bool BatchScheduler::fits_budget(std::int64_t q, std::int64_t budget) {
  if (q > budget) {
    limits_.max_num_batched_tokens = true;
    return false;
  }
  limits_.tokens_needed = std::max(limits_.tokens_needed, c_.engine.max_num_batched_tokens - budget + q);
  return true;
}

bool BatchScheduler::kv_admits(std::int64_t need, std::int64_t mark) {
  const BlockPool& pool = c_.kv.pool();
  if (need > pool.free() - mark) {
    limits_.kv_cache = true;
    return false;
  }
  limits_.kv_admit_needed = std::max(limits_.kv_admit_needed, pool.total() - pool.free() + need);
  return true;
}

bool BatchScheduler::kv_allocate(ActiveRequest& a, std::int64_t q) {
  const std::int64_t need = c_.kv.blocks_needed(a, q);
  const BlockPool& pool = c_.kv.pool();
  if (need > pool.free()) {
    limits_.kv_cache = true;  // evicts a cached prefix or fails
  } else if (need > 0) {
    limits_.kv_blocks_needed = std::max(limits_.kv_blocks_needed, pool.total() - pool.free() + need);
  }
  return c_.kv.allocate(a, q);
}

bool BatchScheduler::kv_reserve(std::int64_t blocks) {
  BlockPool& pool = c_.kv.pool();
  if (pool.reserved() + blocks > pool.total()) {
    limits_.kv_cache = true;
  } else {
    limits_.kv_blocks_needed = std::max(limits_.kv_blocks_needed, pool.reserved() + blocks);
  }
  return pool.try_reserve(blocks);
}

std::int64_t BatchScheduler::watermark() const {
  return static_cast<std::int64_t>(c_.engine.admission_watermark * static_cast<double>(c_.kv.pool().total()));
}

std::int32_t BatchScheduler::decode_width(const ActiveRequest& a) const {
  const int k = c_.engine.costs.spec_tokens;
  if (k <= 0) return 1;
  return 1 + std::max(0, std::min(k, a.output - a.generated - 1));
}

void BatchScheduler::remove_running(std::int32_t slot) {
  auto it = std::find(running_.begin(), running_.end(), slot);
  APEX_ASSERT(it != running_.end(), "request not in the running list");
  running_.erase(it);
  ActiveRequest& a = at(slot);
  if (a.idle_listed) {
    idle_.erase(std::next(std::find(idle_.rbegin(), idle_.rend(), slot)).base());
    a.idle_listed = false;
  }
}

void BatchScheduler::drop_flying() {
  std::erase_if(idle_, [this](std::int32_t slot) {
    ActiveRequest& a = at(slot);
    if (a.in_flight) a.idle_listed = false;
    return a.in_flight;
  });
}

void BatchScheduler::land(const MicroBatch& mb) {
  const std::size_t mid = idle_.size();
  for (const std::int32_t slot : mb.slots) {
    ActiveRequest& a = at(slot);
    if (!a.running || a.in_flight || a.idle_listed) continue;
    a.idle_listed = true;
    idle_.push_back(slot);
  }
  if (mid == idle_.size()) return;
  const auto order = [this](std::int32_t x, std::int32_t y) {
    return c_.requests[x].run_order < c_.requests[y].run_order;
  };
  const auto first = idle_.begin() + static_cast<std::ptrdiff_t>(mid);
  if (!std::is_sorted(first, idle_.end(), order)) std::sort(first, idle_.end(), order);
  if (mid == 0 || !order(*first, idle_[mid - 1])) return;  // all after the listed ones
  merged_.resize(idle_.size());
  std::merge(idle_.begin(), first, first, idle_.end(), merged_.begin(), order);
  idle_.swap(merged_);
}

std::int32_t BatchScheduler::pick_victim() const {
  // vLLM FCFS: the last request of the running list; requests inside an in-flight micro-batch
  // (pipeline parallelism) cannot be preempted until it completes.
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if (!c_.requests[*it].in_flight) return *it;
  }
  return -1;
}

void BatchScheduler::preempt(std::int32_t slot) {
  // Recompute: free the KV blocks, forget computed tokens, resume before new arrivals.
  ActiveRequest& a = at(slot);
  unreserve(a);
  c_.kv.release(a, now_);
  a.computed = 0;
  a.running = false;
  remove_running(slot);
  waiting_.push_front(slot);
  ++a.preemptions;
  preempted_ = true;
  c_.events.on_preempt(a);
}

bool BatchScheduler::allocate_or_preempt(std::int32_t slot, std::int64_t q) {
  for (;;) {
    if (kv_allocate(at(slot), q)) return true;
    const std::int32_t victim = pick_victim();
    if (victim < 0) return false;
    preempt(victim);
    if (victim == slot) return false;
  }
}

bool BatchScheduler::admit_head(MicroBatch& mb, std::int64_t& budget, std::int64_t watermark) {
  const EnginePolicy& e = c_.engine;
  const std::int32_t slot = waiting_.front();
  ActiveRequest& a = at(slot);
  const std::int32_t hit = c_.kv.prefix_cache().acquire(a);
  auto undo = [&] {
    if (hit > 0) {
      c_.kv.prefix_cache().release(a, now_);
      a.computed = 0;
      a.cpu_loaded_blocks = 0;
    }
    return false;
  };
  std::int64_t q = a.num_tokens() - a.computed;
  if (!e.chunked_prefill && !fits_budget(q, budget)) return undo();
  if (e.long_prefill_token_threshold > 0) q = std::min<std::int64_t>(q, e.long_prefill_token_threshold);
  q = within_budget(q, budget);
  const std::int32_t need = c_.kv.blocks_needed(a, q);
  if (!kv_admits(need, watermark) && !c_.kv.make_free(need + watermark)) return undo();
  if (!reserve(a)) return undo();
  if (hit > 0) c_.events.on_prefix_hit(hit);
  if (a.cpu_loaded_blocks > 0) {
    // Loaded from host memory before the step computes on it.
    c_.events.on_prefix_cpu_hit(hit);
    mb.kv_load_blocks += a.cpu_loaded_blocks;
    a.cpu_loaded_blocks = 0;
  }
  kv_allocate(a, q);
  waiting_.pop_front();
  running_.push_back(slot);
  a.running = true;
  a.run_order = next_run_order_++;
  add_to_batch(mb, slot, static_cast<std::int32_t>(q));
  budget -= q;
  return true;
}

void BatchScheduler::add_to_batch(MicroBatch& mb, std::int32_t slot, std::int32_t q) {
  ActiveRequest& a = at(slot);
  a.scheduled = q;
  a.in_flight = true;
  mb.slots.push_back(slot);
  c_.shapes.add(mb.shape, TokenSpan{a.prompt, a.generated, a.computed, q});
}

void BatchScheduler::complete(MicroBatch& mb, TimeNs now) {
  for (std::int32_t slot : mb.slots) {
    ActiveRequest& a = at(slot);
    a.in_flight = false;
    if (!a.running) continue;  // cannot happen (in-flight requests are not preempted); defensive
    std::int32_t emitted = 0;
    if (a.scheduled > 1 && a.generated > 0 && a.computed + 1 == a.num_tokens()) {
      // Speculative decode: of the k drafts, the expected number is accepted (deterministically,
      // carrying the fraction to the next step); the KV of rejected drafts is discarded.
      const int k = a.scheduled - 1;
      a.spec_credit += expected_spec_tokens(k, c_.engine.costs.spec_acceptance);
      emitted = std::clamp(static_cast<std::int32_t>(a.spec_credit + 1e-9), 1, k + 1);
      emitted = std::min(emitted, a.output - a.generated);
      a.spec_credit -= emitted;
      a.computed += emitted;
    } else {
      a.computed += a.scheduled;
      c_.kv.prefix_cache().on_computed(a);
      if (a.computed >= a.num_tokens()) emitted = 1;
    }
    a.scheduled = 0;
    if (emitted > 0) {
      a.generated += emitted;
      c_.events.on_tokens(a, emitted, now);
      if (a.generated >= a.output) {
        unreserve(a);
        c_.kv.release(a, now);
        a.running = false;
        remove_running(slot);
        c_.events.on_finish(slot, now);
      }
    }
  }
  land(mb);
  mb.slots.clear();
}

bool BatchScheduler::admits_nothing() const {
  return waiting_.empty() || static_cast<int>(running_.size()) >= c_.engine.max_num_seqs;
}

bool BatchScheduler::plan_steady(MicroBatch& mb, bool rebuild_shape, SteadyPlan& p,
                                 TimeNs& last_token) const {
  const EnginePolicy& e = c_.engine;
  if (!decodes_steady() || e.costs.spec_tokens > 0 || c_.kv.pool().frees_local() || !admits_nothing())
    return false;
  const std::int64_t b = c_.kv.pool().block_size();
  mb.slots.clear();
  mb.shape = BatchShape{};
  mb.kv_load_blocks = 0;
  p.new_blocks.assign(static_cast<std::size_t>(b), 0);
  p.last = std::numeric_limits<std::int32_t>::max();
  p.min_arrival = std::numeric_limits<TimeNs>::max();
  p.rebuild_shape = rebuild_shape;
  last_token = -1;
  for (std::int32_t slot : idle_) {
    const ActiveRequest& a = c_.requests[slot];
    if (a.in_flight) continue;
    // A decode (its next token one step away) that sampled its last token with the others.
    if (a.generated <= 0 || a.computed + 1 != a.num_tokens() || !a.queue_recorded) return false;
    if (last_token >= 0 && a.last_token != last_token) return false;
    last_token = a.last_token;
    // No step of the stretch may cache its prefix (the cache's state is fixed while it runs).
    if (c_.kv.prefix_cache().caches_on_compute(a)) return false;
    // Step j allocates for computed + j tokens: one block at step f, f + b, ...
    const std::int64_t f = first_block_step(a, b);
    if (f < 1 || f > b) return false;
    ++p.new_blocks[static_cast<std::size_t>(f - 1)];
    p.last = std::min(p.last, a.output - a.generated);
    p.min_arrival = std::min(p.min_arrival, a.arrival);
    c_.shapes.add(mb.shape, TokenSpan{a.prompt, a.generated, a.computed, 1});  // step 1
    mb.slots.push_back(slot);
  }
  // Within the token budget, every one of them (prefill-first decode steps take them all anyway).
  const auto n = static_cast<std::int64_t>(mb.slots.size());
  if (n == 0 || n > e.max_num_batched_tokens) return false;
  p.base = mb.shape;
  p.base.decode_kv -= n;
  return true;
}

std::int64_t BatchScheduler::first_block_step(const ActiveRequest& a, std::int64_t block_size) {
  const std::int64_t held = static_cast<std::int64_t>(a.blocks) + a.shared_blocks;
  return held * block_size - a.computed + 1;
}

void BatchScheduler::rebuild_steady_shape(const MicroBatch& mb, std::int32_t j, BatchShape& out) const {
  out = BatchShape{};
  for (std::int32_t slot : mb.slots) {
    const ActiveRequest& a = c_.requests[slot];
    c_.shapes.add(out, TokenSpan{a.prompt, a.generated + j - 1, a.computed + j - 1, 1});
  }
}

void BatchScheduler::record_steady_checks(const MicroBatch&) {
  APEX_ASSERT(false, "a steady stretch of a policy whose decodes are not steady");
}

void BatchScheduler::record_steady_step(const MicroBatch& mb, std::int64_t blocks) {
  record_steady_checks(mb);
  record_steady_kv(blocks);
}

void BatchScheduler::record_steady_kv(std::int64_t blocks) {
  // kv_allocate of each decode that takes a block, the last one seeing the step's final use;
  // then next_batch's peak.
  const BlockPool& pool = c_.kv.pool();
  const std::int64_t used = pool.total() - pool.free();
  if (blocks > 0) limits_.kv_blocks_needed = std::max(limits_.kv_blocks_needed, used);
  limits_.kv_peak_used = std::max(limits_.kv_peak_used, used);
}

void BatchScheduler::commit_steady(const MicroBatch& mb, std::int32_t completed, bool in_flight,
                                   TimeNs last_token) {
  const std::int64_t b = c_.kv.pool().block_size();
  const std::int64_t built = completed + (in_flight ? 1 : 0);
  for (std::int32_t slot : mb.slots) {
    ActiveRequest& a = at(slot);
    const std::int64_t f = first_block_step(a, b);
    if (built >= f) a.blocks += static_cast<std::int32_t>((built - f) / b + 1);
    a.computed += completed;
    a.generated += completed;
    if (completed > 0) a.last_token = last_token;
    if (in_flight) {
      a.scheduled = 1;
      a.in_flight = true;
    }
  }
}

}  // namespace apex
