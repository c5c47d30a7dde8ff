// apex_calpack IN.json OUT.cpp — the build step that packs data/calibration.json: every GPU under
// "gpus" is read with the JSON reader the calibrate command's output is checked by, packed
// (perf/params_pack.h) and written as a C++ source defining apex::embedded::calibration_packed().
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "core/error.h"
#include "core/json_util.h"
#include "perf/params.h"
#include "perf/params_pack.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: apex_calpack IN.json OUT.cpp\n";
    return 2;
  }
  try {
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) throw apex::UserError(std::string("cannot read ") + argv[1]);
    std::stringstream text;
    text << in.rdbuf();
    const std::string json = text.str();
    std::vector<std::pair<std::string, apex::OpParams>> set;
    for (const auto& [key, part] : apex::json_member_spans(json, {"gpus"}, argv[1])) {
      const apex::Json j = apex::parse_json(part, std::string(argv[1]) + ": gpus." + key);
      set.emplace_back(key, apex::params_from_json(j, "data/calibration.json: gpus." + key));
      apex::prepare_corrections(set.back().second);  // a process then skips the exps
    }
    const std::string packed = apex::pack_param_set(set);
    std::string out =
        "// Generated from data/calibration.json by apex_calpack (src/perf/calpack.cpp). Do not edit.\n";
    out +=
        "#include <string_view>\nnamespace apex::embedded {\nnamespace {\nalignas(8) const unsigned char "
        "kPacked[] = {\n";
    for (std::size_t i = 0; i < packed.size(); ++i) {
      out += std::to_string(static_cast<unsigned char>(packed[i]));
      out += (i + 1) % 32 == 0 ? ",\n" : ",";
    }
    out += "};\n}  // namespace\nstd::string_view calibration_packed() {\n";
    out +=
        "  return {reinterpret_cast<const char*>(kPacked), sizeof(kPacked)};\n}\n}  // namespace "
        "apex::embedded\n";
    std::ofstream o(argv[2], std::ios::binary);
    o << out;
    o.close();
    if (!o) {
      std::cerr << "apex_calpack: cannot write " << argv[2] << "\n";
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "apex_calpack: " << e.what() << "\n";
    return 2;
  }
}
