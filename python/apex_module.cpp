// python/apex_module.cpp — the `apex` Python module (pybind11) over src/api: keyword arguments are
// the concepts of the option table (the CLI flags with '_' for '-'), written into the same request
// structs the CLI fills; results come back as the JSON documents of ../shared/docs/CLI.md (as
// dicts); user errors raise ValueError, naming options as keywords (max_num_seqs=).
//
//   import apex
//   r = apex.simulate(model="llama-3.1-70b", gpu="h100-sxm", tp=8, rate=2, num_requests=200,
//                     prompt_len=1024, output_len=256)
//   r["metrics"]["ttft_s"]["p99"]
//   plans = apex.search(model="llama-3.1-70b", gpu="h100-sxm", trace="@sample", objective="tpot")
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "api/api.h"
#include "api/options.h"
#include "core/error.h"
#include "core/json_util.h"
#include "core/option_ref.h"
#include "model/registry.h"
#include "sim/engine.h"

namespace py = pybind11;

namespace {

[[noreturn]] void raise(const std::string& message) {
  throw py::value_error("apex: " + apex::api::render_for_python(message));
}

// The keyword arguments of `command`, in table order.
std::vector<std::string> keywords(apex::api::Command command) {
  std::vector<std::string> out;
  for (const auto* s : apex::api::options_of(command)) {
    if (!s->cli_only) out.emplace_back(s->name);
  }
  return out;
}

apex::api::Value to_value(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>();
  if (py::isinstance<py::int_>(v)) return v.cast<std::int64_t>();
  if (py::isinstance<py::float_>(v)) return v.cast<double>();
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  raise(fmt::format("{}: expected a bool, int, float or str, got {}", apex::opt(key),
                    py::str(py::type::of(v).attr("__name__")).cast<std::string>()));
}

// Keyword arguments -> the request, through the option table (None = not given).
void fill(const apex::api::Target& target, const char* function, const py::kwargs& kwargs) {
  const apex::api::Command command = target.command();
  for (const auto& [k, v] : kwargs) {
    const std::string key = py::str(k).cast<std::string>();
    const apex::api::OptionSpec* spec = apex::api::find_option(command, key);
    if (spec == nullptr || spec->cli_only) {
      const std::vector<std::string> names = keywords(command);
      raise(fmt::format(
          "{} (see help(apex.{}))",
          apex::unknown_name_message(fmt::format("keyword argument of apex.{}()", function), key, names),
          function));
    }
    if (v.is_none()) continue;
    try {
      apex::api::apply(*spec, to_value(key, v), target);
    } catch (const py::cast_error&) {
      raise(fmt::format("{}: {} is out of range", apex::opt(key), py::repr(v).cast<std::string>()));
    }
  }
}

// nlohmann::json -> Python objects (dict, list, str, int, float, bool, None).
py::object to_python(const apex::Json& j) {
  switch (j.type()) {
    case apex::Json::value_t::object: {
      py::dict d;
      for (const auto& [key, value] : j.items())
        d[py::str(key)] = to_python(value);
      return d;
    }
    case apex::Json::value_t::array: {
      py::list l;
      for (const auto& value : j)
        l.append(to_python(value));
      return l;
    }
    case apex::Json::value_t::string:
      return py::str(j.get<std::string>());
    case apex::Json::value_t::boolean:
      return py::bool_(j.get<bool>());
    case apex::Json::value_t::number_integer:
      return py::int_(j.get<std::int64_t>());
    case apex::Json::value_t::number_unsigned:
      return py::int_(j.get<std::uint64_t>());
    case apex::Json::value_t::number_float: {
      // As the JSON text has it: a non-finite number is null.
      const double v = j.get<double>();
      return std::isfinite(v) ? py::object(py::float_(v)) : py::none();
    }
    default:
      return py::none();
  }
}

template <typename Request, typename Run>
py::object run(const char* function, const py::kwargs& kwargs, const Run& call) {
  try {
    Request request;
    fill(apex::api::target(request), function, kwargs);
    return to_python(call(request).json());
  } catch (const apex::UserError& e) {
    raise(e.what());
  }
}

std::string doc(apex::api::Command command, const std::string& summary) {
  std::string out = summary + "\n\nKeyword arguments:\n";
  for (const auto* s : apex::api::options_of(command)) {
    if (s->cli_only) continue;
    out += fmt::format("  {}{}: {}\n", s->name,
                       s->default_text.empty() ? "" : fmt::format(" [{}]", s->default_text), s->help);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(apex, m) {
  using apex::api::Command;
  m.doc() = "APEX — LLM-serving simulator and parallel-execution planner";
  m.def(
      "simulate",
      [](const py::kwargs& kw) {
        return run<apex::api::SimulateRequest>(
            "simulate", kw, [](const apex::api::SimulateRequest& r) { return apex::api::simulate(r); });
      },
      doc(Command::Simulate,
          "Simulate one plan (tp=8, rate=2, ...). Returns the result object of CLI.md as a dict.")
          .c_str());
  m.def(
      "search",
      [](const py::kwargs& kw) {
        return run<apex::api::SearchRequest>(
            "search", kw, [](const apex::api::SearchRequest& r) { return apex::api::search(r); });
      },
      doc(Command::Search, "Search and rank every plan. Returns {best, plans, stats}.").c_str());
  m.def(
      "models", [] { return apex::model_preset_names(); }, "Model preset names.");
  m.def(
      "gpus", [] { return apex::gpu_preset_names(); }, "GPU preset names.");
  m.def(
      "engines", [] { return apex::engine_names(); }, "Engine policy names.");
}
