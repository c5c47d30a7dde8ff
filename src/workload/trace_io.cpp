// workload/trace_io.cpp — streaming CSV / JSONL trace readers with file:line errors.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"
#include "core/json_util.h"
#include "core/text.h"
#include "workload/workload.h"

namespace apex {

std::int32_t Trace::max_prompt() const {
  std::int32_t m = 0;
  for (const auto& r : requests)
    m = std::max(m, r.prompt);
  return m;
}
std::int32_t Trace::max_total() const {
  std::int32_t m = 0;
  for (const auto& r : requests)
    m = std::max(m, r.prompt + r.output);
  return m;
}
double Trace::mean_prompt() const {
  double s = 0;
  for (const auto& r : requests)
    s += r.prompt;
  return requests.empty() ? 0 : s / static_cast<double>(requests.size());
}
double Trace::mean_output() const {
  double s = 0;
  for (const auto& r : requests)
    s += r.output;
  return requests.empty() ? 0 : s / static_cast<double>(requests.size());
}
double Trace::span_seconds() const {
  if (requests.empty()) return 0;
  return ns_to_seconds(requests.back().arrival - requests.front().arrival);
}

namespace {

class VectorSource final : public RequestSource {
 public:
  explicit VectorSource(const Trace& t) : t_(t) {}
  bool next(Request& out) override {
    if (i_ >= t_.requests.size()) return false;
    out = t_.requests[i_++];
    return true;
  }

 private:
  const Trace& t_;
  std::size_t i_ = 0;
};

constexpr std::int64_t kMaxTokens = kMaxRequestTokens;
constexpr double kMaxArrivalSeconds = 1e8;  // integer-ns clock headroom (9.2e9 s) with margin

// Reads one line at a time with a bound on its length, so a file without line ends (/dev/zero)
// is an error after kMaxTraceLineBytes instead of an unbounded allocation.
class LineReader {
 public:
  LineReader(std::istream& in, const std::string& path) : in_(in), path_(path) {}
  // The next line without its '\n' (and a trailing '\r'); false at the end of the file. `line_no`
  // is the number of the line read, for the message.
  bool next(std::string& line, std::size_t line_no) {
    line.clear();
    bool any = false;
    std::streambuf* sb = in_.rdbuf();
    for (;;) {
      const int c = sb->sbumpc();
      if (c == std::char_traits<char>::eof()) break;
      any = true;
      if (c == '\n') break;
      if (line.size() >= kMaxTraceLineBytes) {
        throw UserError(
            fmt::format("{}:{}: line is longer than the limit of {} MiB; a trace line is one request", path_,
                        line_no, kMaxTraceLineBytes >> 20));
      }
      line.push_back(static_cast<char>(c));
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return any;
  }

 private:
  std::istream& in_;
  const std::string& path_;
};

// nlohmann's message with the token it quotes cut short (a 5 MB string is not echoed back).
std::string json_message(const std::exception& e) {
  const std::string what = e.what();
  const std::size_t open = what.find('\''), close = what.rfind('\'');
  if (open == std::string::npos || close <= open) return what;
  return what.substr(0, open) + quote_value(std::string_view(what).substr(open + 1, close - open - 1)) +
         what.substr(close + 1);
}

// Shared validation for every reader: ids, positive lengths, monotonic non-negative arrivals.
class Validator {
 public:
  explicit Validator(std::string path) : path_(std::move(path)) {}
  Request make(std::size_t line, double arrival_s, std::int64_t prompt, std::int64_t output) {
    auto where = [&] { return fmt::format("{}:{}", path_, line); };
    if (!std::isfinite(arrival_s) || arrival_s < 0) {
      throw UserError(fmt::format(
          "{}: arrival time {} is negative; arrivals are seconds from the trace start", where(), arrival_s));
    }
    if (arrival_s > kMaxArrivalSeconds) {
      throw UserError(
          fmt::format("{}: arrival time {} s is beyond the simulated horizon of {:.0f} s (about 3 years)",
                      where(), arrival_s, kMaxArrivalSeconds));
    }
    if (prompt <= 0)
      throw UserError(fmt::format("{}: prompt length must be at least 1 token, got {}", where(), prompt));
    if (output <= 0)
      throw UserError(fmt::format("{}: output length must be at least 1 token, got {}", where(), output));
    if (prompt > kMaxTokens || output > kMaxTokens) {
      throw UserError(fmt::format("{}: token count {} is implausibly large (the limit is {} tokens)", where(),
                                  std::max(prompt, output), kMaxTokens));
    }
    const TimeNs t = seconds_to_ns(arrival_s);
    if (t < last_) {
      throw UserError(
          fmt::format("{}: arrival {:.6f} s is earlier than the previous request's {:.6f} s; "
                      "traces must be sorted by arrival time",
                      where(), arrival_s, ns_to_seconds(last_)));
    }
    last_ = t;
    return Request{next_id_++, t, static_cast<std::int32_t>(prompt), static_cast<std::int32_t>(output)};
  }

