// perf/measurements.h — readers for measured kernel tables in the shared CSV format
// (docs/profile-format.md): gemm.csv, attention_prefill.csv, attention_decode.csv, moe.csv,
// collectives.csv. Columns are found by header name; errors name file:line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apex {

struct GemmRow {
  std::int64_t m = 0, n = 0, k = 0;
  std::string dtype;
  double us = 0;
};

struct AttentionRow {  // prefill: len = seq_len; decode: len = past_kv_len
  std::int64_t batch = 0, len = 0, heads = 0, kv_heads = 0, head_dim = 0, window = 0;
  std::string dtype, kv_dtype;
  double us = 0;
};

struct MoeRow {
  std::string dtype;
  std::int64_t tokens = 0, hidden = 0, inter = 0, topk = 0, experts = 0, tp = 1, ep = 1;
  std::string distribution;
  double us = 0;
};

struct CommRow {
  std::string op;  // all_reduce, all_gather, reduce_scatter, all_to_all, send_recv
  int gpus = 0, nodes = 0;
  double bytes = 0;
  std::string dtype, source, impl;
  double us = 0;
};

struct MeasurementSet {
  std::string dir;
  std::vector<GemmRow> gemm;
  std::vector<AttentionRow> prefill, decode;
  std::vector<MoeRow> moe;
  std::vector<CommRow> comm;
};

// Loads whichever of the five files exist in `dir` (a missing file leaves its table empty; a
// missing directory is a UserError).
MeasurementSet load_measurements(const std::string& dir);

// Which moe.csv dtype stands for FP8 fused MoE on this GPU: "fp8" (per-tensor scales) or
// "fp8_block" (128x128 block scales, the format of the published FP8 MoE checkpoints such as
// Qwen3-*-FP8 and DeepSeek-V3). A tuned deployment runs the faster of the two, so this returns the
// flavour with the lower median latency relative to bf16 over the shapes measured in bf16 and
// both FP8 flavours; without such shapes, the flavour that has rows ("fp8" when both or none do). On the
// Hopper tables the per-tensor path is 2-3x slower than bf16 while the block path is ~0.6x; on Blackwell the
// per-tensor path is the faster one.
std::string fp8_moe_flavour(const std::vector<MoeRow>& rows);

}  // namespace apex
