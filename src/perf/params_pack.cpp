// perf/params_pack.cpp — the binary form of OpParams (see params_pack.h). Little-endian host
// order, no alignment: every value is copied with memcpy. Layout of one OpParams: the source
// string, then each fit as its doubles in declaration order, each correction as
// (dims, lo[dims], size[dims], count, log_factor[count], prepared, [factors[count]]) — in the
// member order of OpParams.
#include "perf/params_pack.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

#include <fmt/format.h>

#include "core/error.h"

namespace apex {

namespace {

constexpr std::string_view kMagic = "APEXCAL1";

// The fit structs are copied whole: they hold doubles only, so they have no padding.
template <typename Fit>
constexpr bool kPlainFit = std::is_trivially_copyable_v<Fit> && sizeof(Fit) % sizeof(double) == 0 &&
                           alignof(Fit) == alignof(double);
static_assert(kPlainFit<GemmFit> && kPlainFit<PrefillFit> && kPlainFit<DecodeFit> && kPlainFit<CommFit> &&
              kPlainFit<MoeFit> && kPlainFit<ElementwiseFit>);

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  template <typename T>
  void raw(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void text(std::string_view s) {
    raw(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  void correction(const Correction& c) {
    raw(static_cast<std::uint8_t>(c.lo.size()));
    for (const int v : c.lo)
      raw(static_cast<std::int32_t>(v));
    for (const int v : c.size)
      raw(static_cast<std::int32_t>(v));
    raw(static_cast<std::uint32_t>(c.log_factor.size()));
    out_.append(reinterpret_cast<const char*>(c.log_factor.data()), c.log_factor.size() * sizeof(float));
    const std::vector<float>& f = c.prepared();
    raw(static_cast<std::uint8_t>(!f.empty()));
    out_.append(reinterpret_cast<const char*>(f.data()), f.size() * sizeof(float));
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  Reader(std::string_view& in, const char* where) : in_(in), where_(where) {}
  template <typename T>
  T raw() {
    static_assert(std::is_trivially_copyable_v<T>);
    T v;
    std::memcpy(&v, take(sizeof(T)), sizeof(T));
    return v;
  }
  std::string_view text() {
    const auto n = raw<std::uint32_t>();
    return {take(n), n};
  }
  Correction correction() {
    Correction c;
    const auto dims = raw<std::uint8_t>();
    if (dims > 4) fail("a correction of more than 4 dimensions");
    std::size_t nodes = dims == 0 ? 0 : 1;
    for (std::uint8_t d = 0; d < dims; ++d)
      c.lo.push_back(raw<std::int32_t>());
    for (std::uint8_t d = 0; d < dims; ++d) {
      const auto s = raw<std::int32_t>();
      if (s < 1) fail("a correction dimension without nodes");
      c.size.push_back(s);
      nodes *= static_cast<std::size_t>(s);
    }
    const auto n = raw<std::uint32_t>();
    if (n != nodes) fail("a correction whose node count disagrees with its grid");
    c.log_factor.resize(n);
    std::memcpy(c.log_factor.data(), take(n * sizeof(float)), n * sizeof(float));
    if (raw<std::uint8_t>() != 0) {  // prepared: exp(log_factor), computed when packed
      std::vector<float> f(n);
      std::memcpy(f.data(), take(n * sizeof(float)), n * sizeof(float));
      c.set_prepared(std::move(f));
    }
    return c;
  }
  [[noreturn]] void fail(std::string_view what) const {
    throw InternalError(fmt::format("{}: malformed packed parameters ({})", where_, what));
  }

 private:
  const char* take(std::size_t n) {
    if (n > in_.size()) fail("truncated");
    const char* p = in_.data();
    in_.remove_prefix(n);
    return p;
  }
  std::string_view& in_;
  const char* where_;
};

}  // namespace

void pack_params(const OpParams& p, std::string& out) {
  Writer w(out);
  w.text(p.source);
  for (std::size_t i = 0; i < OpParams::kGemmClasses; ++i) {
    w.raw(static_cast<std::uint8_t>(p.gemm_fitted[i]));
    w.raw(p.gemm[i]);
    w.correction(p.gemm_correction[i]);
  }
  w.raw(p.prefill);
  for (const Correction& c : p.prefill_correction)
    w.correction(c);
  w.raw(p.decode);
  for (const Correction& c : p.decode_correction)
    w.correction(c);
  for (std::size_t i = 0; i < kNumCollectives; ++i) {
    w.raw(p.intra[i]);
    w.raw(p.inter[i]);
    w.correction(p.intra_correction[i]);
    w.correction(p.inter_correction[i]);
  }
  w.raw(p.elementwise);
  for (std::size_t i = 0; i < OpParams::kGemmClasses; ++i) {
    w.raw(static_cast<std::uint8_t>(p.moe_fitted[i]));
    w.raw(p.moe[i]);
    w.correction(p.moe_correction[i]);
  }
}

OpParams unpack_params(std::string_view& in, const char* where) {
  Reader r(in, where);
  OpParams p;
  p.source = std::string(r.text());
  for (std::size_t i = 0; i < OpParams::kGemmClasses; ++i) {
    p.gemm_fitted[i] = r.raw<std::uint8_t>() != 0;
    p.gemm[i] = r.raw<GemmFit>();
    p.gemm_correction[i] = r.correction();
  }
  p.prefill = r.raw<PrefillFit>();
  for (Correction& c : p.prefill_correction)
    c = r.correction();
  p.decode = r.raw<DecodeFit>();
  for (Correction& c : p.decode_correction)
    c = r.correction();
  for (std::size_t i = 0; i < kNumCollectives; ++i) {
    p.intra[i] = r.raw<CommFit>();
    p.inter[i] = r.raw<CommFit>();
    p.intra_correction[i] = r.correction();
    p.inter_correction[i] = r.correction();
  }
  p.elementwise = r.raw<ElementwiseFit>();
  for (std::size_t i = 0; i < OpParams::kGemmClasses; ++i) {
    p.moe_fitted[i] = r.raw<std::uint8_t>() != 0;
    p.moe[i] = r.raw<MoeFit>();
    p.moe_correction[i] = r.correction();
  }
  return p;
}

std::string pack_param_set(const std::vector<std::pair<std::string, OpParams>>& set) {
  std::string out(kMagic);
  Writer w(out);
  w.raw(static_cast<std::uint32_t>(set.size()));
  for (const auto& [key, params] : set) {
    w.text(key);
    std::string one;
    pack_params(params, one);
    w.text(one);
  }
  return out;
}

namespace {

// Calls visit(key, packed parameters) for each entry until it returns true.
template <typename Visit>
void for_each_packed(std::string_view packed, const char* where, Visit&& visit) {
  if (packed.substr(0, kMagic.size()) != kMagic)
    throw InternalError(fmt::format("{}: not a packed parameter set", where));
  packed.remove_prefix(kMagic.size());
  Reader r(packed, where);
  const auto n = r.raw<std::uint32_t>();
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::string_view key = r.text();
    if (visit(key, r.text())) return;
  }
}

}  // namespace

std::optional<OpParams> unpack_param_set(std::string_view packed, std::string_view key, const char* where) {
  std::optional<OpParams> out;
  for_each_packed(packed, where, [&](std::string_view k, std::string_view one) {
    if (k != key) return false;
    out = unpack_params(one, where);
    if (!one.empty()) Reader(one, where).fail("trailing bytes");
    return true;
  });
  return out;
}

std::vector<std::string> packed_param_keys(std::string_view packed, const char* where) {
  std::vector<std::string> keys;
  for_each_packed(packed, where, [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return false;
  });
  return keys;
}

}  // namespace apex
