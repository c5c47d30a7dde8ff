// sim/router/router.h — data-parallel routers: which replica a new request joins. A router sees
// the replicas' loads (requests waiting or running); a KV-aware router is a new file and a line
// in router.cpp's list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace apex {

class Router {
 public:
  virtual ~Router() = default;
  // The replica for the next request, given each replica's load.
  virtual std::size_t route(std::span<const std::size_t> loads) = 0;
};

struct RouterSpec {
  std::string name;
  std::string description;
  std::unique_ptr<Router> (*make)();
};

const std::vector<RouterSpec>& router_registry();
// The router named `name`; UserError with the valid names otherwise.
const RouterSpec& find_router(const std::string& name);
// Validates a router name and returns it (UserError with a did-you-mean otherwise).
std::string parse_router(const std::string& text);

}  // namespace apex