 private:
  std::string path_;
  TimeNs last_ = 0;
  std::uint64_t next_id_ = 0;
};

class CsvSource final : public RequestSource {
 public:
  CsvSource(std::unique_ptr<std::istream> in, std::string path, std::size_t first_line)
      : in_(std::move(in)),
        path_(std::move(path)),
        lines_(*in_, path_),
        validator_(path_),
        line_(first_line) {
    std::string header;
    while (lines_.next(header, line_ + 1)) {
      ++line_;
      if (header.rfind("\xEF\xBB\xBF", 0) == 0) header.erase(0, 3);  // UTF-8 byte-order mark
      if (!trim(header).empty()) break;
    }
    const auto cols = split_csv(header);
    header_fields_ = cols.size();
    for (std::size_t i = 0; i < cols.size(); ++i) {
      for (std::size_t k = 0; k < i; ++k) {
        if (!cols[i].empty() && cols[i] == cols[k]) {
          throw UserError(fmt::format("{}:{}: column {} appears twice in the CSV header (columns {} and {})",
                                      path_, line_, quote_value(cols[i]), k + 1, i + 1));
        }
      }
    }
    auto find = [&](std::string_view name) -> int {
      for (std::size_t i = 0; i < cols.size(); ++i) {
        if (cols[i] == name) return static_cast<int>(i);
      }
      return -1;
    };
    arrival_ = find("arrival_s");
    prompt_ = find("prompt_tokens");
    output_ = find("output_tokens");
    // Without arrival_s the trace gives lengths only (the front end gives the arrivals).
    if (prompt_ < 0 || output_ < 0) {
      std::vector<std::string> missing;
      if (arrival_ < 0) missing.emplace_back("arrival_s");
      if (prompt_ < 0) missing.emplace_back("prompt_tokens");
      if (output_ < 0) missing.emplace_back("output_tokens");
      throw UserError(
          fmt::format("{}:{}: CSV header lacks column(s) {}; expected a header "
                      "'arrival_s,prompt_tokens,output_tokens' (or 'prompt_tokens,output_tokens' for "
                      "lengths only)",
                      path_, line_, join(missing, ", ")));
    }
    ncols_ = std::max({arrival_, prompt_, output_}) + 1;
    group_ = find("prefix_group");
    prefix_ = find("prefix_tokens");
    if ((group_ < 0) != (prefix_ < 0)) {
      throw UserError(fmt::format("{}:{}: prefix sharing needs both columns prefix_group and prefix_tokens",
                                  path_, line_));
    }
  }

  bool next(Request& out) override {
    std::string text;
    while (lines_.next(text, line_ + 1)) {
      ++line_;
      if (trim(text).empty()) continue;
      const auto f = split_csv(text);
      if (static_cast<int>(f.size()) < ncols_) {
        throw UserError(fmt::format("{}:{}: expected at least {} comma-separated fields, found {}", path_,
                                    line_, ncols_, f.size()));
      }
      if (f.size() > header_fields_) {
        throw UserError(
            fmt::format("{}:{}: the row has {} comma-separated fields but the header has {} "
                        "columns (an unquoted comma in a field?)",
                        path_, line_, f.size(), header_fields_));
      }
      const auto arrival =
          arrival_ < 0 ? std::optional<double>(0.0) : parse_double(f[static_cast<std::size_t>(arrival_)]);
      const auto prompt = parse_int(f[static_cast<std::size_t>(prompt_)]);
      const auto output = parse_int(f[static_cast<std::size_t>(output_)]);
      if (!arrival) throw bad(f[static_cast<std::size_t>(arrival_)], "arrival_s");
      if (!prompt) throw bad(f[static_cast<std::size_t>(prompt_)], "prompt_tokens", "an integer");
      if (!output) throw bad(f[static_cast<std::size_t>(output_)], "output_tokens", "an integer");
      out = validator_.make(line_, *arrival, *prompt, *output);
      if (group_ >= 0) read_prefix(f, out);
      return true;
    }
    return false;
  }
  bool has_arrivals() const override { return arrival_ >= 0; }

