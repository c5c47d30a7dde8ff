// api/cli.cpp — the option table as CLI11 options.
#include "api/cli.h"

#include <fmt/format.h>

#include "core/error.h"

namespace apex::api {
namespace {

std::string type_name(Kind k) {
  switch (k) {
    case Kind::Int:
    case Kind::Int64:
      return "INT";
    case Kind::UInt64:
      return "UINT:NONNEGATIVE";
    case Kind::Double:
      return "FLOAT";
    case Kind::Text:
    case Kind::OnOff:
      return "TEXT";
    case Kind::Flag:
      return "";
  }
  return "TEXT";
}

}  // namespace

CliCommand::CliCommand(CLI::App& app, Command c) : command_(c) {
  const CommandInfo& info = command_info(c);
  app_ = app.add_subcommand(std::string(info.name), std::string(info.description));
  for (const OptionSpec* spec : options_of(c)) {
    auto slot = std::make_unique<Slot>();
    slot->spec = spec;
    const std::string flag(spec->flag);
    const std::string help(spec->help);
    if (spec->kind == Kind::Flag) {
      slot->option = app_->add_flag(flag, slot->flag, help);
    } else {
      slot->option = app_->add_option(flag, slot->text, help)->type_name(type_name(spec->kind));
      if (!spec->default_text.empty()) slot->option->default_str(std::string(spec->default_text));
    }
    if (spec->required) slot->option->required();
    slots_.push_back(std::move(slot));
  }
  if (c == Command::Simulate || c == Command::Search) app_->allow_extras();
}

void CliCommand::reject_extras() const {
  const auto extras = app_->remaining();
  if (extras.empty()) return;
  std::vector<std::string> names;
  for (const CLI::Option* o : app_->get_options()) {
    for (const auto& n : o->get_lnames())
      names.push_back("--" + n);
  }
  for (const auto& e : extras) {
    if (e.rfind("-", 0) == 0) {
      const std::string flag = e.substr(0, e.find('='));
      std::string msg = fmt::format("unknown flag '{}' for `apex {}`", flag, app_->get_name());
      if (auto best = closest_match(flag, names); !best.empty())
        msg += fmt::format("; did you mean '{}'?", best);
      msg += fmt::format(" (see `apex {} --help`)", app_->get_name());
      throw UserError(msg);
    }
  }
  throw UserError(fmt::format("unexpected argument '{}' for `apex {}`", extras.front(), app_->get_name()));
}

void CliCommand::apply(const Target& t) const {
  APEX_ASSERT(t.command() == command_, "CLI options applied to another command's request");
  for (const auto& slot : slots_) {
    if (slot->option->count() == 0) continue;
    if (slot->spec->kind == Kind::Flag) {
      api::apply(*slot->spec, Value{slot->flag}, t);
    } else {
      api::apply(*slot->spec, Value{slot->text}, t);
    }
  }
}

}  // namespace apex::api
