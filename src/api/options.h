// api/options.h — the one option table. Each user input is declared once here: its concept name
// (max_num_seqs), its CLI flag (--max-num-seqs), its kind, help and default text, the commands
// that take it and how it writes into a request. The table generates the CLI11 options of every
// subcommand (api/cli.h), the Python keyword arguments (python/apex_module.cpp) and the --help text;
// and it spells a concept in error messages for each front end.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/api.h"

namespace apex::api {

enum class Command : unsigned { Simulate = 1, Search = 2, Validate = 4, Calibrate = 8, List = 16 };

struct CommandInfo {
  Command command;
  std::string_view name;  // the subcommand: "simulate"
  std::string_view description;
};
const std::vector<CommandInfo>& commands();
const CommandInfo& command_info(Command c);

enum class Kind {
  Int,     // a 32-bit integer
  Int64,   // a 64-bit integer
  UInt64,  // a non-negative 64-bit integer
  Double,  // a finite number
  Text,    // a string (numbers are taken as their decimal text)
  Flag,    // present or not (Python: True/False)
  OnOff,   // on|off|true|false|1|0 (Python: a bool too)
};

// A value as a front end hands it over: CLI11 gives text (or true for a flag), Python its object.
using Value = std::variant<bool, std::int64_t, double, std::string>;

// The request an option writes into: exactly one pointer is set.
struct Target {
  SimulateRequest* simulate = nullptr;
  SearchRequest* search = nullptr;
  ValidateRequest* validate = nullptr;
  CalibrateRequest* calibrate = nullptr;
  ListRequest* list = nullptr;

  Command command() const;
  DeploymentInput& deployment() const;  // simulate or search
  WorkloadInput& workload() const;      // simulate or search
  OutputInput& output() const;          // simulate or search
  ProgressInput& progress() const;      // search, validate or calibrate
};
inline Target target(SimulateRequest& r) {
  return {.simulate = &r};
}
inline Target target(SearchRequest& r) {
  return {.search = &r};
}
inline Target target(ValidateRequest& r) {
  return {.validate = &r};
}
inline Target target(CalibrateRequest& r) {
  return {.calibrate = &r};
}
inline Target target(ListRequest& r) {
  return {.list = &r};
}

struct OptionSpec {
  std::string_view name;  // the concept: "max_num_seqs" (also the Python keyword)
  std::string_view flag;  // the CLI spelling: "--max-num-seqs", "-o,--output", or "what" (positional)
  Kind kind;
  std::string_view help;
  std::string_view default_text;  // shown in --help; empty = none shown
  unsigned commands;              // bit set of Command
  bool required = false;
  bool cli_only = false;  // not a Python keyword (the output destination)
  // Writes a value already converted to `kind` (bool, int64, double or string) into the request.
  void (*write)(const Target& t, const Value& v) = nullptr;
  bool path = false;  // a file or folder name (an empty one is refused as "an empty path")

  bool takes(Command c) const { return (commands & static_cast<unsigned>(c)) != 0; }
  std::string_view long_flag() const;  // "--output" for "-o,--output"
  bool positional() const { return !flag.starts_with("-"); }
};

const std::vector<OptionSpec>& option_table();
// The options of one command, in table (and --help) order.
std::vector<const OptionSpec*> options_of(Command c);
const OptionSpec* find_option(Command c, std::string_view name);  // nullptr when unknown
const OptionSpec* find_concept(std::string_view name);            // any command

// Converts a front end's value to the option's kind (UserError naming the option) and writes it.
void apply(const OptionSpec& spec, const Value& value, const Target& t);

// A message with opt(...) markers, as each front end spells options: "--max-num-seqs" / "max_num_seqs=".
std::string render_for_cli(std::string_view message);
// Also rewrites literal CLI spellings of known options ("--max-num-seqs") left in messages of
// modules not yet converted to opt(...).
std::string render_for_python(std::string_view message);

}  // namespace apex::api
