// sim/kv/prefix_cache.h — automatic prefix caching behind one interface. A request whose prompt
// starts with a prefix whose KV blocks are cached skips computing it; cached blocks nobody uses
// stay until the pool needs them. Implementations: group_lru_prefix_cache.h (prefixes declared by
// group, LRU eviction); a per-block hash cache (vLLM) or a radix tree (SGLang) is a new file and a
// line in prefix_cache.cpp's registry.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/units.h"
#include "sim/kv/block_pool.h"
#include "sim/request_state.h"

namespace apex {

class PrefixCache {
 public:
  virtual ~PrefixCache() = default;
  // At admission of a request that computed nothing yet: if its prefix is cached, reference it
  // (so eviction cannot take it), mark those tokens computed and return their count; else 0.
  // A prefix found only in the CPU offload tier is loaded back instead: its tokens count as
  // computed, `a.cpu_loaded_blocks` says how many blocks come from host memory, and the request
  // holds them as its own blocks until on_computed caches them on the GPU again.
  virtual std::int32_t acquire(ActiveRequest& a) = 0;
  // After a step computed more of `a`: the first request to compute its prefix leaves those blocks
  // in the cache (moving them from the request's private blocks to shared ones).
  virtual void on_computed(ActiveRequest& a) = 0;
  // Whether on_computed(a) would cache something now (a steady stretch needs it not to).
  virtual bool caches_on_compute(const ActiveRequest& a) const = 0;
  // `a` stops reading its cached prefix (finished, preempted, or admission undone) at `now`.
  virtual void release(ActiveRequest& a, TimeNs now) = 0;
  // Frees unreferenced cached blocks into `pool` until it has `blocks` free; false if it cannot.
  virtual bool evict_for(BlockPool& pool, std::int64_t blocks) = 0;
  // When the replica is idle: the blocks the cache still holds, or -1 if its books do not balance
  // (a cached prefix still referenced, or evictable blocks miscounted).
  virtual std::int64_t idle_blocks() const = 0;
};

// The cache an engine that does not cache prefixes has.
class NoPrefixCache final : public PrefixCache {
 public:
  std::int32_t acquire(ActiveRequest&) override { return 0; }
  void on_computed(ActiveRequest&) override {}
  bool caches_on_compute(const ActiveRequest&) const override { return false; }
  void release(ActiveRequest&, TimeNs) override {}
  bool evict_for(BlockPool& pool, std::int64_t blocks) override { return pool.free() >= blocks; }
  std::int64_t idle_blocks() const override { return 0; }
};

// A named prefix-cache policy an engine selects (EnginePolicy::prefix_cache).
struct PrefixCacheSpec {
  std::string name;
  std::string description;
  // `cpu_blocks`: capacity of the CPU offload tier in blocks (0 = no tier).
  std::unique_ptr<PrefixCache> (*make)(const BlockPool& pool, std::int64_t cpu_blocks);
};
const PrefixCacheSpec& group_lru_prefix_cache();

}  // namespace apex
