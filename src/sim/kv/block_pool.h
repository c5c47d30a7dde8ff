// sim/kv/block_pool.h — the paged KV-cache block pool of one replica: blocks of `block_size`
// tokens taken by requests as their context grows and given back when they finish or are
// preempted, plus the full-sequence reservations of engines that admit only what can finish.
#pragma once

#include <cstdint>

#include "plan/plan.h"

namespace apex {

class BlockPool {
 public:
  BlockPool(std::int64_t total_blocks, int block_size, LocalKv local)
      : total_(total_blocks), free_(total_blocks), block_size_(block_size), local_(local) {}

  // Blocks that hold a request's KV at `tokens` tokens (with local-attention layers freed as the
  // engine frees them).
  std::int32_t blocks_for(std::int64_t tokens) const {
    const std::int64_t b = block_size_;
    const std::int64_t held = local_.equivalent(tokens);
    return static_cast<std::int32_t>((held + b - 1) / b);
  }
  int block_size() const { return block_size_; }
  // Local-attention layers are freed (blocks_for is not the plain ceil(tokens / block_size)).
  bool frees_local() const { return local_.share > 0; }
  std::int64_t total() const { return total_; }
  std::int64_t free() const { return free_; }
  void take(std::int64_t blocks) { free_ -= blocks; }
  void give(std::int64_t blocks) { free_ += blocks; }
  double utilization() const { return static_cast<double>(total_ - free_) / static_cast<double>(total_); }

  // Full-sequence reservations (TensorRT-LLM GUARANTEED_NO_EVICT): Σ final blocks of the admitted.
  bool try_reserve(std::int64_t blocks) {
    if (reserved_ + blocks > total_) return false;
    reserved_ += blocks;
    return true;
  }
  void unreserve(std::int64_t blocks) { reserved_ -= blocks; }
  std::int64_t reserved() const { return reserved_; }

 private:
  std::int64_t total_;
  std::int64_t free_;
  std::int64_t reserved_ = 0;
  int block_size_;
  LocalKv local_;
};

}  // namespace apex
