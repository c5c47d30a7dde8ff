#include "core/json_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/text.h"

namespace apex {

namespace {

// 1-based line:column of byte offset `byte` (0-based) in `text`.
std::string line_col(std::string_view text, std::size_t byte) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return fmt::format("{}:{}", line, col);
}

// nlohmann quotes the token it stopped at ("last read: '...'"); a huge token is cut short.
std::string shorten_quoted_tokens(std::string what) {
  const std::size_t open = what.find('\'');
  const std::size_t close = what.rfind('\'');
  if (open == std::string::npos || close <= open) return what;
  return what.substr(0, open) + quote_value(std::string_view(what).substr(open + 1, close - open - 1)) +
         what.substr(close + 1);
}

// A scanner over JSON text: positions only, no values.
struct SpanScanner {
  std::string_view t;
  std::string_view where;
  std::size_t i = 0;
  [[noreturn]] void fail(std::string_view what) const {
    throw UserError(fmt::format("{}:{}: {}", where, line_col(t, i), what));
  }
  void ws() {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t'))
      ++i;
  }
  void expect(char c) {
    ws();
    if (i >= t.size() || t[i] != c) fail(fmt::format("expected '{}'", c));
    ++i;
  }
  std::string_view string() {  // at '"': the raw contents, i past the closing quote
    expect('"');
    const std::size_t start = i;
    // The next quote not escaped (after an even run of backslashes), found with memchr: the
    // calibration's long number strings are most of its bytes.
    for (std::size_t from = i;;) {
      const void* hit = from < t.size() ? std::memchr(t.data() + from, '"', t.size() - from) : nullptr;
      if (hit == nullptr) {
        i = t.size();
        fail("unterminated string");
      }
      const auto quote = static_cast<std::size_t>(static_cast<const char*>(hit) - t.data());
      std::size_t run = quote;
      while (run > start && t[run - 1] == '\\')
        --run;
      if ((quote - run) % 2 == 0) {
        i = quote + 1;
        return t.substr(start, quote - start);
      }
      from = quote + 1;
    }
  }
  void value() {  // skips one value
    ws();
    if (i >= t.size()) fail("expected a value");
    if (t[i] == '"') {
      string();
      return;
    }
    if (t[i] != '{' && t[i] != '[') {
      while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n')
        ++i;
      return;
    }
    int depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        string();
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if ((c == '}' || c == ']') && --depth == 0) {
        ++i;
        return;
      }
      ++i;
    }
    fail("unbalanced brackets");
  }
  // Calls f(key, value span) for each member of the object at i.
  template <class F>
  void members(F&& f) {
    sequence('{', '}', [&] {
      const std::string_view key = string();
      expect(':');
      ws();
      const std::size_t start = i;
      value();
      f(key, t.substr(start, i - start));
    });
  }
  // Calls f(value span) for each element of the array at i.
  template <class F>
  void elements(F&& f) {
    sequence('[', ']', [&] {
      ws();
      const std::size_t start = i;
      value();
      f(t.substr(start, i - start));
    });
  }
  // `open`, then items separated by commas (each read by item()), then `close`.
  template <class Item>
  void sequence(char open, char close, Item&& item) {
    expect(open);
    ws();
    if (i < t.size() && t[i] == close) {
      ++i;
      return;
    }
    while (true) {
      item();
      ws();
      if (i < t.size() && t[i] == ',') {
        ++i;
        continue;
      }
      expect(close);
      return;
    }
  }
};

// nlohmann's own DOM builder with a check of every object's keys: an object that repeats a key
// is a UserError naming the key's path (nlohmann keeps the last value silently). The levels are
// reused across parses (cleared, not freed): a JSONL trace parses one small object per line.
class UniqueKeysDom {
 public:
  UniqueKeysDom(Json& result, std::string_view where) : dom_(result), where_(where) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(Json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(Json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(Json::number_float_t v, const Json::string_t& s) { return dom_.number_float(v, s); }
  bool string(Json::string_t& v) { return dom_.string(v); }
  bool binary(Json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) {
    open(false);
    return dom_.start_object(n);
  }
  bool key(Json::string_t& k) {
    Level& level = levels()[depth_ - 1];
    level.key = k;
    // Small objects (every JSONL record) are scanned; a large one is hashed.
    bool repeated = false;
    if (level.keys.size() < kScanLimit) {
      repeated = std::find(level.keys.begin(), level.keys.end(), k) != level.keys.end();
      level.keys.push_back(k);
      if (level.keys.size() == kScanLimit) level.hashed.insert(level.keys.begin(), level.keys.end());
    } else {
      repeated = !level.hashed.insert(k).second;
    }
    if (repeated) {
      throw UserError(fmt::format(
          "{}: key {} is given twice in one object (JSON would keep only the last value); remove one", where_,
          quote_value(path())));
    }
    return dom_.key(k);
  }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    open(true);
    return dom_.start_array(n);
  }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& last_token, const Exception& e) {
    return dom_.parse_error(position, last_token, e);
  }

 private:
  static constexpr std::size_t kScanLimit = 32;
  struct Level {
    bool array = false;
    std::string key;  // the member being read (objects)
    std::vector<std::string> keys;
    std::unordered_set<std::string> hashed;  // every key, once an object has kScanLimit of them
  };
  static std::vector<Level>& levels() {
    thread_local std::vector<Level> l;
    return l;
  }
  void open(bool array) {
    std::vector<Level>& l = levels();
    if (l.size() <= depth_) l.resize(depth_ + 1);
    l[depth_].array = array;
    l[depth_].keys.clear();
    l[depth_].hashed.clear();
    ++depth_;
  }
  // "text_config.num_hidden_layers", "gpus[].name": the keys down to the repeated one.
  std::string path() const {
    std::string out;
    for (std::size_t d = 0; d < depth_; ++d) {
      const Level& level = levels()[d];
      if (level.array) {
        out += "[]";
      } else {
        if (!out.empty()) out += '.';
        out += level.key;
      }
    }
    return out;
  }

