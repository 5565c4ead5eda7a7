# cmake -DCLANG_FORMAT=<exe> -DROOT=<repository> [-DAPPLY=ON] -P clang_format_run.cmake
# Checks (or, with APPLY, rewrites) every C++/CUDA file under native/ and cuda/ against
# the repository's .clang-format. Used by cmake/clang_format.cmake.
file(GLOB_RECURSE _files LIST_DIRECTORIES false
  "${ROOT}/native/*.h" "${ROOT}/native/*.c" "${ROOT}/native/*.cpp" "${ROOT}/native/*.inc"
  "${ROOT}/cuda/*.h" "${ROOT}/cuda/*.cpp" "${ROOT}/cuda/*.cu" "${ROOT}/cuda/*.cuh")
list(SORT _files)
if(APPLY)
  execute_process(COMMAND "${CLANG_FORMAT}" --style=file -i ${_files} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "clang-format -i failed (${_rc})")
  endif()
  return()
endif()
execute_process(COMMAND "${CLANG_FORMAT}" --style=file --dry-run --Werror ${_files}
                RESULT_VARIABLE _rc ERROR_VARIABLE _err)
list(LENGTH _files _n)
if(NOT _rc EQUAL 0)
  string(REGEX MATCHALL "[^\n]*: error: code should be clang-formatted[^\n]*" _bad "${_err}")
  set(_where "")
  foreach(_b ${_bad})
    string(REGEX REPLACE ":[0-9]+:[0-9]+: error:.*" "" _f "${_b}")
    file(RELATIVE_PATH _f "${ROOT}" "${_f}")
    list(APPEND _where "${_f}")
  endforeach()
  list(REMOVE_DUPLICATES _where)
  string(REPLACE ";" ", " _where "${_where}")
  string(SUBSTRING "${_err}" 0 3000 _head)  # the first diagnostics show what drifted
  message("${_head}")
  message(FATAL_ERROR "clang_format: not formatted as .clang-format says: ${_where}. "
          "Fix with: cmake --build <build dir> --target clang_format_apply")
endif()
message("clang_format: ${_n} files formatted as .clang-format says (${CLANG_FORMAT})")
