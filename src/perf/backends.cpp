#include "perf/backends.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/option_ref.h"
#include "perf/profile.h"

namespace apex {
namespace {

std::shared_ptr<const OpModel> analytical(const Gpu& gpu, const OpBackendOptions&) {
  return make_analytical_ops(gpu);
}

std::shared_ptr<const OpModel> profile(const Gpu& gpu, const OpBackendOptions& o) {
  if (o.profile_dir.empty()) {
    throw UserError(
        fmt::format("{} profile needs {} DIR (docs/profile-format.md)", opt("perf"), opt("profile_dir")));
  }
  if (!o.fallback.empty() && o.fallback != "analytical") {
    throw UserError(
        fmt::format("{} '{}': the only fallback is 'analytical'", opt("perf_fallback"), o.fallback));
  }
  return make_profile_ops(gpu, o.profile_dir, !o.fallback.empty());
}

// The default decode-attention pricer: OpModel::attention_decode itself, per call.
class CallingDecodePricer final : public DecodeAttnPricer {
 public:
  CallingDecodePricer(const OpModel& ops, const DecodeAttnArgs& shape) : ops_(ops), shape_(shape) {}
  double price(std::int64_t seqs, std::int64_t kv_tokens) const override {
    DecodeAttnArgs a = shape_;
    a.seqs = seqs;
    a.kv_tokens = kv_tokens;
    return ops_.attention_decode(a);
  }

 private:
  const OpModel& ops_;
  DecodeAttnArgs shape_;
};

}  // namespace

std::unique_ptr<const DecodeAttnPricer> OpModel::decode_attention_pricer(const DecodeAttnArgs& shape) const {
  return std::make_unique<CallingDecodePricer>(*this, shape);
}

const std::vector<OpBackendSpec>& op_backends() {
  static const std::vector<OpBackendSpec> list = {
      {"analytical", "roofline x fitted efficiency with residual corrections (data/calibration.json)", false,
       &analytical},
      {"profile", "measured kernel tables, log-space interpolation (docs/profile-format.md)", true, &profile},
  };
  return list;
}

std::shared_ptr<const OpModel> make_op_backend(const std::string& name, const Gpu& gpu,
                                               const OpBackendOptions& options) {
  std::vector<std::string> names;
  for (const auto& b : op_backends()) {
    if (b.name != name) {
      names.push_back(b.name);
      continue;
    }
    if (!b.takes_tables && !options.profile_dir.empty()) {
      throw UserError(fmt::format("{} is only used with {} profile", opt("profile_dir"), opt("perf")));
    }
    if (!b.takes_tables && !options.fallback.empty()) {
      throw UserError(fmt::format("{} prices shapes outside measured tables; it is only used with {} profile",
                                  opt("perf_fallback"), opt("perf")));
    }
    return b.make(gpu, options);
  }
  throw UserError(opt("perf") + ": " + unknown_name_message("op backend", name, names));
}

}  // namespace apex
