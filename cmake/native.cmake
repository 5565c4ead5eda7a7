# CPU back end: libcusprun.so from native/src/*.cpp, and its ctest programs.
# Built for baseline x86-64 (never -march=native): the AVX2 / AVX-512 microkernels
# are compiled in their own files with `#pragma GCC target` and chosen at run time
# with __builtin_cpu_supports (native/src/cpu_dispatch.cpp).
find_package(OpenMP REQUIRED COMPONENTS CXX)

file(GLOB CUSPRUN_NATIVE_SOURCES CONFIGURE_DEPENDS "${CUSPRUN_ROOT}/native/src/*.cpp")
add_library(cusprun SHARED ${CUSPRUN_NATIVE_SOURCES})
target_include_directories(cusprun
  PUBLIC "${CUSPRUN_ROOT}/native/include"
  PRIVATE "${CUSPRUN_ROOT}/native/src")
target_compile_features(cusprun PUBLIC cxx_std_17)
# -fno-trapping-math lets GCC if-convert the branch-free selects of the microkernels
# (it changes no result: nothing here reads floating-point exception flags).
target_compile_options(cusprun PRIVATE -O3 -fno-trapping-math -Wall -Wextra)
target_link_libraries(cusprun PRIVATE OpenMP::OpenMP_CXX ${CMAKE_DL_LIBS})
# A CPU variant whose definition drifts from its kernel type (cusprun.h) leaves the declared
# one undefined: fail the link, not the first dlopen.
target_link_options(cusprun PRIVATE "LINKER:--no-undefined")
set_target_properties(cusprun PROPERTIES
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lib")

# ---- tests: every CPU variant against 1_naive, formulas, ranks, argument errors ----
file(GLOB CUSPRUN_NATIVE_TESTS CONFIGURE_DEPENDS "${CUSPRUN_ROOT}/native/tests/test_*.cpp")
foreach(src ${CUSPRUN_NATIVE_TESTS})
  get_filename_component(name "${src}" NAME_WE)
  add_executable(${name} "${src}")
  target_include_directories(${name} PRIVATE "${CUSPRUN_ROOT}/native/src")
  target_compile_options(${name} PRIVATE -O2 -Wall -Wextra)
  target_link_libraries(${name} PRIVATE cusprun OpenMP::OpenMP_CXX ${CMAKE_DL_LIBS})
  set(args "")
  if(name STREQUAL "test_cuda_forwarding")  # needs the two fake back ends below
    set(args $<TARGET_FILE:fake_cuda_backend> $<TARGET_FILE:fake_cuda_backend_broken>
             $<TARGET_FILE:fake_cuda_backend_wrong_version>
             $<TARGET_FILE:fake_cuda_backend_no_version>)
  endif()
  add_test(NAME native_${name} COMMAND ${name} ${args})
  set_tests_properties(native_${name} PROPERTIES ENVIRONMENT "OMP_NUM_THREADS=2" TIMEOUT 300)
endforeach()
# The public headers compiled as C99, as C callers see them.
add_executable(c_header "${CUSPRUN_ROOT}/native/tests/c_header.c")
set_target_properties(c_header PROPERTIES C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(c_header PRIVATE -Wall -Wextra -pedantic)
target_link_libraries(c_header PRIVATE cusprun)
add_test(NAME native_c_header COMMAND c_header)

# The CUDA forwarding (loader, registry, argument passing, errors) against a fake back end:
# small modules, one complete, one missing a kernel, one of another API version and one
# without a version. No GPU needed.
set(CUSPRUN_FAKE_BACKENDS fake_cuda_backend fake_cuda_backend_broken
    fake_cuda_backend_wrong_version fake_cuda_backend_no_version)
foreach(fake ${CUSPRUN_FAKE_BACKENDS})
  add_library(${fake} MODULE "${CUSPRUN_ROOT}/native/tests/fake_cuda_backend.cpp")
  target_include_directories(${fake} PRIVATE "${CUSPRUN_ROOT}/native/include")
  set_target_properties(${fake} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/test-lib")
endforeach()
target_compile_definitions(fake_cuda_backend_broken PRIVATE FAKE_BROKEN)
target_compile_definitions(fake_cuda_backend_wrong_version PRIVATE
  "FAKE_API_VERSION=(CUSPRUN_API_VERSION + 1)")
target_compile_definitions(fake_cuda_backend_no_version PRIVATE FAKE_NO_VERSION)
if(TARGET test_cuda_forwarding)
  add_dependencies(test_cuda_forwarding ${CUSPRUN_FAKE_BACKENDS})
endif()

# The variant comparison again on the baseline (SSE2) microkernels, so that path
# is covered on AVX machines too.
if(TARGET test_variants)
  add_test(NAME native_test_variants_generic_isa COMMAND test_variants)
  set_tests_properties(native_test_variants_generic_isa PROPERTIES
    ENVIRONMENT "OMP_NUM_THREADS=2;CUSPRUN_ISA=generic" TIMEOUT 300)
endif()

# A checkout without the CUDA back end's build file (e.g. this branch alone) still
# configures: CMakeLists.txt only includes cuda.cmake when this stays ON.
if(NOT EXISTS "${CMAKE_CURRENT_LIST_DIR}/cuda.cmake")
  message(STATUS "cusprun: cmake/cuda.cmake absent, CUDA back end not built")
  set(CUSPRUN_WITH_CUDA OFF)
endif()

# Stand-ins for other copies of the libraries cusprun ships, under their file names and
# sonames: each aborts when loaded (native/tests/conflicting_library.c). NativeLibrariesIT puts
# this folder on the library path of a fresh JVM with an empty JavaCPP cache.
set(CUSPRUN_CONFLICTING_LIBRARIES libtorch.so libtorch_cpu.so libc10.so libgomp.so.1
    libopenblas.so.0 libgfortran.so.5 libcusprun.so)
foreach(file ${CUSPRUN_CONFLICTING_LIBRARIES})
  string(MAKE_C_IDENTIFIER "conflicting_${file}" target)
  add_library(${target} SHARED "${CUSPRUN_ROOT}/native/tests/conflicting_library.c")
  target_compile_definitions(${target} PRIVATE "CONFLICT_NAME=\"${file}\"")
  target_link_options(${target} PRIVATE "LINKER:-soname,${file}")
  set_target_properties(${target} PROPERTIES PREFIX "" OUTPUT_NAME "${file}" SUFFIX ""
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/conflicting-lib")
endforeach()
