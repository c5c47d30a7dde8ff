# Script mode: -DIN=file -DOUT=file.cpp -DIDENT=name. Splits the text into raw-string chunks
# (compilers limit the length of one string literal) and concatenates them at run time once.
file(READ "${IN}" content)
string(LENGTH "${content}" len)
set(chunks "")
set(pos 0)
while(pos LESS len)
  string(SUBSTRING "${content}" ${pos} 8000 piece)
  string(APPEND chunks "    R\"apexembed(${piece})apexembed\",\n")
  math(EXPR pos "${pos} + 8000")
endwhile()
file(WRITE "${OUT}" "// Generated from ${IN} by cmake/embed_one.cmake. Do not edit.\n#include <string>\n#include <string_view>\nnamespace apex::embedded {\nstd::string_view ${IDENT}() {\n  static const std::string text = [] {\n    const char* parts[] = {\n${chunks}    nullptr};\n    std::string s;\n    for (const char** p = parts; *p != nullptr; ++p) s += *p;\n    return s;\n  }();\n  return text;\n}\n}  // namespace apex::embedded\n")
