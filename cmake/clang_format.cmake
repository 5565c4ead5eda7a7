# The ctest test `clang_format`: fails when a C++/CUDA file under native/ or cuda/ differs
# from what the repository's .clang-format makes of it. Formatting differs between
# clang-format releases, so the check uses one pinned release:
#   1. the npm package clang-format@${CUSPRUN_CLANG_FORMAT_NPM} (prebuilt binaries), installed
#      into <build>/tools at configure time when npm is found and it is not there yet;
#   2. else a clang-format on the PATH of the same major version;
#   3. else the test reports itself skipped, saying why.
# `cmake --build <build> --target clang_format_apply` reformats the files with the same binary.
set(CUSPRUN_CLANG_FORMAT_NPM "1.8.0")            # ships clang-format 15.0.0
set(CUSPRUN_CLANG_FORMAT_VERSION "15.0.0")
option(CUSPRUN_CLANG_FORMAT_FETCH "Install the pinned clang-format from npm into the build directory" ON)

set(_cf_tools "${CMAKE_BINARY_DIR}/tools")
set(_cf_pkg "${_cf_tools}/node_modules/clang-format")
if(CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux" AND CMAKE_HOST_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_cf_npm_bin "${_cf_pkg}/bin/linux_x64/clang-format")
elseif(CMAKE_HOST_SYSTEM_NAME STREQUAL "Darwin")
  set(_cf_npm_bin "${_cf_pkg}/bin/darwin_x64/clang-format")
else()
  set(_cf_npm_bin "")
endif()

# Sets ${out} to the version printed by `clang-format --version` ("" when it does not run).
function(_cusprun_cf_version exe out)
  execute_process(COMMAND "${exe}" --version OUTPUT_VARIABLE _v ERROR_QUIET RESULT_VARIABLE _rc
                  TIMEOUT 30)
  if(_rc EQUAL 0 AND _v MATCHES "clang-format version ([0-9]+\\.[0-9]+\\.[0-9]+)")
    set(${out} "${CMAKE_MATCH_1}" PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

set(CUSPRUN_CLANG_FORMAT "")
set(_cf_why "")  # list of reasons, reported when the check is skipped
if(_cf_npm_bin)
  set(_cf_have "")
  if(EXISTS "${_cf_pkg}/package.json")
    file(READ "${_cf_pkg}/package.json" _cf_json)
    string(JSON _cf_have ERROR_VARIABLE _cf_err GET "${_cf_json}" version)
  endif()
  if(NOT _cf_have STREQUAL CUSPRUN_CLANG_FORMAT_NPM AND NOT CUSPRUN_CLANG_FORMAT_FETCH)
    list(APPEND _cf_why "npm install disabled (CUSPRUN_CLANG_FORMAT_FETCH=OFF)")
  elseif(NOT _cf_have STREQUAL CUSPRUN_CLANG_FORMAT_NPM)
    find_program(CUSPRUN_NPM npm)
    if(CUSPRUN_NPM)
      message(STATUS "cusprun: installing clang-format@${CUSPRUN_CLANG_FORMAT_NPM} from npm into ${_cf_tools}")
      execute_process(
        COMMAND "${CUSPRUN_NPM}" install --prefix "${_cf_tools}" --no-audit --no-fund
                --loglevel=error "clang-format@${CUSPRUN_CLANG_FORMAT_NPM}"
        RESULT_VARIABLE _cf_rc OUTPUT_VARIABLE _cf_out ERROR_VARIABLE _cf_out TIMEOUT 300)
      if(NOT _cf_rc EQUAL 0)
        string(STRIP "${_cf_out}" _cf_out)
        string(REGEX REPLACE "\n.*" "" _cf_out "${_cf_out}")
        list(APPEND _cf_why "npm install clang-format@${CUSPRUN_CLANG_FORMAT_NPM} failed (${_cf_rc})")
        if(_cf_out)
          list(APPEND _cf_why "${_cf_out}")
        endif()
      endif()
    else()
      list(APPEND _cf_why "npm not found")
    endif()
  endif()
  if(EXISTS "${_cf_npm_bin}")
    _cusprun_cf_version("${_cf_npm_bin}" _cf_v)
    if(_cf_v STREQUAL CUSPRUN_CLANG_FORMAT_VERSION)
      set(CUSPRUN_CLANG_FORMAT "${_cf_npm_bin}")
    else()
      list(APPEND _cf_why "${_cf_npm_bin} reports version '${_cf_v}', not ${CUSPRUN_CLANG_FORMAT_VERSION}")
    endif()
  endif()
else()
  list(APPEND _cf_why "no prebuilt npm clang-format for ${CMAKE_HOST_SYSTEM_NAME}/${CMAKE_HOST_SYSTEM_PROCESSOR}")
endif()

if(NOT CUSPRUN_CLANG_FORMAT)
  string(REGEX MATCH "^[0-9]+" _cf_major "${CUSPRUN_CLANG_FORMAT_VERSION}")
  find_program(CUSPRUN_SYSTEM_CLANG_FORMAT NAMES clang-format-${_cf_major} clang-format)
  if(CUSPRUN_SYSTEM_CLANG_FORMAT)
    _cusprun_cf_version("${CUSPRUN_SYSTEM_CLANG_FORMAT}" _cf_v)
    if(_cf_v MATCHES "^${_cf_major}\\.")
      set(CUSPRUN_CLANG_FORMAT "${CUSPRUN_SYSTEM_CLANG_FORMAT}")
    else()
      list(APPEND _cf_why "${CUSPRUN_SYSTEM_CLANG_FORMAT} is version '${_cf_v}', not ${_cf_major}.x")
    endif()
  else()
    list(APPEND _cf_why "no clang-format ${_cf_major} on the PATH")
  endif()
endif()

if(CUSPRUN_CLANG_FORMAT)
  message(STATUS "cusprun: format check with ${CUSPRUN_CLANG_FORMAT}")
  add_test(NAME clang_format
    COMMAND "${CMAKE_COMMAND}" "-DCLANG_FORMAT=${CUSPRUN_CLANG_FORMAT}" "-DROOT=${CUSPRUN_ROOT}"
            -P "${CMAKE_CURRENT_LIST_DIR}/clang_format_run.cmake")
  add_custom_target(clang_format_apply
    COMMAND "${CMAKE_COMMAND}" "-DCLANG_FORMAT=${CUSPRUN_CLANG_FORMAT}" "-DROOT=${CUSPRUN_ROOT}"
            -DAPPLY=ON -P "${CMAKE_CURRENT_LIST_DIR}/clang_format_run.cmake"
    COMMENT "Reformatting native/ and cuda/ with ${CUSPRUN_CLANG_FORMAT}")
else()
  string(JOIN "; " _cf_why ${_cf_why})
  message(STATUS "cusprun: format check skipped: ${_cf_why}")
  add_test(NAME clang_format COMMAND "${CMAKE_COMMAND}" -E echo
    "clang_format SKIPPED: no clang-format ${CUSPRUN_CLANG_FORMAT_VERSION} (${_cf_why})")
  set_tests_properties(clang_format PROPERTIES SKIP_REGULAR_EXPRESSION "clang_format SKIPPED")
endif()
