// validate/serving_markdown.cpp — docs/validation.md: the summary lines and tables rendered into
// data/validation_template.md, which holds all of the document's prose (the findings included).
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "validate/serving.h"

namespace apex {
namespace embedded {
std::string_view validation_template();
}  // namespace embedded

namespace {

// Short label of a row's source: the repository and the engine family, MoE rows apart.
std::string source_name(const ServingCase& c) {
  const ServingRow& r = c.row;
  std::string s = r.source.substr(0, r.source.find(' '));
  if (s.rfind("github:", 0) == 0) s = s.substr(7);
  return fmt::format("{} ({}){}", s, r.engine.substr(0, r.engine.find(" (")), is_moe_case(c) ? ", MoE" : "");
}

std::string without_last_newline(std::string s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string summary(const std::vector<ServingCase>& cases) {
  const ErrorStats all = error_stats(cases);
  std::vector<ServingCase> dense, moe;
  for (const auto& c : cases)
    (is_moe_case(c) ? moe : dense).push_back(c);
  const ErrorStats d = error_stats(dense), m = error_stats(moe);
  return fmt::format(
      "**Dense models: {} rows — median |error| {:.1f}%, p90 {:.1f}%, mean signed error {:+.1f}%.**\n\n"
      "**Mixture-of-experts models: {} rows — median |error| {:.1f}%, p90 {:.1f}%, mean signed error "
      "{:+.1f}%.**\n\n"
      "All {} simulated rows: median {:.1f}%, p90 {:.1f}%.",
      d.n, d.median * 100, d.p90 * 100, d.mean_signed * 100, m.n, m.median * 100, m.p90 * 100,
      m.mean_signed * 100, all.n, all.median * 100, all.p90 * 100);
}

std::string per_source_table(const std::vector<ServingCase>& cases) {
  std::map<std::string, std::vector<ServingCase>> by_source;
  for (const auto& c : cases) {
    if (c.simulated) by_source[source_name(c)].push_back(c);
  }
  std::string out =
      "| source | rows | median abs error | p90 abs error | mean signed error |\n|---|---|---|---|---|\n";
  for (const auto& [src, list] : by_source) {
    const ErrorStats e = error_stats(list);
    out += fmt::format("| {} | {} | {:.1f}% | {:.1f}% | {:+.1f}% |\n", src, e.n, e.median * 100, e.p90 * 100,
                       e.mean_signed * 100);
  }
  return without_last_newline(std::move(out));
}

std::string row_table(const std::vector<ServingCase>& cases) {
  std::string out =
      "| line | model | GPU | dtype | ISL/OSL | load | metric | measured | simulated | error | APEX setup |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : cases) {
    if (!c.simulated) continue;
    const auto& r = c.row;
    out += fmt::format("| {} | {} | {} ×{} | {} | {}/{} | {} | {} | {:.4g} {} | {:.4g} | {:+.1f}% | {} |\n",
                       r.line, r.model, r.gpu, r.num_gpus, r.dtype, r.input_len, r.output_len, r.load,
                       r.metric, r.value, r.unit, c.simulated_value, c.error * 100, c.setup);
  }
  return without_last_newline(std::move(out));
}

std::string skipped_table(const std::vector<ServingCase>& cases) {
  std::map<std::string, int> reasons;
  for (const auto& c : cases) {
    if (!c.simulated && !c.skip_reason.empty()) {
      std::string key = c.skip_reason;
      if (key.rfind("does not fit", 0) == 0) key = key.substr(0, key.find(':'));
      ++reasons[key];
    }
  }
  std::string out = "| rows | reason |\n|---|---|\n";
  for (const auto& [why, n] : reasons)
    out += fmt::format("| {} | {} |\n", n, why);
  return without_last_newline(std::move(out));
}

// Replaces each {{name}} of the template by its block; every block appears exactly once.
std::string fill(std::string_view tmpl, const std::map<std::string, std::string>& blocks) {
  std::string out;
  std::set<std::string> used;
  std::size_t pos = 0;
  for (auto open = tmpl.find("{{"); open != std::string_view::npos; open = tmpl.find("{{", pos)) {
    const auto close = tmpl.find("}}", open);
    if (close == std::string_view::npos) throw InternalError("validation template: '{{' without '}}'");
    const std::string name(tmpl.substr(open + 2, close - open - 2));
    const auto it = blocks.find(name);
    if (it == blocks.end()) throw InternalError(fmt::format("validation template: unknown block '{}'", name));
    if (!used.insert(name).second)
      throw InternalError(fmt::format("validation template: block '{}' appears twice", name));
    out += tmpl.substr(pos, open - pos);
    out += it->second;
    pos = close + 2;
  }
  out += tmpl.substr(pos);
  for (const auto& [name, block] : blocks) {
    if (!used.count(name))
      throw InternalError(fmt::format("validation template: block '{}' is missing", name));
  }
  return out;
}

}  // namespace

std::string serving_markdown(const std::vector<ServingCase>& cases, const std::string& csv_path,
                             std::string_view tmpl) {
  return fill(tmpl, {{"reference", csv_path},
                     {"summary", summary(cases)},
                     {"per_source_table", per_source_table(cases)},
                     {"row_table", row_table(cases)},
                     {"skipped_table", skipped_table(cases)}});
}

std::string serving_markdown(const std::vector<ServingCase>& cases, const std::string& csv_path) {
  return serving_markdown(cases, csv_path, embedded::validation_template());
}

}  // namespace apex
