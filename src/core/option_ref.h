// core/option_ref.h — naming a user option by its concept inside an error message.
//
// Library code does not know how the user spelled an option: `--max-num-seqs` on the command line,
// `max_num_seqs=` in Python. It writes opt("max_num_seqs") into the message instead, which emits a
// marker; each front end renders the markers with its own spelling (api::render_for_cli,
// api::render_for_python, driven by the option table of src/api/options.h):
//
//   throw UserError(fmt::format("{} must be at least 1, got {}", opt("max_num_seqs"), n));
//     apex simulate ...        ->  "--max-num-seqs must be at least 1, got 0"
//     apex.simulate(...)       ->  "max_num_seqs= must be at least 1, got 0"
//
// Header-only so that every module (sim, search, plan, ...) can use it without a new dependency.
#pragma once

#include <string>
#include <string_view>

namespace apex {

// The marker of one option concept: "@{max_num_seqs}".
inline std::string opt(std::string_view concept_name) {
  std::string s = "@{";
  s += concept_name;
  s += '}';
  return s;
}

// Replaces every marker in `text` by spell(concept); text without markers comes back unchanged.
template <typename Spell>
std::string render_option_refs(std::string_view text, const Spell& spell) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t at = text.find("@{", i);
    if (at == std::string_view::npos) break;
    const std::size_t end = text.find('}', at + 2);
    if (end == std::string_view::npos) break;
    out.append(text.substr(i, at - i));
    out += spell(text.substr(at + 2, end - at - 2));
    i = end + 1;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace apex
