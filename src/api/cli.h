// api/cli.h — the CLI11 options of a subcommand, generated from the option table (api/options.h).
// Used by `apex` and `apex-mpi`: bind, parse, reject_extras, then apply into the request.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "api/options.h"

namespace apex::api {

class CliCommand {
 public:
  // Adds the subcommand `c` to `app` with every option the table gives it, or (with_options false:
  // a command line naming another subcommand, which is all CLI11 will parse) with its name and
  // description only, which is what `apex --help` lists.
  CliCommand(CLI::App& app, Command c, bool with_options = true);
  CliCommand(const CliCommand&) = delete;
  CliCommand& operator=(const CliCommand&) = delete;

  CLI::App* app() const { return app_; }
  bool parsed() const { return app_->parsed(); }
  // Unknown flags left over by CLI11: the first one, with a did-you-mean among the subcommand's flags.
  void reject_extras() const;
  // Writes every option given on the command line into the request (UserError on a bad value).
  void apply(const Target& t) const;

 private:
  struct Slot {
    const OptionSpec* spec = nullptr;
    CLI::Option* option = nullptr;
    std::string text;
    bool flag = false;
  };
  Command command_;
  CLI::App* app_ = nullptr;
  std::vector<std::unique_ptr<Slot>> slots_;  // stable addresses: CLI11 writes into them
};

}  // namespace apex::api
