// sim/kv/group_lru_prefix_cache.h — prefix caching for prompts that declare their shared prefix
// by group (trace columns prefix_group, prefix_tokens; synthetic --shared-prefix). A group's
// prefix is cached once a request computed it (block-aligned, the prompt's last token always
// recomputed); requests reference it while running; unreferenced prefixes are evicted LRU. With
// a CPU offload tier (vLLM 0.15 native offloading), an evicted prefix moves to a CPU pool of
// `cpu_blocks` blocks, itself LRU; a later request of that group loads it back instead of
// recomputing it.
#pragma once

#include <map>

#include "sim/kv/prefix_cache.h"

namespace apex {

class GroupLruPrefixCache final : public PrefixCache {
 public:
  explicit GroupLruPrefixCache(const BlockPool& pool, std::int64_t cpu_blocks = 0)
      : pool_(pool), cpu_capacity_(cpu_blocks) {}
  std::int32_t acquire(ActiveRequest& a) override;
  void on_computed(ActiveRequest& a) override;
  bool caches_on_compute(const ActiveRequest& a) const override;
  void release(ActiveRequest& a, TimeNs now) override;
  bool evict_for(BlockPool& pool, std::int64_t blocks) override;
  std::int64_t idle_blocks() const override;

 private:
  struct Cached {
    std::int32_t tokens = 0, blocks = 0, refs = 0;
    TimeNs last_use = 0;
  };
  struct Offloaded {
    std::int32_t tokens = 0, blocks = 0;
    std::uint64_t last_use = 0;  // tick of the last store or load (LRU within the tier)
  };
  std::int32_t cacheable(const ActiveRequest& a) const;
  void offload(std::int64_t group, const Cached& c);
  const BlockPool& pool_;
  std::map<std::int64_t, Cached> prefixes_;
  std::int64_t evictable_blocks_ = 0;
  std::int64_t cpu_capacity_ = 0, cpu_used_ = 0;
  std::map<std::int64_t, Offloaded> offloaded_;
  std::uint64_t tick_ = 0;
};

}  // namespace apex