 private:
  // Optional prefix columns: both empty (no shared prefix) or a group id >= 0 and a token count
  // within the prompt.
  void read_prefix(const std::vector<std::string_view>& f, Request& out) {
    const auto g = static_cast<std::size_t>(group_), p = static_cast<std::size_t>(prefix_);
    const std::string_view gs = g < f.size() ? trim(f[g]) : std::string_view{};
    const std::string_view ps = p < f.size() ? trim(f[p]) : std::string_view{};
    if (gs.empty() && ps.empty()) return;
    const auto group = parse_int(gs);
    const auto prefix = parse_int(ps);
    if (!group || *group < 0) throw bad(gs, "prefix_group", "a non-negative integer");
    if (!prefix || *prefix < 0 || *prefix > out.prompt) {
      throw UserError(
          fmt::format("{}:{}: prefix_tokens {} must be an integer between 0 and the prompt length {}", path_,
                      line_, quote_value(ps), out.prompt));
    }
    // A group is one shared prefix: every request of it must declare the same length.
    const auto [it, fresh] = group_prefix_.try_emplace(*group, GroupPrefix{*prefix, line_});
    if (!fresh && it->second.tokens != *prefix) {
      throw UserError(fmt::format(
          "{}:{}: prefix_group {} has prefix_tokens {} here but {} at line {}; a group shares one "
          "prefix, so its length must be the same on every row",
          path_, line_, *group, *prefix, it->second.tokens, it->second.line));
    }
    out.prefix_group = *group;
    out.prefix = static_cast<std::int32_t>(*prefix);
  }
  UserError bad(std::string_view value, std::string_view column, std::string_view kind = "a number") const {
    return UserError(fmt::format("{}:{}: {} {} is not {}", path_, line_, column, quote_value(value), kind));
  }
  struct GroupPrefix {
    std::int64_t tokens;
    std::size_t line;  // where the group was first seen
  };
  std::unique_ptr<std::istream> in_;
  std::string path_;
  LineReader lines_;
  Validator validator_;
  std::size_t line_ = 0;
  std::size_t header_fields_ = 0;
  std::unordered_map<std::int64_t, GroupPrefix> group_prefix_;
  int arrival_ = -1, prompt_ = -1, output_ = -1, ncols_ = 0;
  int group_ = -1, prefix_ = -1;  // optional prefix-sharing columns
};

class JsonlSource final : public RequestSource {
 public:
  JsonlSource(std::unique_ptr<std::istream> in, std::string path, std::size_t first_line)
      : in_(std::move(in)),
        path_(std::move(path)),
        lines_(*in_, path_),
        validator_(path_),
        line_(first_line) {}

  bool next(Request& out) override {
    std::string text;
    while (lines_.next(text, line_ + 1)) {
      ++line_;
      if (trim(text).empty()) continue;
      const std::string where = fmt::format("{}:{}", path_, line_);
      Json j;
      try {
        j = parse_json_unique_keys(text, where);
      } catch (const Json::parse_error& e) {
        throw UserError(fmt::format("{}: malformed JSON line: {}", where, json_message(e)));
      } catch (const Json::out_of_range& e) {  // a number beyond a double (1e400)
        throw UserError(fmt::format("{}: malformed JSON line: {}", where, json_message(e)));
      }
      if (!j.is_object()) throw UserError(fmt::format("{}: expected one JSON object per line", where));
      auto field = [&](std::string_view key) -> double {
        auto it = j.find(key);
        if (it == j.end() || !it->is_number()) {
          throw UserError(
              fmt::format("{}: missing numeric key '{}' (APEX JSONL needs StartTimeOffset [ns], "
                          "ContextTokens, GeneratedTokens)",
                          where, key));
        }
        return it->get<double>();
      };
      const double start_ns = field("StartTimeOffset");
      const double prompt = field("ContextTokens");
      const double output = field("GeneratedTokens");
      auto integral = [&](double v, std::string_view key) {
        if (v != std::floor(v))
          throw UserError(fmt::format("{}: '{}' must be an integer, got {}", where, key, v));
        if (std::fabs(v) > 1e15)
          throw UserError(fmt::format("{}: '{}' = {} is implausibly large", where, key, v));
        return static_cast<std::int64_t>(v);
      };
      out = validator_.make(line_, start_ns / kNsPerS, integral(prompt, "ContextTokens"),
                            integral(output, "GeneratedTokens"));
      return true;
    }
    return false;
  }

