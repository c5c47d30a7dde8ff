// core/json_util.h — strict reading of JSON objects: required/optional keys with types,
// unknown keys rejected with "did you mean", every message naming the file and the key path.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace apex {

using Json = nlohmann::json;

// Parses text as JSON; UserError "<where>:<line>:<col>: malformed JSON: ..." on failure, and
// "<where>: key 'a.b' is given twice ..." for an object that repeats a key (nlohmann would keep
// the last one silently). Every JSON input is read through this (or parse_json_unique_keys).
Json parse_json(std::string_view text, std::string_view where);
// The duplicate-key check of parse_json alone: nlohmann's parse_error and out_of_range propagate
// for the caller to word (a JSONL trace reports them per line).
Json parse_json_unique_keys(std::string_view text, std::string_view where);

// The members of the object at `path` (keys from the top level down, e.g. {"gpus"}) of JSON
// `text`, each as its key and the exact text of its value, found by scanning (strings skipped,
// brackets matched) without parsing any value: for reading one member of a large embedded
// document. Keys are taken literally (no escapes). UserError naming `where` when the text is
// not an object along that path.
std::vector<std::pair<std::string, std::string_view>> json_member_spans(std::string_view text,
                                                                        const std::vector<std::string>& path,
                                                                        std::string_view where);

// The elements of the JSON array `array` (e.g. a span from json_member_spans), each as its exact
// text, found the same way.
std::vector<std::string_view> json_array_spans(std::string_view array, std::string_view where);

class JsonObjectReader {
 public:
  // `where` is the file name and key path shown in messages, e.g. "cluster.json: gpu".
  JsonObjectReader(const Json& object, std::string where);
  JsonObjectReader(Json&&, std::string) = delete;  // it keeps a reference: never to a temporary

  bool has(std::string_view key) const;
  const Json& required(std::string_view key);
  const Json* optional(std::string_view key);  // nullptr when absent or null

  double number(std::string_view key);
  double number_or(std::string_view key, double fallback);
  std::int64_t integer(std::string_view key);
  std::int64_t integer_or(std::string_view key, std::int64_t fallback);
  std::string string(std::string_view key);
  std::string string_or(std::string_view key, std::string fallback);
  bool boolean_or(std::string_view key, bool fallback);

  // Marks keys as known without reading them (fields APEX deliberately ignores).
  void ignore(std::initializer_list<std::string_view> keys);
  // Throws UserError for the first key that was never read/ignored, with a did-you-mean.
  void reject_unknown() const;
  std::string path(std::string_view key) const;

 private:
  const Json& object_;
  std::string where_;
  std::set<std::string, std::less<>> used_;
};

}  // namespace apex
