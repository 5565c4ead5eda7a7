# CUDA back end: libcusprun_cuda.so (cuda/src/*.cu) and its GPU test programs
# (cuda/tests/). Included from CMakeLists.txt when nvcc is found.
#
# The library links the CUDA runtime statically and exports only cusprun_cuda_*,
# so at run time it needs just the driver (libcuda.so); libcusprun.so dlopens it
# only when a CUDA device is asked for.
#
# Architectures: real code for sm_80 (A100) and sm_90 (H100/H200) plus sm_90 PTX
# for newer GPUs. Override for fast local builds: -DCMAKE_CUDA_ARCHITECTURES=90.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  set(CMAKE_CUDA_ARCHITECTURES "80-real;90-real;90-virtual")
endif()
if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  set(CMAKE_CUDA_HOST_COMPILER "${CMAKE_CXX_COMPILER}")
endif()
enable_language(CUDA)
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)

set(CUSPRUN_CUDA_DIR "${CUSPRUN_ROOT}/cuda")
file(GLOB CUSPRUN_CUDA_SOURCES CONFIGURE_DEPENDS "${CUSPRUN_CUDA_DIR}/src/*.cu")

# Warnings: nvcc's own and the host compiler's (-Wall -Wextra). The code is clean
# with -Werror (nvcc 13.0 + g++ 12); it is opt-in (-DCUSPRUN_CUDA_WERROR=ON) so a
# newer compiler's new warning cannot break a user's or the GPU check's build.
option(CUSPRUN_CUDA_WERROR "Treat warnings in the CUDA back end as errors" OFF)
set(CUSPRUN_CUDA_WARN_FLAGS -Xcompiler=-Wall,-Wextra,-Wno-unused-parameter)
if(CUSPRUN_CUDA_WERROR)
  list(APPEND CUSPRUN_CUDA_WARN_FLAGS --Werror=all-warnings -Xcompiler=-Werror)
endif()

add_library(cusprun_cuda SHARED ${CUSPRUN_CUDA_SOURCES})
target_include_directories(cusprun_cuda
  PUBLIC "${CUSPRUN_ROOT}/native/include"
  PRIVATE "${CUSPRUN_CUDA_DIR}/src")
target_compile_options(cusprun_cuda PRIVATE
  $<$<COMPILE_LANGUAGE:CUDA>:${CUSPRUN_CUDA_WARN_FLAGS} -lineinfo --expt-relaxed-constexpr>)
target_link_options(cusprun_cuda PRIVATE
  "LINKER:--version-script=${CUSPRUN_CUDA_DIR}/src/exports.map"
  "LINKER:--exclude-libs,ALL"
  "LINKER:--no-undefined")
set_target_properties(cusprun_cuda PROPERTIES
  CUDA_RUNTIME_LIBRARY Static
  CUDA_SEPARABLE_COMPILATION OFF
  POSITION_INDEPENDENT_CODE ON
  LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lib"
  LINK_DEPENDS "${CUSPRUN_CUDA_DIR}/src/exports.map")

# ---------------------------------------------------------------- GPU tests
# Built always; they exit 77 when no device is present, which ctest reports as
# skipped (SKIP_RETURN_CODE), so GPU-less machines pass. Label: gpu.
if(TARGET cusprun)
  file(GLOB CUSPRUN_CUDA_TEST_SOURCES CONFIGURE_DEPENDS "${CUSPRUN_CUDA_DIR}/tests/*.cu")
  foreach(src ${CUSPRUN_CUDA_TEST_SOURCES})
    get_filename_component(name "${src}" NAME_WE)
    add_executable(cuda_${name} "${src}")
    target_include_directories(cuda_${name} PRIVATE
      "${CUSPRUN_ROOT}/native/include" "${CUSPRUN_CUDA_DIR}/tests")
    target_compile_options(cuda_${name} PRIVATE
      $<$<COMPILE_LANGUAGE:CUDA>:${CUSPRUN_CUDA_WARN_FLAGS}>)
    target_link_libraries(cuda_${name} PRIVATE cusprun_cuda cusprun)
    set_target_properties(cuda_${name} PROPERTIES
      CUDA_RUNTIME_LIBRARY Static
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin"
      BUILD_RPATH "${CMAKE_BINARY_DIR}/lib")
  endforeach()
  if(TARGET cuda_test_kernels)
    add_test(NAME cuda_kernels_vs_cpu COMMAND cuda_test_kernels)
    set_tests_properties(cuda_kernels_vs_cpu PROPERTIES
      LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 600)
  endif()
  if(TARGET cuda_bench_kernels)
    # Quick mode: every variant runs once on small shapes (smoke test, no timing claims).
    add_test(NAME cuda_bench_smoke COMMAND cuda_bench_kernels --quick)
    set_tests_properties(cuda_bench_smoke PROPERTIES
      LABELS gpu SKIP_RETURN_CODE 77 TIMEOUT 600)
  endif()
  # The same harness on the host (g++), CPU variants standing in for CUDA ones:
  # checks the test logic itself on machines without a GPU. Label: cpu.
  add_executable(cuda_test_harness_host_mock "${CUSPRUN_CUDA_DIR}/tests/host_mock.cpp")
  target_include_directories(cuda_test_harness_host_mock PRIVATE
    "${CUSPRUN_ROOT}/native/include" "${CUSPRUN_CUDA_DIR}/tests"
    ${CMAKE_CUDA_TOOLKIT_INCLUDE_DIRECTORIES})
  target_compile_options(cuda_test_harness_host_mock PRIVATE -Wall -Wextra)
  target_link_libraries(cuda_test_harness_host_mock PRIVATE cusprun)
  set_target_properties(cuda_test_harness_host_mock PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
  add_test(NAME cuda_test_harness_host_mock COMMAND cuda_test_harness_host_mock)
  set_tests_properties(cuda_test_harness_host_mock PROPERTIES
    LABELS cpu ENVIRONMENT "OMP_NUM_THREADS=2" TIMEOUT 300)
else()
  message(STATUS "cusprun: CPU library target 'cusprun' missing, CUDA tests not built")
endif()