 private:
  std::unique_ptr<std::istream> in_;
  std::string path_;
  LineReader lines_;
  Validator validator_;
  std::size_t line_ = 0;
};

std::unique_ptr<RequestSource> open_stream(std::unique_ptr<std::istream> in, const std::string& path) {
  // Sniff the first non-blank character after a UTF-8 byte-order mark (which editors on Windows
  // write); blank lines skipped here still count for line numbers.
  if (in->peek() == 0xEF) {
    char bom[3] = {};
    in->read(bom, 3);
    if (in->gcount() != 3 || std::string_view(bom, 3) != "\xEF\xBB\xBF") {
      in->clear();
      in->seekg(0);
    }
  }
  int c;
  std::size_t skipped_lines = 0;
  while ((c = in->peek()) != EOF && std::isspace(c)) {
    if (in->get() == '\n') ++skipped_lines;
  }
  if (c == EOF) throw UserError(fmt::format("trace '{}' is empty: it contains no requests", path));
  if (c == '{') return std::make_unique<JsonlSource>(std::move(in), path, skipped_lines);
  return std::make_unique<CsvSource>(std::move(in), path, skipped_lines);
}

}  // namespace

void scale_arrivals(Trace& trace, double factor, const std::string& where) {
  if (!(factor > 0) || !std::isfinite(factor)) {
    throw UserError(fmt::format(
        "{} must be a positive finite number (the factor the trace's rate is multiplied by), got {}", where,
        factor));
  }
  for (Request& r : trace.requests) {
    const double t = static_cast<double>(r.arrival) / factor;  // ns
    if (!(t <= kMaxArrivalSeconds * kNsPerS)) {
      throw UserError(
          fmt::format("{} {}: request #{} would arrive at {:.0f} s, beyond the simulated horizon of {:.0f} s",
                      where, factor, r.id, t / kNsPerS, kMaxArrivalSeconds));
    }
    r.arrival = static_cast<TimeNs>(std::llround(t));
  }
}

std::unique_ptr<RequestSource> source_of(const Trace& trace) {
  return std::make_unique<VectorSource>(trace);
}

std::unique_ptr<RequestSource> open_trace(const std::string& path) {
  std::error_code ec;
  namespace fs = std::filesystem;
  if (!fs::exists(path, ec)) throw UserError(fmt::format("trace '{}' does not exist", path));
  if (fs::is_directory(path, ec))
    throw UserError(fmt::format("trace '{}' is a directory, expected a file", path));
  auto in = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*in) throw UserError(fmt::format("trace '{}' cannot be read (permission denied?)", path));
  return open_stream(std::move(in), path);
}

Trace load_trace(const std::string& path) {
  auto src = open_trace(path);
  Trace t;
  t.name = path;
  t.has_arrivals = src->has_arrivals();
  Request r;
  while (src->next(r))
    t.requests.push_back(r);
  if (t.requests.empty()) throw UserError(fmt::format("trace '{}' is empty: it contains no requests", path));
  return t;
}

Trace parse_trace_text(const std::string& text, const std::string& name);
Trace parse_trace_text(const std::string& text, const std::string& name) {
  auto src = open_stream(std::make_unique<std::istringstream>(text), name);
  Trace t;
  t.name = name;
  t.has_arrivals = src->has_arrivals();
  Request r;
  while (src->next(r))
    t.requests.push_back(r);
  return t;
}

}  // namespace apex
