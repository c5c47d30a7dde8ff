// sim/kv/kv_manager.h — one replica's KV cache: the block pool and the prefix cache in front of
// it. Schedulers ask it for blocks; it evicts unreferenced cached prefixes before saying no.
#pragma once

#include <memory>

#include "sim/kv/block_pool.h"
#include "sim/kv/prefix_cache.h"

namespace apex {

// The CPU KV offload tier of one replica: its capacity in blocks and the time to load one block
// back (every GPU of the replica loads its shard of the block over its own host link at once).
struct CpuOffloadTier {
  std::int64_t blocks = 0;
  double seconds_per_block = 0;
};

// Host-link efficiency of the GPU<->CPU DMA: the vLLM offloading blog measured ~50 GB/s one way
// on H100 over PCIe Gen5 x16 (64 GB/s): 50 / 64.
inline constexpr double kHostDmaEfficiency = 50.0 / 64.0;
// Host bandwidth for a GPU whose spec gives none (a custom GPU without a base): PCIe Gen4 x16.
inline constexpr double kDefaultHostBandwidth = 32e9;

// The tier for `bytes` of host memory per replica (vLLM --kv-offloading-size: summed over the
// replica's `gpus` ranks), each GPU holding `block_bytes_per_gpu` of a block, over a host link of
// `host_bandwidth` bytes/s per direction (0 = kDefaultHostBandwidth).
inline CpuOffloadTier cpu_offload_tier(double bytes, int gpus, double block_bytes_per_gpu,
                                       double host_bandwidth) {
  CpuOffloadTier t;
  if (bytes <= 0 || gpus <= 0 || block_bytes_per_gpu <= 0) return t;
  t.blocks = static_cast<std::int64_t>(bytes / gpus / block_bytes_per_gpu);
  const double bw = host_bandwidth > 0 ? host_bandwidth : kDefaultHostBandwidth;
  t.seconds_per_block = block_bytes_per_gpu / (bw * kHostDmaEfficiency);
  return t;
}

class KvManager {
 public:
  KvManager(std::int64_t total_blocks, int block_size, LocalKv local, const PrefixCacheSpec* prefix_cache,
            const CpuOffloadTier& offload = {})
      : pool_(total_blocks, block_size, local),
        cache_(prefix_cache != nullptr ? prefix_cache->make(pool_, offload.blocks)
                                       : std::make_unique<NoPrefixCache>()),
        offload_(offload) {}
  KvManager(const KvManager&) = delete;
  KvManager& operator=(const KvManager&) = delete;

  BlockPool& pool() { return pool_; }
  const BlockPool& pool() const { return pool_; }
  PrefixCache& prefix_cache() { return *cache_; }
  const CpuOffloadTier& cpu_offload() const { return offload_; }
  // Seconds to load `blocks` offloaded prefix blocks back from host memory.
  double load_seconds(std::int64_t blocks) const {
    return static_cast<double>(blocks) * offload_.seconds_per_block;
  }

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
  CpuOffloadTier offload_;
};

}  // namespace apex
