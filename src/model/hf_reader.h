// model/hf_reader.h — reading Hugging Face config.json keys (internal to model/): typed lookups
// with alternatives and defaults, messages naming the file and key, and checks shared by the
// family builders (hf_families.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/text.h"
#include "model/model.h"

namespace apex::hf {

// The largest integer an HF key may hold. Sizes of real checkpoints are far below it (hidden sizes
// of tens of thousands, context lengths of millions), and products of two such values still fit
// an int64, so the parameter and FLOP arithmetic downstream cannot overflow.
constexpr std::int64_t kMaxConfigInteger = (std::int64_t{1} << 31) - 1;
// The deepest model APEX reads (real ones have at most a few hundred layers).
constexpr std::int64_t kMaxLayers = 100'000;

// Reads HF keys; HF configs carry many keys APEX does not need, so unknown keys are fine here.
// `where` is owned: a reader built from a formatted temporary ("config.json: vision_config")
// must not point into it.
class HfReader {
 public:
  HfReader(const Json& j, std::string where) : j_(j), where_(std::move(where)) {}
  HfReader(Json&&, std::string) = delete;  // it keeps a reference to the JSON: never to a temporary

  std::optional<std::int64_t> opt_int(std::initializer_list<std::string_view> keys) const {
    for (auto k : keys) {
      auto it = j_.find(k);
      if (it == j_.end() || it->is_null()) continue;
      if (!it->is_number()) {
        throw UserError(fmt::format("{}: '{}' must be a number, found {}", where_, k, it->type_name()));
      }
      if (it->is_number_unsigned()) {
        const auto u = it->get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(kMaxConfigInteger)) throw out_of_range(k, it->dump());
        return static_cast<std::int64_t>(u);
      }
      if (it->is_number_integer()) {
        const auto i = it->get<std::int64_t>();
        if (i < 0) throw UserError(fmt::format("{}: '{}' must not be negative, found {}", where_, k, i));
        if (i > kMaxConfigInteger) throw out_of_range(k, it->dump());
        return i;
      }
      const double d = it->get<double>();  // finite: the JSON parser rejects overflowing numbers
      if (d != std::floor(d)) {
        throw UserError(fmt::format("{}: '{}' must be an integer, found {}", where_, k, d));
      }
      if (d < 0) throw UserError(fmt::format("{}: '{}' must not be negative, found {}", where_, k, d));
      if (d > static_cast<double>(kMaxConfigInteger)) throw out_of_range(k, it->dump());
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
    if (*v == 0) throw UserError(fmt::format("{}: '{}' must be positive", where_, present_key(keys)));
    return *v;
  }
  std::int64_t int_or(std::initializer_list<std::string_view> keys, std::int64_t fallback) const {
    return opt_int(keys).value_or(fallback);
  }
  // A size that may be omitted but, when given, must be positive (a width or length of 0 describes
  // no model).
  std::int64_t positive_or(std::initializer_list<std::string_view> keys, std::int64_t fallback) const {
    auto v = opt_int(keys);
    if (v && *v == 0) {
      throw UserError(fmt::format("{}: '{}' must be positive, found 0", where_, present_key(keys)));
    }
    return v.value_or(fallback);
  }
  // The number of layers: required, positive and at most kMaxLayers (a layer list is allocated).
  std::int64_t layers(std::initializer_list<std::string_view> keys) const {
    const std::int64_t n = req_int(keys);
    if (n > kMaxLayers) {
      throw UserError(fmt::format("{}: '{}' = {} exceeds the limit of {} layers", where_, present_key(keys),
                                  n, kMaxLayers));
    }
    return n;
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
  const std::string& where() const { return where_; }

 private:
  UserError out_of_range(std::string_view key, const std::string& value) const {
    return UserError(fmt::format("{}: '{}' = {} is out of range; APEX reads sizes up to {}", where_, key,
                                 value, kMaxConfigInteger));
  }
  // The first of `keys` the config holds (for messages), else the first one.
  std::string_view present_key(std::initializer_list<std::string_view> keys) const {
    for (auto k : keys) {
      if (auto it = j_.find(k); it != j_.end() && !it->is_null()) return k;
    }
    return *keys.begin();
  }

  const Json& j_;
  std::string where_;
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
