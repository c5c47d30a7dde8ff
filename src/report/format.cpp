#include "report/format.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "search/planner.h"
#include "sim/metrics/registry.h"

namespace apex {

std::string sig3(double x) {
  if (!std::isfinite(x)) return "n/a";
  if (x == 0) return "0";
  // Round to three significant figures first, so 9.996 counts as 10.0, not 9.996.
  const double r = std::strtod(fmt::format("{:.2e}", x).c_str(), nullptr);
  const int digits = static_cast<int>(std::floor(std::log10(std::abs(r)))) + 1;
  return fmt::format("{:.{}f}", r, std::max(0, 3 - digits));
}

std::string human_count(double x) {
  if (!std::isfinite(x)) return "n/a";
  const double a = std::abs(x);
  if (a < 1e4) return a >= 1000 ? fmt::format("{:.0f}", x) : sig3(x);
  if (a < 999.5e3) return sig3(x / 1e3) + "k";
  if (a < 999.5e6) return sig3(x / 1e6) + "M";
  return sig3(x / 1e9) + "G";
}

std::string human_duration(double s) {
  if (!std::isfinite(s)) return "n/a";
  const double a = std::abs(s);
  if (a == 0) return "0 s";
  if (a < 0.9995e-3) return sig3(s * 1e6) + " µs";
  if (a < 0.9995) return sig3(s * 1e3) + " ms";
  if (a < 599.5) return sig3(s) + " s";
  if (a < 3 * 3600) return sig3(s / 60) + " min";
  return sig3(s / 3600) + " h";
}

namespace {

std::string money(double usd) {
  if (std::abs(usd) >= 100) return fmt::format("{:.0f}", usd);
  if (std::abs(usd) >= 0.1) return fmt::format("{:.2f}", usd);
  return sig3(usd);
}

}  // namespace

std::string objective_text(Objective o, double v) {
  if (!std::isfinite(v)) return "n/a";
  switch (o) {
    case Objective::Throughput:
      return human_count(v) + " tok/s";
    case Objective::Goodput:
      return sig3(v) + " req/s";
    case Objective::Energy:
      return sig3(v) + " J/tok";
    case Objective::Cost:
      return fmt::format("${}/Mtok", money(v));
    default:  // the latency objectives, in seconds
      return human_duration(v);
  }
}

double speedup_over(Objective o, double value, double baseline) {
  const auto ok = [](double x) { return std::isfinite(x) && x > 0; };
  if (!ok(value) || !ok(baseline)) return 0;
  return higher_is_better(o) ? value / baseline : baseline / value;
}

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

namespace {

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ')
      ++i;
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ')
      ++j;
    if (j > i) {
      const std::string_view w = text.substr(i, j - i);
      // A short unit after a number stays on its line ("1.8 GiB", "11.3 s", "24 plans").
      const bool unit = !words.empty() && w.size() <= 6 &&
                        std::isdigit(static_cast<unsigned char>(words.back().back())) &&
                        (std::isalpha(static_cast<unsigned char>(w.front())) || w.front() == '%');
      if (unit) {
        words.back() = text.substr(words.back().data() - text.data(),
                                   j - static_cast<std::size_t>(words.back().data() - text.data()));
      } else {
        words.push_back(w);
      }
    }
    i = j;
  }
  return words;
}

// Greedy fill of `pieces` (each kept whole) into lines; `join` separates pieces on a line and
// `tail` ends every line but the last.
std::string fill(const std::vector<std::string>& pieces, std::size_t width, std::string_view first,
                 std::string_view rest, std::string_view tail) {
  std::string out, line(first);
  bool empty = true;
  for (const std::string& p : pieces) {
    const std::size_t need = display_width(line) + (empty ? 0 : 1) + display_width(p) + display_width(tail);
    if (!empty && need > width) {
      out += line;
      out += tail;
      out += '\n';
      line = std::string(rest);
      empty = true;
    }
    if (!empty) line += ' ';
    line += p;
    empty = false;
  }
  return out + line + '\n';
}

}  // namespace

std::string wrap(std::string_view text, std::size_t width, std::string_view first, std::string_view rest) {
  std::vector<std::string> words;
  for (std::string_view w : split_words(text))
    words.emplace_back(w);
  return fill(words, width, first, rest, "");
}

std::string wrap_command(std::string_view command, std::size_t width, std::string_view first,
                         std::string_view rest) {
  // The engines' launch commands append notes as "   # ..." comments: each goes on lines of its own.
  std::vector<std::string_view> parts;
  for (std::size_t at = command.find("   # "); at != std::string_view::npos; at = command.find("   # ")) {
    parts.push_back(command.substr(0, at));
    command.remove_prefix(at + 3);
  }
  parts.push_back(command);
  // Arguments, keeping quoted text whole and a flag with its value.
  std::vector<std::string> args;
  std::string current;
  char quote = 0;
  for (char c : parts.front()) {
    if (quote != 0) {
      current += c;
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
      current += c;
    } else if (c == ' ') {
      if (!current.empty()) args.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) args.push_back(std::move(current));
  std::vector<std::string> grouped;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.rfind("--", 0) == 0 && i + 1 < args.size() && args[i + 1].front() != '-' && args[i + 1] != "&&") {
      a += ' ';
      a += args[++i];
    }
    grouped.push_back(std::move(a));
  }
  std::string out = fill(grouped, width, first, rest, " \\");
  std::string note_first(rest), note_rest(rest);
  note_first.append("# ");
  note_rest.append("#   ");
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string_view note = parts[i];
    note.remove_prefix(std::min<std::size_t>(2, note.size()));  // "# "
    out += wrap(note, width, note_first, note_rest);
  }
  return out;
}

std::string plan_label_legend(const SearchReport& s) {
  bool ep = false, dpattn = false, knobs = false;
  for (const auto& o : s.ranked) {
    ep = ep || o.candidate.plan.ep > 1;
    dpattn = dpattn || o.candidate.plan.attn_dp;
    knobs = knobs || o.candidate.knobs.max_num_seqs || o.candidate.knobs.max_num_batched_tokens;
  }
  if (s.ranked.empty()) return {};
  std::string text =
      "dpD-tpT-ppP: D replicas behind the router, each P pipeline stages of T tensor-parallel GPUs";
  if (ep) text += "; -epE: MoE experts split over E of the T GPUs";
  if (dpattn)
    text += "; -dpattn: attention data-parallel over the T GPUs (each its own requests, full weights)";
  if (knobs) text += "; -seqsN/-tokN: tuned max_num_seqs/max_num_batched_tokens";
  return text;
}

std::vector<std::pair<std::string_view, double>> breakdown_parts(const SimResult& r) {
  std::vector<std::pair<std::string_view, double>> out;
  for (const Metric* m : metrics_in("breakdown"))
    out.emplace_back(m->key, std::get<double>(m->get(r)));
  return out;
}

double breakdown_total(const SimResult& r) {
  double total = 0;
  for (const auto& [name, s] : breakdown_parts(r))
    total += s;
  return total;
}

}  // namespace apex
