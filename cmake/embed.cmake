# apex_embed(<target> <symbol> <file>...): compiles each file into a C++ source defining
#   std::string_view apex::embedded::<symbol>_<stem>()
# so that data ships inside the binary. The generated sources are rebuilt when the file changes.
function(apex_embed target)
  foreach(path IN LISTS ARGN)
    get_filename_component(stem "${path}" NAME_WE)
    string(MAKE_C_IDENTIFIER "${stem}" ident)
    set(out "${CMAKE_CURRENT_BINARY_DIR}/embedded_${ident}.cpp")
    add_custom_command(
      OUTPUT "${out}"
      COMMAND ${CMAKE_COMMAND} -DIN=${path} -DOUT=${out} -DIDENT=${ident} -P ${PROJECT_SOURCE_DIR}/cmake/embed_one.cmake
      DEPENDS "${path}" ${PROJECT_SOURCE_DIR}/cmake/embed_one.cmake
      COMMENT "Embedding ${stem}"
      VERBATIM)
    target_sources(${target} PRIVATE "${out}")
  endforeach()
endfunction()
