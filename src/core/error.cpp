#include "core/error.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/text.h"

namespace apex {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(std::string_view name, std::span<const std::string> candidates) {
  std::string best;
  if (name.size() > 256) return best;  // not a typo of a name (and not worth an O(n*m) distance)
  const std::size_t limit = std::max<std::size_t>(2, (name.size() + 1) / 2);
  std::size_t best_distance = std::string::npos;
  auto same_prefix = [&](const std::string& c) {
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(name[i])) != std::tolower(static_cast<unsigned char>(c[i])))
        return false;
    }
    return true;
  };
  // What was typed is the last words of a candidate ("requests" -> "num-requests").
  auto last_words = [&](const std::string& c) {
    const std::size_t at = c.size() - name.size();
    if (name.size() < 3 || (c[at - 1] != '-' && c[at - 1] != '_')) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(name[i])) !=
          std::tolower(static_cast<unsigned char>(c[at + i])))
        return false;
    }
    return true;
  };
  for (const auto& c : candidates) {
    std::size_t d = 0;
    if (!name.empty() && c.size() > name.size() && (same_prefix(c) || last_words(c))) {
      // A candidate that starts with what was typed ("h100" -> "h100-sxm"), or ends with it as
      // whole words, is a strong hint.
      d = 1;  // the lengths differ, so the distance is at least 1
    } else {
      // The distance is at least the difference in length: a candidate that cannot come within
      // the limit, or beat the best so far, is not worth the O(n*m) distance.
      const std::size_t gap = name.size() > c.size() ? name.size() - c.size() : c.size() - name.size();
      if (gap > limit || gap >= best_distance) continue;
      d = edit_distance(name, c);
    }
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best_distance <= limit ? best : std::string{};
}

std::string join(std::span<const std::string> items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string unknown_name_message(std::string_view what, std::string_view name,
                                 std::span<const std::string> candidates, std::string_view hint) {
  std::string msg = fmt::format("unknown {} {}", what, quote_value(name));
  if (auto best = closest_match(name, candidates); !best.empty()) {
    msg += fmt::format("; did you mean '{}'?", best);
  }
  if (!candidates.empty() && candidates.size() <= 24) {
    msg += fmt::format(" valid: {}", join(candidates, ", "));
  }
  if (!hint.empty()) msg += fmt::format(" ({})", hint);
  return msg;
}

std::string_view source_relative_path(std::string_view file) {
  // The top-level folders of the source tree that hold code; the rightmost one in the path is
  // the tree's (a checkout may itself live under a folder named src/).
  static constexpr std::string_view kTops[] = {"src/", "tests/", "apps/", "python/", "fuzz/"};
  std::size_t best = std::string_view::npos;
  for (const std::string_view top : kTops) {
    if (file.starts_with(top) && best == std::string_view::npos) best = 0;
    for (std::size_t at = file.find(top); at != std::string_view::npos; at = file.find(top, at + 1)) {
      if (at > 0 && file[at - 1] == '/' && (best == std::string_view::npos || at > best)) best = at;
    }
  }
  if (best != std::string_view::npos) return file.substr(best);
  const std::size_t slash = file.find_last_of('/');
  return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

void assertion_failed(const char* expr, const char* file, int line, const std::string& msg) {
  throw InternalError(
      fmt::format("internal error: {} ({}:{}: {})", msg, source_relative_path(file), line, expr));
}

}  // namespace apex
