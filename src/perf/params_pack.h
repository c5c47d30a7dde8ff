// perf/params_pack.h — a compact binary form of fitted op parameters. The build packs
// data/calibration.json with it (apex_calpack) so that a process reads its GPU's parameters by
// copying numbers instead of lexing ~200 kB of JSON; the values are the JSON reader's, bit for bit.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "perf/params.h"

namespace apex {

// Appends `p` to `out`, and reads one back from `in` (advancing it); a malformed or truncated
// form throws InternalError naming `where` (the packed form is generated, never user input).
void pack_params(const OpParams& p, std::string& out);
OpParams unpack_params(std::string_view& in, const char* where);

// A set of (calibration key, parameters): the packed data/calibration.json.
std::string pack_param_set(const std::vector<std::pair<std::string, OpParams>>& set);
// The parameters of `key` in a packed set, or nothing when the set has no such key.
std::optional<OpParams> unpack_param_set(std::string_view packed, std::string_view key, const char* where);
// The keys of a packed set, in order.
std::vector<std::string> packed_param_keys(std::string_view packed, const char* where);

}  // namespace apex
