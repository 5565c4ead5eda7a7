#!/usr/bin/env bash
# The one prepared check of the CUDA back end, for a machine with an NVIDIA GPU
# (CMake >= 3.24, nvcc, a C++17 host compiler with OpenMP; no Maven or Java).
#
#   bash cuda/check.sh                      # from the repository root
#   OUT=/some/dir CUDA_ARCH=80 bash cuda/check.sh
#
# Configures and builds cmake/ into $BUILD (default build-gpu/), runs the
# correctness tests (every CUDA variant against the CPU reference) and the timing
# program, and writes into $OUT (default $BUILD/results):
#   results.md  summary, PASS/FAIL counts and the timing table (Markdown)
#   build.log, test.log, bench.log, device.txt   raw logs
# Exit status: 0 when everything built and passed, 1 otherwise.
# Budget: well under 8 minutes on an H200 with 16 cores (each step has a timeout).
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-$ROOT/build-gpu}"
OUT="${OUT:-$BUILD/results}"
CUDA_ARCH="${CUDA_ARCH:-90}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 4)}"
mkdir -p "$OUT" "$BUILD"
OUT="$(cd "$OUT" && pwd)"

if ! command -v nvcc >/dev/null 2>&1; then
  for d in /usr/local/cuda/bin /usr/local/cuda-*/bin /opt/cuda/bin; do
    if [ -x "$d/nvcc" ]; then export PATH="$d:$PATH"; break; fi
  done
fi
export CUDACXX="${CUDACXX:-$(command -v nvcc || true)}"

status=0
summary="$OUT/results.md"
step() { echo "== $*" | tee -a "$OUT/steps.log"; }
started=$(date +%s)

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "nvcc: $(${CUDACXX:-nvcc} --version 2>/dev/null | tail -n 2 | head -n 1)"
  echo "cmake: $(cmake --version | head -n 1)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1 || true
} > "$OUT/device.txt"

step "configure + build (sm_${CUDA_ARCH}, -j${JOBS})"
if [ -z "$CUDACXX" ]; then
  echo "nvcc not found" | tee "$OUT/build.log"
  status=1
else
  if ! timeout 240 bash -c "cmake -S cmake -B '$BUILD' -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_ARCHITECTURES='$CUDA_ARCH' -DCUSPRUN_WITH_CUDA=ON && \
        cmake --build '$BUILD' -j '$JOBS'" > "$OUT/build.log" 2>&1; then
    echo "BUILD FAILED (see build.log)"; tail -n 40 "$OUT/build.log"; status=1
  fi
fi
BIN="$BUILD/bin"

test_rc=-1
bench_rc=-1
if [ $status -eq 0 ]; then
  step "correctness: every CUDA variant vs the CPU reference"
  timeout 100 "$BIN/cuda_test_kernels" 2>&1 | tee "$OUT/test.log"
  test_rc=${PIPESTATUS[0]}
  [ "$test_rc" -eq 0 ] || status=1

  step "timing: realistic shapes"
  timeout 100 "$BIN/cuda_bench_kernels" --out "$OUT/bench.md" 2>&1 | tee "$OUT/bench.log"
  bench_rc=${PIPESTATUS[0]}
  [ "$bench_rc" -eq 0 ] || status=1
fi

elapsed=$(( $(date +%s) - started ))
{
  echo "# cusprun CUDA back end: check results"
  echo
  echo '```'
  cat "$OUT/device.txt"
  echo '```'
  echo
  echo "- build: $([ -s "$BIN/cuda_test_kernels" ] && echo ok || echo FAILED) (sm_${CUDA_ARCH}), $(grep -ci 'warning' "$OUT/build.log" 2>/dev/null || true) warning line(s) in build.log"
  if [ -f "$OUT/test.log" ]; then
    echo "- correctness (exit $test_rc): $(grep -c '^PASS' "$OUT/test.log") PASS, $(grep -c '^FAIL' "$OUT/test.log") FAIL"
    if grep -q '^FAIL' "$OUT/test.log"; then
      echo; echo '```'; grep '^FAIL' "$OUT/test.log" | head -n 50; echo '```'
    fi
  fi
  if [ -f "$OUT/bench.md" ]; then
    echo "- timing (exit $bench_rc):"
    echo
    cat "$OUT/bench.md"
  elif [ -f "$OUT/bench.log" ]; then
    echo "- timing (exit $bench_rc): no table written, see bench.log"
  fi
  echo
  echo "overall: $([ $status -eq 0 ] && echo PASS || echo FAIL), ${elapsed}s"
} > "$summary"
cat "$summary"
exit $status
