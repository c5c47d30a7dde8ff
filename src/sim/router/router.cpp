#include "sim/router/router.h"

#include "core/error.h"

namespace apex {
namespace {

// Requests in turn, whatever the load.
class RoundRobinRouter final : public Router {
 public:
  std::size_t route(std::span<const std::size_t> loads) override { return next_++ % loads.size(); }

 private:
  std::uint64_t next_ = 0;
};

// The replica with the fewest requests waiting or running; ties go to the lowest index.
class LeastLoadedRouter final : public Router {
 public:
  std::size_t route(std::span<const std::size_t> loads) override {
    std::size_t target = 0;
    for (std::size_t i = 1; i < loads.size(); ++i) {
      if (loads[i] < loads[target]) target = i;
    }
    return target;
  }
};

template <class R>
std::unique_ptr<Router> make() {
  return std::make_unique<R>();
}

}  // namespace

const std::vector<RouterSpec>& router_registry() {
  static const std::vector<RouterSpec> list = {
      {"round-robin", "replicas in turn", &make<RoundRobinRouter>},
      {"least-loaded", "the replica with the fewest requests waiting or running", &make<LeastLoadedRouter>},
  };
  return list;
}

const RouterSpec& find_router(const std::string& name) {
  for (const auto& r : router_registry()) {
    if (r.name == name) return r;
  }
  std::vector<std::string> names;
  for (const auto& r : router_registry())
    names.push_back(r.name);
  throw UserError(unknown_name_message("router", name, names));
}

std::string parse_router(const std::string& text) {
  return find_router(text).name;
}

}  // namespace apex
