// python/apex_module.cpp — the `apex` Python module (pybind11) over the same library and the same
// option table as the CLI: keyword arguments are the CLI flags with '_' for '-', results come back
// as the JSON documents of ../shared/docs/CLI.md (as dicts), user errors raise ValueError.
//
//   import apex
//   r = apex.simulate(model="llama-3.1-70b", gpu="h100-sxm", tp=8, rate=2, num_requests=200,
//                     prompt_len=1024, output_len=256)
//   r["metrics"]["ttft_s"]["p99"]
//   plans = apex.search(model="llama-3.1-70b", gpu="h100-sxm", trace="@sample", objective="tpot")
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "../apps/apex/cli.h"
#include "core/error.h"
#include "model/registry.h"
#include "sim/engine.h"

namespace py = pybind11;

namespace {

// Keyword arguments -> argv of the subcommand: name=value -> --name value, flag=True -> --flag.
std::vector<std::string> to_args(const std::string& command, const py::kwargs& kwargs) {
  std::vector<std::string> args{"apex", command};
  for (const auto& [key, value] : kwargs) {
    std::string flag = "--" + py::str(key).cast<std::string>();
    for (auto& c : flag)
      c = c == '_' ? '-' : c;
    if (py::isinstance<py::bool_>(value)) {
      if (value.cast<bool>()) args.push_back(flag);
      continue;
    }
    if (value.is_none()) continue;
    args.push_back(flag);
    args.push_back(py::str(value).cast<std::string>());
  }
  args.emplace_back("--format");
  args.emplace_back("json");
  return args;
}

py::object run(const std::string& command, const py::kwargs& kwargs) {
  const std::vector<std::string> args = to_args(command, kwargs);
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  CLI::App app{"apex"};
  app.require_subcommand(1);
  apex::cli::Options o;
  std::string out;
  o.capture = &out;
  CLI::App* sim = apex::cli::add_simulate_command(app, o);
  CLI::App* srch = apex::cli::add_search_command(app, o);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    if (sim->parsed()) {
      apex::cli::reject_extras(*sim);
      apex::cli::run_simulate(o, *sim);
    } else {
      apex::cli::reject_extras(*srch);
      apex::cli::run_search(o, *srch);
    }
  } catch (const CLI::ParseError& e) {
    throw py::value_error(std::string("apex: ") + e.what());
  } catch (const apex::UserError& e) {
    throw py::value_error(std::string("apex: ") + e.what());
  }
  return py::module_::import("json").attr("loads")(out);
}

}  // namespace

PYBIND11_MODULE(apex, m) {
  m.doc() = "APEX — LLM-serving simulator and parallel-execution planner";
  m.def(
      "simulate", [](const py::kwargs& kw) { return run("simulate", kw); },
      "Simulate one plan; keyword arguments are the flags of `apex simulate` (tp=8, rate=2, ...). Returns "
      "the "
      "result object of CLI.md as a dict.");
  m.def(
      "search", [](const py::kwargs& kw) { return run("search", kw); },
      "Search and rank every plan; keyword arguments are the flags of `apex search`. Returns {best, plans, "
      "stats}.");
  m.def(
      "models", [] { return apex::model_preset_names(); }, "Model preset names.");
  m.def(
      "gpus", [] { return apex::gpu_preset_names(); }, "GPU preset names.");
  m.def(
      "engines", [] { return apex::engine_names(); }, "Engine policy names.");
}
