// fuzz/fuzz_cli.cpp — the `apex` option parser: argv (one argument per input line) → the CLI11
// subcommands generated from the option table → a request, without running it. For simulate and
// search, also what the api derives from the options alone (no file is read): the output format,
// the search options (objective, --tune grammar) and synthetic traffic.
#include <vector>

#include <CLI/CLI.hpp>

#include "api/api.h"
#include "api/cli.h"
#include "api/options.h"
#include "fuzz_common.h"

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> args{"apex"};
  std::size_t start = 0;
  while (start <= text.size() && args.size() < 64) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      if (start < text.size()) args.push_back(text.substr(start));
      break;
    }
    args.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

void derive(const apex::api::WorkloadInput& workload, const apex::api::OutputInput& output) {
  using namespace apex;
  fuzz::keep(api::resolve_format(output, false));
  if (workload.trace.empty()) {  // synthetic traffic only: a trace would be a file read
    const api::Workload w = api::build_workload(workload, /*load_all=*/false);
    fuzz::keep(w.description);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace apex;
  const std::vector<std::string> args = split_lines(fuzz::text_of(data, size));
  std::vector<char*> argv;
  for (const std::string& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));

  // Built once (the option table makes a few hundred CLI11 options; rebuilding them per input would
  // cost more than the parse). clear() resets every option and subcommand before each parse.
  struct Cli {
    CLI::App app{"apex"};
    api::CliCommand list{app, api::Command::List};
    api::CliCommand val{app, api::Command::Validate};
    api::CliCommand cal{app, api::Command::Calibrate};
    api::CliCommand sim{app, api::Command::Simulate};
    api::CliCommand srch{app, api::Command::Search};
    Cli() {
      app.require_subcommand(1);
      app.set_version_flag("--version", "apex 0.1.0");
    }
  };
  static Cli cli;
  CLI::App& app = cli.app;
  const api::CliCommand &list = cli.list, &val = cli.val, &cal = cli.cal, &sim = cli.sim, &srch = cli.srch;
  app.clear();
  api::ListRequest list_request;
  api::ValidateRequest validate_request;
  api::CalibrateRequest calibrate_request;
  api::SimulateRequest simulate_request;
  api::SearchRequest search_request;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return 0;  // CLI11's own errors (and --help/--version) end in app.exit() in `apex`
  }
  fuzz::expect_user_errors([&] {
    try {
      if (list.parsed()) list.apply(api::target(list_request));
      if (val.parsed()) val.apply(api::target(validate_request));
      if (cal.parsed()) cal.apply(api::target(calibrate_request));
      if (sim.parsed()) {
        sim.reject_extras();
        sim.apply(api::target(simulate_request));
        derive(simulate_request.workload, simulate_request.output);
      }
      if (srch.parsed()) {
        srch.reject_extras();
        srch.apply(api::target(search_request));
        fuzz::keep(api::build_search_options(search_request.search));
        derive(search_request.workload, search_request.output);
      }
    } catch (const UserError& e) {
      fuzz::keep(api::render_for_cli(e.what()));  // what `apex` prints
      throw;
    }
  });
  return 0;
}