  nlohmann::detail::json_sax_dom_parser<Json> dom_;
  std::string_view where_;
  std::size_t depth_ = 0;
};

}  // namespace

Json parse_json_unique_keys(std::string_view text, std::string_view where) {
  Json result;
  UniqueKeysDom dom(result, where);
  Json::sax_parse(text.begin(), text.end(), &dom);
  return result;
}

std::vector<std::pair<std::string, std::string_view>> json_member_spans(std::string_view text,
                                                                        const std::vector<std::string>& path,
                                                                        std::string_view where) {
  std::string_view object = text;
  for (const std::string& key : path) {
    std::string_view found;
    bool seen = false;
    SpanScanner s{object, where};
    s.members([&](std::string_view k, std::string_view v) {
      if (!seen && k == key) {
        found = v;
        seen = true;
      }
    });
    if (!seen) throw UserError(fmt::format("{}: no key '{}'", where, key));
    object = found;
  }
  std::vector<std::pair<std::string, std::string_view>> out;
  SpanScanner s{object, where};
  s.members([&](std::string_view k, std::string_view v) { out.emplace_back(std::string(k), v); });
  return out;
}

std::vector<std::string_view> json_array_spans(std::string_view array, std::string_view where) {
  std::vector<std::string_view> out;
  SpanScanner s{array, where};
  s.elements([&](std::string_view v) { out.push_back(v); });
  return out;
}

Json parse_json(std::string_view text, std::string_view where) {
  try {
    return parse_json_unique_keys(text, where);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    if (auto pos = what.find("syntax error"); pos != std::string::npos) what = what.substr(pos);
    // e.byte is 1-based.
    throw UserError(fmt::format("{}:{}: malformed JSON: {}", where,
                                line_col(text, e.byte > 0 ? e.byte - 1 : 0), shorten_quoted_tokens(what)));
  } catch (const Json::out_of_range& e) {
    // A number beyond the range of a double (1e400): nlohmann names the token, not its place.
    std::string what = e.what();
    std::string place;
    const std::size_t open = what.find('\''), close = what.rfind('\'');
    if (open != std::string::npos && close > open) {
      const std::string token = what.substr(open + 1, close - open - 1);
      if (const std::size_t at = text.find(token); at != std::string_view::npos && !token.empty())
        place = ":" + line_col(text, at);
      what = fmt::format("number {} is out of range", quote_value(token));
    }
    throw UserError(fmt::format("{}{}: malformed JSON: {}", where, place, what));
  }
}

JsonObjectReader::JsonObjectReader(const Json& object, std::string where)
    : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) {
    throw UserError(fmt::format("{}: expected a JSON object, found {}", where_, object_.type_name()));
  }
}

std::string JsonObjectReader::path(std::string_view key) const {
  return fmt::format("{}: '{}'", where_, key);
}

bool JsonObjectReader::has(std::string_view key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const Json& JsonObjectReader::required(std::string_view key) {
  used_.emplace(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    throw UserError(fmt::format("{}: missing required key '{}'", where_, key));
  }
  return *it;
}

const Json* JsonObjectReader::optional(std::string_view key) {
  used_.emplace(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

namespace {
double as_number(const Json& v, const std::string& where) {
  if (!v.is_number()) throw UserError(fmt::format("{} must be a number, found {}", where, v.type_name()));
  return v.get<double>();
}
}  // namespace

double JsonObjectReader::number(std::string_view key) {
  return as_number(required(key), path(key));
}

double JsonObjectReader::number_or(std::string_view key, double fallback) {
  const Json* v = optional(key);
  return v ? as_number(*v, path(key)) : fallback;
}

std::int64_t JsonObjectReader::integer(std::string_view key) {
  const double d = number(key);
  if (!(std::fabs(d) < 0x1p63)) {  // beyond int64 (converting it would be undefined)
    throw UserError(fmt::format("{} = {} is out of range", path(key), d));
  }
  if (d != static_cast<double>(static_cast<std::int64_t>(d))) {
    throw UserError(fmt::format("{} must be an integer, found {}", path(key), d));
  }
  return static_cast<std::int64_t>(d);
}

std::int64_t JsonObjectReader::integer_or(std::string_view key, std::int64_t fallback) {
  return has(key) ? integer(key) : (used_.emplace(key), fallback);
}

std::string JsonObjectReader::string(std::string_view key) {
  const Json& v = required(key);
  if (!v.is_string()) throw UserError(fmt::format("{} must be a string, found {}", path(key), v.type_name()));
  return v.get<std::string>();
}

std::string JsonObjectReader::string_or(std::string_view key, std::string fallback) {
  return has(key) ? string(key) : (used_.emplace(key), std::move(fallback));
}

bool JsonObjectReader::boolean_or(std::string_view key, bool fallback) {
  const Json* v = optional(key);
  if (!v) return fallback;
  if (!v->is_boolean())
    throw UserError(fmt::format("{} must be true or false, found {}", path(key), v->type_name()));
  return v->get<bool>();
}

void JsonObjectReader::ignore(std::initializer_list<std::string_view> keys) {
  for (auto k : keys)
    used_.emplace(k);
}

void JsonObjectReader::reject_unknown() const {
  std::vector<std::string> known(used_.begin(), used_.end());
  for (const auto& [key, value] : object_.items()) {
    if (used_.find(key) == used_.end()) {
      throw UserError(fmt::format("{}: {}", where_, unknown_name_message("key", key, known)));
    }
  }
}

}  // namespace apex
