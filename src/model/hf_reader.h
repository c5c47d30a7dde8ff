// model/hf_reader.h — reading Hugging Face config.json keys (internal to model/): typed lookups
// with alternatives and defaults, messages naming the file and key, and checks shared by the
// family builders (hf_families.h).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "model/model.h"

namespace apex::hf {

// Reads HF keys; HF configs carry many keys APEX does not need, so unknown keys are fine here.
class HfReader {
 public:
  HfReader(const Json& j, std::string_view where) : j_(j), where_(where) {}

  std::optional<std::int64_t> opt_int(std::initializer_list<std::string_view> keys) const {
    for (auto k : keys) {
      auto it = j_.find(k);
      if (it == j_.end() || it->is_null()) continue;
      if (!it->is_number()) {
        throw UserError(fmt::format("{}: '{}' must be a number, found {}", where_, k, it->type_name()));
      }
      const double d = it->get<double>();
      if (d != static_cast<double>(static_cast<std::int64_t>(d))) {
        throw UserError(fmt::format("{}: '{}' must be an integer, found {}", where_, k, d));
      }
      if (d < 0) throw UserError(fmt::format("{}: '{}' must not be negative, found {}", where_, k, d));
      return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
  }
  std::int64_t req_int(std::initializer_list<std::string_view> keys) const {
    auto v = opt_int(keys);
    if (!v) {
      std::vector<std::string> names(keys.begin(), keys.end());
      throw UserError(fmt::format("{}: missing required key '{}'", where_, join(names, "' or '")));
    }
    if (*v == 0) throw UserError(fmt::format("{}: '{}' must be positive", where_, *keys.begin()));
    return *v;
  }
  std::int64_t int_or(std::initializer_list<std::string_view> keys, std::int64_t fallback) const {
    return opt_int(keys).value_or(fallback);
  }
  bool bool_or(std::string_view key, bool fallback) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw UserError(fmt::format("{}: '{}' must be true or false", where_, key));
    return it->get<bool>();
  }
  std::string str_or(std::string_view key, std::string fallback) const {
    auto it = j_.find(key);
    if (it == j_.end() || !it->is_string()) return fallback;
    return it->get<std::string>();
  }
  const Json& json() const { return j_; }
  std::string_view where() const { return where_; }

 private:
  const Json& j_;
  std::string_view where_;
};

inline DType checkpoint_dtype(const HfReader& r) {
  const std::string t = r.str_or("torch_dtype", r.str_or("dtype", "bfloat16"));
  try {
    return parse_dtype(t, "torch_dtype");
  } catch (const UserError&) {
    return DType::BF16;  // unusual checkpoint dtypes are served in bf16 by default
  }
}

inline void check_heads(const HfReader& r, const AttentionSpec& a) {
  if (a.num_heads <= 0)
    throw UserError(fmt::format("{}: number of attention heads must be positive", r.where()));
  if (a.head_dim <= 0) throw UserError(fmt::format("{}: head_dim must be positive", r.where()));
  if (a.num_kv_heads <= 0 || a.num_heads % a.num_kv_heads != 0) {
    throw UserError(fmt::format("{}: num_key_value_heads ({}) must divide num_attention_heads ({})",
                                r.where(), a.num_kv_heads, a.num_heads));
  }
}

}  // namespace apex::hf
