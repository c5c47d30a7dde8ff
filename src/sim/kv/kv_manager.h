// sim/kv/kv_manager.h — one replica's KV cache: the block pool and the prefix cache in front of
// it. Schedulers ask it for blocks; it evicts unreferenced cached prefixes before saying no.
#pragma once

#include <memory>

#include "sim/kv/block_pool.h"
#include "sim/kv/prefix_cache.h"

namespace apex {

class KvManager {
 public:
  KvManager(std::int64_t total_blocks, int block_size, LocalKv local, const PrefixCacheSpec* prefix_cache)
      : pool_(total_blocks, block_size, local),
        cache_(prefix_cache != nullptr ? prefix_cache->make(pool_) : std::make_unique<NoPrefixCache>()) {}
  KvManager(const KvManager&) = delete;
  KvManager& operator=(const KvManager&) = delete;

  BlockPool& pool() { return pool_; }
  const BlockPool& pool() const { return pool_; }
  PrefixCache& prefix_cache() { return *cache_; }

  // Blocks `a` still needs to hold `tokens` more tokens after its computed ones.
  std::int32_t blocks_needed(const ActiveRequest& a, std::int64_t tokens) const {
    return pool_.blocks_for(static_cast<std::int64_t>(a.computed) + tokens) - a.blocks - a.shared_blocks;
  }
  // Gives `a` the blocks for `tokens` more tokens, evicting cached prefixes if needed; false (and
  // nothing taken) when they are not available.
  bool allocate(ActiveRequest& a, std::int64_t tokens) {
    const std::int32_t need = blocks_needed(a, tokens);
    if (need <= 0) return true;
    if (need > pool_.free() && !cache_->evict_for(pool_, need)) return false;
    pool_.take(need);
    a.blocks += need;
    return true;
  }
  // True when `blocks` are free, or can be after evicting cached prefixes.
  bool make_free(std::int64_t blocks) { return blocks <= pool_.free() || cache_->evict_for(pool_, blocks); }
  // `a` gives back its private blocks and stops reading its cached prefix.
  void release(ActiveRequest& a, TimeNs now) {
    pool_.give(a.blocks);
    cache_->release(a, now);
    a.blocks = 0;
  }
  // Idle replica: every block is free or holds an unreferenced cached prefix.
  bool conserved() const {
    const std::int64_t cached = cache_->idle_blocks();
    return cached >= 0 && pool_.free() + cached == pool_.total();
  }

 private:
  BlockPool pool_;
  std::unique_ptr<PrefixCache> cache_;
};

}  // namespace apex
