// perf/backends.h — the op backends a user can choose (--perf NAME), one registry. A backend is an
// OpModel implementation (perf/ops.h) plus one entry in backends.cpp's list.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "perf/ops.h"

namespace apex {

struct OpBackendOptions {
  std::string profile_dir;  // measured tables (profile backend)
  std::string fallback;     // backend for shapes outside the tables ("" = none)
};

struct OpBackendSpec {
  std::string name;
  std::string description;
  bool takes_tables = false;  // reads OpBackendOptions::profile_dir / fallback
  // The backend for `gpu`; UserError for options it cannot use.
  std::shared_ptr<const OpModel> (*make)(const Gpu& gpu, const OpBackendOptions& options);
};

const std::vector<OpBackendSpec>& op_backends();
// The backend `name` built for `gpu`, with its options checked (UserError naming the option).
std::shared_ptr<const OpModel> make_op_backend(const std::string& name, const Gpu& gpu,
                                               const OpBackendOptions& options);

}  // namespace apex
