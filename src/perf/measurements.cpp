#include "perf/measurements.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"
#include "hw/hardware.h"

namespace apex {
namespace {

// Streams a CSV with a header; `row` receives a field accessor by column name.
class CsvTable {
 public:
  explicit CsvTable(std::string path) : path_(std::move(path)) {}

  bool exists() const { return std::filesystem::exists(path_); }

  template <class F>
  void each(std::initializer_list<const char*> required, F&& row) {
    // Bounded (core/text.h): a directory, /dev/zero or a runaway file is a one-line error.
    std::istringstream in(read_file(path_, "measurement table", kMaxTableFileBytes));
    std::string line;
    std::size_t lineno = 0;
    if (!std::getline(in, line)) return;
    ++lineno;
    const auto header = split_csv(line);
    for (std::size_t i = 0; i < header.size(); ++i)
      cols_[std::string(header[i])] = i;
    for (const char* r : required) {
      if (!cols_.count(r)) throw UserError(fmt::format("{}:1: missing column '{}'", path_, r));
    }
    while (std::getline(in, line)) {
      ++lineno;
      if (trim(line).empty()) continue;
      fields_ = split_csv(line);
      line_ = lineno;
      row(*this);
    }
  }

  std::string str(const char* name) const { return std::string(field(name)); }
  double num(const char* name) const {
    auto v = parse_double(field(name));
    if (!v)
      throw UserError(
          fmt::format("{}:{}: column '{}' is not a number: '{}'", path_, line_, name, field(name)));
    return *v;
  }
  std::int64_t integer(const char* name) const {
    auto v = parse_int(field(name));
    if (!v)
      throw UserError(
          fmt::format("{}:{}: column '{}' is not an integer: '{}'", path_, line_, name, field(name)));
    return *v;
  }
  // A count (GPUs, nodes) within [lo, hi]: narrowed to int only once it is in range.
  int count(const char* name, std::int64_t lo, std::int64_t hi) const {
    const std::int64_t v = integer(name);
    if (v < lo || v > hi) {
      throw UserError(
          fmt::format("{}:{}: column '{}' = {} is outside {} to {}", path_, line_, name, v, lo, hi));
    }
    return static_cast<int>(v);
  }
  bool has(const char* name) const { return cols_.count(name) > 0; }

 private:
  std::string_view field(const char* name) const {
    const std::size_t i = cols_.at(name);
    if (i >= fields_.size()) throw UserError(fmt::format("{}:{}: too few fields", path_, line_));
    return fields_[i];
  }
  std::string path_;
  std::map<std::string, std::size_t> cols_;
  std::vector<std::string_view> fields_;
  std::size_t line_ = 0;
};

}  // namespace

MeasurementSet load_measurements(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw UserError(fmt::format("measurement directory '{}' does not exist", dir));
  MeasurementSet set;
  set.dir = dir;
  auto path = [&](const char* f) { return (fs::path(dir) / f).string(); };
  if (CsvTable t(path("gemm.csv")); t.exists()) {
    t.each({"m", "n", "k", "dtype", "latency_us"}, [&](const CsvTable& r) {
      set.gemm.push_back(
          GemmRow{r.integer("m"), r.integer("n"), r.integer("k"), r.str("dtype"), r.num("latency_us")});
    });
  }
  auto attention = [&](const char* file, const char* len_col, std::vector<AttentionRow>& out) {
    CsvTable t(path(file));
    if (!t.exists()) return;
    t.each({"batch_size", len_col, "num_heads", "num_kv_heads", "head_dim", "latency_us"},
           [&](const CsvTable& r) {
             AttentionRow a;
             a.batch = r.integer("batch_size");
             a.len = r.integer(len_col);
             a.heads = r.integer("num_heads");
             a.kv_heads = r.integer("num_kv_heads");
             a.head_dim = r.integer("head_dim");
             a.window = r.has("window_size") ? r.integer("window_size") : 0;
             a.dtype = r.has("dtype") ? r.str("dtype") : "bf16";
             a.kv_dtype = r.has("kv_dtype") ? r.str("kv_dtype") : "bf16";
             a.us = r.num("latency_us");
             out.push_back(std::move(a));
           });
  };
  attention("attention_prefill.csv", "seq_len", set.prefill);
  attention("attention_decode.csv", "past_kv_len", set.decode);
  if (CsvTable t(path("moe.csv")); t.exists()) {
    t.each({"dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts", "latency_us"},
           [&](const CsvTable& r) {
             MoeRow m;
             m.dtype = r.str("dtype");
             m.tokens = r.integer("num_tokens");
             m.hidden = r.integer("hidden_size");
             m.inter = r.integer("inter_size");
             m.topk = r.integer("topk");
             m.experts = r.integer("num_experts");
             m.tp = r.has("moe_tp_size") ? r.integer("moe_tp_size") : 1;
             m.ep = r.has("moe_ep_size") ? r.integer("moe_ep_size") : 1;
             m.distribution = r.has("distribution") ? r.str("distribution") : "balanced";
             m.us = r.num("latency_us");
             set.moe.push_back(std::move(m));
           });
  }
  if (CsvTable t(path("collectives.csv")); t.exists()) {
    t.each({"op", "num_gpus", "message_bytes", "latency_us"}, [&](const CsvTable& r) {
      CommRow c;
      c.op = r.str("op");
      c.gpus = r.count("num_gpus", 1, kMaxClusterGpus);
      c.nodes = r.has("num_nodes") ? r.count("num_nodes", 1, c.gpus) : 1;  // a node holds >= 1 GPU
      c.bytes = r.num("message_bytes");
      c.dtype = r.has("dtype") ? r.str("dtype") : "fp16";
      c.source = r.has("source") ? r.str("source") : "";
      c.impl = r.has("impl") ? r.str("impl") : "";
      c.us = r.num("latency_us");
      set.comm.push_back(std::move(c));
    });
  }
  return set;
}

std::string fp8_moe_flavour(const std::vector<MoeRow>& rows) {
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                         std::int64_t, std::string>;
  std::map<Key, std::array<double, 3>> by;  // bf16, fp8, fp8_block latencies per shape
  for (const auto& r : rows) {
    const int slot = r.dtype == "bf16" || r.dtype == "fp16" ? 0
                     : r.dtype == "fp8"                     ? 1
                     : r.dtype == "fp8_block"               ? 2
                                                            : -1;
    if (slot < 0 || r.us <= 0) continue;
    auto& v = by[Key{r.tokens, r.hidden, r.inter, r.topk, r.experts, r.tp, r.ep, r.distribution}];
    v[static_cast<std::size_t>(slot)] = r.us;
  }
  std::vector<double> per_tensor, block;  // ratios to bf16 over shapes measured in all three
  bool any_per_tensor = false, any_block = false;
  for (const auto& [k, v] : by) {
    any_per_tensor = any_per_tensor || v[1] > 0;
    any_block = any_block || v[2] > 0;
    if (v[0] <= 0 || v[1] <= 0 || v[2] <= 0) continue;
    per_tensor.push_back(v[1] / v[0]);
    block.push_back(v[2] / v[0]);
  }
  if (per_tensor.empty()) return any_block && !any_per_tensor ? "fp8_block" : "fp8";
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  return median(block) < median(per_tensor) ? "fp8_block" : "fp8";
}

}  // namespace apex
