#include "sim/kv/group_lru_prefix_cache.h"

#include <algorithm>

#include "core/error.h"

namespace apex {

std::int32_t GroupLruPrefixCache::cacheable(const ActiveRequest& a) const {
  if (a.prefix_group < 0) return 0;
  const std::int32_t b = pool_.block_size();
  return std::min(a.prefix, a.prompt - 1) / b * b;
}

std::int32_t GroupLruPrefixCache::acquire(ActiveRequest& a) {
  if (a.computed != 0 || a.holds_prefix) return 0;
  auto it = prefixes_.find(a.prefix_group);
  if (it == prefixes_.end()) {
    // Only in host memory: loaded back into the request's own blocks (not recomputed).
    auto cpu = offloaded_.find(a.prefix_group);
    if (cpu == offloaded_.end() || cacheable(a) < cpu->second.tokens) return 0;
    cpu->second.last_use = ++tick_;
    a.cpu_loaded_blocks = cpu->second.blocks;
    a.computed = cpu->second.tokens;
    return cpu->second.tokens;
  }
  if (cacheable(a) < it->second.tokens) return 0;
  Cached& c = it->second;
  if (c.refs++ == 0) evictable_blocks_ -= c.blocks;
  a.holds_prefix = true;
  a.shared_blocks = c.blocks;
  a.computed = c.tokens;
  return c.tokens;
}

bool GroupLruPrefixCache::caches_on_compute(const ActiveRequest& a) const {
  const std::int32_t tokens = cacheable(a);
  return tokens > 0 && !a.holds_prefix && a.computed >= tokens && prefixes_.count(a.prefix_group) == 0;
}

void GroupLruPrefixCache::on_computed(ActiveRequest& a) {
  if (!caches_on_compute(a)) return;
  const std::int32_t tokens = cacheable(a);
  Cached c;
  c.tokens = tokens;
  c.blocks = pool_.blocks_for(tokens);
  c.refs = 1;
  prefixes_.emplace(a.prefix_group, c);
  a.blocks -= c.blocks;
  a.shared_blocks = c.blocks;
  a.holds_prefix = true;
}

void GroupLruPrefixCache::release(ActiveRequest& a, TimeNs now) {
  if (!a.holds_prefix) return;
  Cached& c = prefixes_.at(a.prefix_group);
  if (--c.refs == 0) {
    evictable_blocks_ += c.blocks;
    c.last_use = now;
  }
  a.holds_prefix = false;
  a.shared_blocks = 0;
}

bool GroupLruPrefixCache::evict_for(BlockPool& pool, std::int64_t blocks) {
  while (pool.free() < blocks && evictable_blocks_ > 0) {
    auto victim = prefixes_.end();
    for (auto it = prefixes_.begin(); it != prefixes_.end(); ++it) {
      if (it->second.refs == 0 &&
          (victim == prefixes_.end() || it->second.last_use < victim->second.last_use)) {
        victim = it;
      }
    }
    APEX_ASSERT(victim != prefixes_.end(), "evictable prefix blocks without an unreferenced prefix");
    pool.give(victim->second.blocks);
    evictable_blocks_ -= victim->second.blocks;
    offload(victim->first, victim->second);
    prefixes_.erase(victim);
  }
  return pool.free() >= blocks;
}

void GroupLruPrefixCache::offload(std::int64_t group, const Cached& c) {
  if (c.blocks > cpu_capacity_) return;  // no tier, or the prefix is larger than all of it
  auto it = offloaded_.find(group);
  if (it != offloaded_.end()) {  // already kept (loaded back earlier): refresh
    it->second.last_use = ++tick_;
    return;
  }
  while (cpu_used_ + c.blocks > cpu_capacity_) {
    auto victim = offloaded_.begin();
    for (auto o = offloaded_.begin(); o != offloaded_.end(); ++o) {
      if (o->second.last_use < victim->second.last_use) victim = o;
    }
    cpu_used_ -= victim->second.blocks;
    offloaded_.erase(victim);
  }
  offloaded_.emplace(group, Offloaded{c.tokens, c.blocks, ++tick_});
  cpu_used_ += c.blocks;
}

std::int64_t GroupLruPrefixCache::idle_blocks() const {
  std::int64_t cached = 0;
  for (const auto& [group, c] : prefixes_) {
    if (c.refs != 0) return -1;
    cached += c.blocks;
  }
  return cached == evictable_blocks_ ? cached : -1;
}

namespace {
std::unique_ptr<PrefixCache> make_group_lru(const BlockPool& pool, std::int64_t cpu_blocks) {
  return std::make_unique<GroupLruPrefixCache>(pool, cpu_blocks);
}
}  // namespace

const PrefixCacheSpec& group_lru_prefix_cache() {
  static const PrefixCacheSpec spec{"group-lru", "prefixes declared per group, unreferenced ones evicted LRU",
                                    &make_group_lru};
  return spec;
}

}  // namespace apex
