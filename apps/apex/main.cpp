// apps/apex/main.cpp — the `apex` command: the option table's subcommands (src/api), dispatch,
// errors to exit codes. Exit codes: 0 success, 2 user error (bad flag, file or value), 1 internal error
// or lost output (a write that failed: "could not write FILE: reason").
#include <unistd.h>

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "api/api.h"
#include "api/cli.h"
#include "api/options.h"
#include "api/output.h"
#include "core/error.h"

using namespace apex;

namespace {

// Every output goes through the checked writer (api/output.h): a lost write is exit 1, not 0.
int print(const api::TextResponse& r) {
  api::write_stdout(r.text);
  std::cerr << r.notes;
  return 0;
}

// Progress of long runs goes to stderr, on a terminal by default (api::ProgressInput).
void to_stderr(api::ProgressInput& p) {
  p.terminal = isatty(STDERR_FILENO) != 0;
  p.write = [](std::string_view text) { std::cerr << text << std::flush; };
}

// Warnings go to stderr, once each, never into the document on stdout.
void warn(const std::vector<std::string>& warnings) {
  for (const auto& w : warnings)
    std::cerr << "apex: warning: " << api::render_for_cli(w) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"APEX — LLM-serving simulator and parallel-execution planner"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "apex 0.1.0");

  api::ListRequest list_request;
  api::ValidateRequest validate_request;
  api::CalibrateRequest calibrate_request;
  api::SimulateRequest simulate_request;
  api::SearchRequest search_request;
  // A command line naming a subcommand first parses that one only, so only it needs its options
  // (building every subcommand's was a third of a short run's start-up); anything else builds all.
  const std::string_view arg1 = argc >= 2 ? std::string_view(argv[1]) : std::string_view();
  const auto named = [&] {
    for (const auto& c : api::commands()) {
      if (c.name == arg1) return true;
    }
    return false;
  }();
  const auto command = [&](api::Command c) { return !named || api::command_info(c).name == arg1; };
  const api::CliCommand list(app, api::Command::List, command(api::Command::List));
  const api::CliCommand val(app, api::Command::Validate, command(api::Command::Validate));
  const api::CliCommand cal(app, api::Command::Calibrate, command(api::Command::Calibrate));
  const api::CliCommand sim(app, api::Command::Simulate, command(api::Command::Simulate));
  const api::CliCommand srch(app, api::Command::Search, command(api::Command::Search));

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      const int code = app.exit(CLI::CallForHelp());
      api::finish_stdout();
      return code;
    } catch (const CLI::CallForAllHelp&) {
      const int code = app.exit(CLI::CallForAllHelp());
      api::finish_stdout();
      return code;
    } catch (const CLI::Success&) {
      api::write_stdout("apex 0.1.0\n");
      return 0;
    } catch (const CLI::ParseError& e) {
      // Unknown subcommand: suggest one.
      std::string msg = e.what();
      if (argc >= 2 && !named && !arg1.starts_with("-")) {
        std::vector<std::string> subs;
        for (const auto& c : api::commands())
          subs.emplace_back(c.name);
        msg = unknown_name_message("command", arg1, subs, "see `apex --help`");
      }
      std::cerr << "apex: " << msg << "\n";
      return 2;
    }
    if (list.parsed()) {
      list.reject_extras();
      list.apply(api::target(list_request));
      return print(api::list(list_request));
    }
    if (val.parsed()) {
      val.reject_extras();
      val.apply(api::target(validate_request));
      to_stderr(validate_request.progress);
      return print(api::validate(validate_request));
    }
    if (cal.parsed()) {
      cal.reject_extras();
      cal.apply(api::target(calibrate_request));
      to_stderr(calibrate_request.progress);
      return print(api::calibrate(calibrate_request));
    }
    if (sim.parsed()) {
      sim.reject_extras();
      sim.apply(api::target(simulate_request));
      const Format format = api::resolve_format(simulate_request.output, isatty(STDOUT_FILENO) != 0);
      if (!simulate_request.output.path.empty()) api::check_writable(simulate_request.output.path);
      const api::SimulateResponse r = api::simulate(simulate_request);
      warn(r.warnings);
      warn(api::output_warnings(simulate_request.output, format));
      api::write_output(simulate_request.output, r.render(format));
      return 0;
    }
    if (srch.parsed()) {
      srch.reject_extras();
      srch.apply(api::target(search_request));
      to_stderr(search_request.progress);
      const Format format = api::resolve_format(search_request.output, isatty(STDOUT_FILENO) != 0);
      if (!search_request.output.path.empty()) api::check_writable(search_request.output.path);
      const api::SearchResponse r = api::search(search_request);
      warn(r.warnings);
      warn(api::output_warnings(search_request.output, format));
      api::write_output(search_request.output, r.render(format));
      return 0;
    }
    return 2;
  } catch (const UserError& e) {
    std::cerr << "apex: " << api::render_for_cli(e.what()) << "\n";
    return 2;
  } catch (const OutputError& e) {
    std::cerr << "apex: " << e.what() << "\n";
    return 1;
  } catch (const InternalError& e) {
    std::cerr << "apex: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "apex: internal error: " << e.what() << "\n";
    return 1;
  }
}
