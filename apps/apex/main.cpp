// apps/apex/main.cpp — the `apex` command: parse options, dispatch, map errors to exit codes.
// Exit codes: 0 success, 2 user error (bad flag, file or value), 1 internal error.
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "core/error.h"

using namespace apex;
using namespace apex::cli;

int main(int argc, char** argv) {
  CLI::App app{"APEX — LLM-serving simulator and parallel-execution planner"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "apex 0.1.0");
  Options o;
  std::string list_what;

  CLI::App* list = app.add_subcommand("list", "List presets: models, gpus, engines, objectives");
  list->add_option("what", list_what, "models | gpus | engines | objectives");

  std::string measurements, only_gpu, calib_out = "data/calibration.json", validate_what,
                                      validate_format = "table";
  std::string reference, validate_out;
  CLI::App* val = app.add_subcommand(
      "validate",
      "Validate against measurements: `apex validate ops` (kernels), `apex validate serving` (end to end)");
  val->add_option("what", validate_what, "ops | serving")->required();
  val->add_option("--measurements", measurements, "ops: folder of per-GPU measurement folders");
  val->add_option("--reference", reference, "serving: serving_measurements.csv");
  val->add_option("-o,--output", validate_out, "serving: write the markdown report here");
  val->add_option("--gpu", only_gpu, "Only this GPU (preset name or folder name)");
  val->add_option("--format", validate_format, "table or json")->capture_default_str();
  CLI::App* cal = app.add_subcommand("calibrate", "Fit the analytical op model to measured kernel tables");
  cal->add_option("--measurements", measurements, "Folder of per-GPU measurement folders")->required();
  cal->add_option("-o,--output", calib_out, "Where to write the fitted parameters")->capture_default_str();
  int holdout = 0;
  cal->add_option("--holdout", holdout, "Fit on all rows but 1 in N and print the held-out errors instead")
      ->capture_default_str();

  CLI::App* sim = add_simulate_command(app, o);

  CLI::App* srch = add_search_command(app, o);

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
      return app.exit(CLI::CallForHelp());
    } catch (const CLI::CallForAllHelp&) {
      return app.exit(CLI::CallForAllHelp());
    } catch (const CLI::Success&) {
      std::cout << "apex 0.1.0\n";
      return 0;
    } catch (const CLI::ParseError& e) {
      // Unknown subcommand: suggest one.
      std::string msg = e.what();
      if (argc >= 2 && std::string(argv[1]).rfind("-", 0) != 0) {
        const std::vector<std::string> subs = {"list", "simulate", "search", "validate", "calibrate"};
        const std::string first = argv[1];
        if (std::find(subs.begin(), subs.end(), first) == subs.end()) {
          msg = unknown_name_message("command", first, subs, "see `apex --help`");
        }
      }
      std::cerr << "apex: " << msg << "\n";
      return 2;
    }
    if (list->parsed()) return run_list(list_what);
    if (val->parsed()) {
      if (validate_what == "serving") return run_validate_serving(reference, validate_out);
      if (validate_what != "ops") {
        const std::vector<std::string> kinds = {"ops", "serving"};
        throw UserError("apex validate: " + unknown_name_message("target", validate_what, kinds));
      }
      if (measurements.empty()) throw UserError("apex validate ops needs --measurements DIR");
      return run_validate_ops(measurements, only_gpu, validate_format);
    }
    if (cal->parsed()) return run_calibrate(measurements, calib_out, holdout);
    if (sim->parsed()) {
      reject_extras(*sim);
      return run_simulate(o, *sim);
    }
    if (srch->parsed()) {
      reject_extras(*srch);
      return run_search(o, *srch);
    }
    return 2;
  } catch (const UserError& e) {
    std::cerr << "apex: " << e.what() << "\n";
    return 2;
  } catch (const InternalError& e) {
    std::cerr << "apex: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "apex: internal error: " << e.what() << "\n";
    return 1;
  }
}
