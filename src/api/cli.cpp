// api/cli.cpp — the option table as CLI11 options.
#include "api/cli.h"

#include <algorithm>
#include <string_view>

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

// The subcommands other than the one parsed whose options include `flag` ("--progress"), as
// "`apex search`".
std::vector<std::string> commands_taking(std::string_view flag, Command except) {
  std::vector<std::string> out;
  for (const CommandInfo& c : commands()) {
    if (c.command == except) continue;
    for (const OptionSpec* spec : options_of(c.command)) {
      if (spec->positional()) continue;
      bool match = false;
      for (std::string_view rest = spec->flag; !rest.empty() && !match;) {
        const std::size_t comma = rest.find(',');
        match = rest.substr(0, comma) == flag;
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      }
      if (match) {
        out.push_back(fmt::format("`apex {}`", c.name));
        break;
      }
    }
  }
  return out;
}

// The long flags (without dashes) of every command but `except`.
std::vector<std::string> flags_of_other_commands(Command except) {
  std::vector<std::string> out;
  for (const OptionSpec& spec : option_table()) {
    if (spec.positional() || (spec.commands & ~static_cast<unsigned>(except)) == 0) continue;
    out.emplace_back(spec.long_flag().substr(2));
  }
  return out;
}

// "a", "a and b", "a, b and c".
std::string and_list(const std::vector<std::string>& items) {
  if (items.size() <= 1) return items.empty() ? std::string() : items.front();
  const std::vector<std::string> head(items.begin(), items.end() - 1);
  return join(head, ", ") + " and " + items.back();
}

}  // namespace

CliCommand::CliCommand(CLI::App& app, Command c, bool with_options) : command_(c) {
  const CommandInfo& info = command_info(c);
  app_ = app.add_subcommand(std::string(info.name), std::string(info.description));
  for (const OptionSpec* spec : with_options ? options_of(c) : std::vector<const OptionSpec*>{}) {
    auto slot = std::make_unique<Slot>();
    slot->spec = spec;
    const std::string flag(spec->flag);
    const std::string help(spec->help);
    if (spec->kind == Kind::Flag) {
      slot->option = app_->add_flag(flag, slot->flag, help);
    } else {
      // Given twice: parsed (the last value kept), then refused by apply() with the count.
      slot->option = app_->add_option(flag, slot->text, help)
                         ->type_name(type_name(spec->kind))
                         ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      if (!spec->default_text.empty()) slot->option->default_str(std::string(spec->default_text));
    }
    if (spec->required) slot->option->required();
    slots_.push_back(std::move(slot));
  }
  app_->allow_extras();  // unknown flags are reported by reject_extras
}

void CliCommand::reject_extras() const {
  const auto extras = app_->remaining();
  if (extras.empty()) return;
  // The names without their dashes: "--progress" is not close to "--nodes" for sharing "--".
  const auto bare = [](std::string_view f) {
    return std::string(f.substr(std::min(f.find_first_not_of('-'), f.size())));
  };
  std::vector<std::string> names;
  for (const CLI::Option* o : app_->get_options()) {
    for (const auto& n : o->get_lnames())
      names.push_back(n);
  }
  for (const auto& e : extras) {
    if (e.rfind("-", 0) == 0) {
      const std::string flag = e.substr(0, e.find('='));
      const std::string here = fmt::format("`apex {}`", app_->get_name());
      std::string msg;
      if (const std::vector<std::string> others = commands_taking(flag, command_); !others.empty()) {
        // The flag of another command: a did-you-mean among this command's flags would mislead.
        msg = fmt::format("{} is an option of {}, not of {}", flag, and_list(others), here);
      } else {
        msg = fmt::format("unknown flag '{}' for {}", flag, here);
        const std::string best = closest_match(bare(flag), names);
        // A typo of another command's flag ("--progres" on simulate) is no typo of one of these.
        const std::string best_elsewhere = closest_match(bare(flag), flags_of_other_commands(command_));
        const auto distance = [&](const std::string& n) {
          return n.empty() ? std::string::npos : edit_distance(bare(flag), n);
        };
        if (!best_elsewhere.empty() && distance(best_elsewhere) < distance(best)) {
          msg += fmt::format("; '--{}' is an option of {}, not of this command", best_elsewhere,
                             and_list(commands_taking("--" + best_elsewhere, command_)));
        } else if (!best.empty()) {
          msg += fmt::format("; did you mean '--{}'?", best);
        }
      }
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
    if (slot->spec->kind != Kind::Flag && slot->option->count() > 1) {
      throw UserError(fmt::format("{} is given {} times; give it once (see `apex {} --help`)",
                                  slot->spec->long_flag(), slot->option->count(), app_->get_name()));
    }
    if (slot->spec->kind == Kind::Flag) {
      api::apply(*slot->spec, Value{slot->flag}, t);
    } else {
      api::apply(*slot->spec, Value{slot->text}, t);
    }
  }
}

}  // namespace apex::api
