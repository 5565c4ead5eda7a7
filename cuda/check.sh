#!/usr/bin/env bash
# The one prepared check of the CUDA back end, for a machine with an NVIDIA GPU
# (CMake >= 3.24, nvcc, a C++17 host compiler with OpenMP, Python 3 with PyTorch
# (CUDA) and transformers; no Maven or Java).
#
#   bash cuda/prepare_gpu_check.sh          # FIRST, on a machine with Java (after
#                                           # mvn -B -o -DskipTests package): writes
#                                           # gpu-check-inputs/ (git-ignored, ~50 MB)
#   bash cuda/check.sh                      # on the GPU machine, from a copy of the
#                                           # working tree that has gpu-check-inputs/
#   OUT=/some/dir CUDA_ARCH=80 GPU_CHECK_INPUTS=/path/to/inputs bash cuda/check.sh
#
# Configures and builds cmake/ into $BUILD (default build-gpu/), runs the
# correctness tests (every CUDA variant against the CPU reference), the timing
# program, cuda/check_torch.py (the kernels through ctypes on torch tensors vs
# PyTorch eager) and cuda/check_transformers.py (the pruned checkpoints of
# $GPU_CHECK_INPUTS, default gpu-check-inputs/, loaded by transformers, logits vs
# cusprun's), and writes into $OUT (default $BUILD/results):
#   results.md  summary, PASS/FAIL counts and all tables (Markdown)
#   build.log, test.log, bench.log, torch.log, transformers.log, device.txt   raw logs
#   bench.md, torch.md, transformers.md   the tables
# Exit status: 0 when everything built and passed, 1 otherwise, 3 when no NVIDIA
# GPU is visible (nothing is built then; CHECK_WITHOUT_GPU=1 goes on anyway).
# Budget: under 8 minutes on an H200 with 16 cores: every step has a timeout
# (build 180 s, tests 75 s, timing 60 s, torch 90 s, transformers 55 s).
set -u -o pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD="${BUILD:-$ROOT/build-gpu}"
OUT="${OUT:-$BUILD/results}"
CUDA_ARCH="${CUDA_ARCH:-90}"
PYTHON="${PYTHON:-python3}"
GPU_CHECK_INPUTS="${GPU_CHECK_INPUTS:-$ROOT/gpu-check-inputs}"
export GPU_CHECK_INPUTS
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
if [ "${CHECK_WITHOUT_GPU:-0}" != 1 ] && ! nvidia-smi -L >/dev/null 2>&1 && ! ls /dev/nvidia0 >/dev/null 2>&1; then
  msg="no NVIDIA GPU visible (nvidia-smi -L failed, no /dev/nvidia0): nothing built or run. Run this on the GPU machine (CHECK_WITHOUT_GPU=1 forces the build and the steps)."
  { echo "# cusprun CUDA back end: check results"; echo; echo "overall: NOT RUN: $msg"; } > "$summary"
  echo "check.sh: $msg" >&2
  exit 3
fi
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
  timeout 75 "$BIN/cuda_test_kernels" 2>&1 | tee "$OUT/test.log"
  test_rc=${PIPESTATUS[0]}
  [ "$test_rc" -eq 0 ] || status=1

  step "timing: realistic shapes"
  timeout 60 "$BIN/cuda_bench_kernels" --out "$OUT/bench.md" 2>&1 | tee "$OUT/bench.log"
  bench_rc=${PIPESTATUS[0]}
  [ "$bench_rc" -eq 0 ] || status=1
fi

torch_rc=-1
if [ -s "$BUILD/lib/libcusprun_cuda.so" ]; then
  step "PyTorch: the kernels through ctypes on torch tensors vs eager"
  timeout 90 "$PYTHON" cuda/check_torch.py --lib "$BUILD/lib/libcusprun_cuda.so" --out "$OUT" 2>&1 | tee "$OUT/torch.log"
  torch_rc=${PIPESTATUS[0]}
  [ "$torch_rc" -eq 0 ] || status=1
else
  echo "no libcusprun_cuda.so: PyTorch step skipped" | tee "$OUT/torch.log"; status=1
fi

step "transformers: cusprun's pruned checkpoints ($GPU_CHECK_INPUTS)"
timeout 55 "$PYTHON" cuda/check_transformers.py --mode transformers --self-test --inputs "$GPU_CHECK_INPUTS" \
  --out "$OUT" 2>&1 | tee "$OUT/transformers.log"
tf_rc=${PIPESTATUS[0]}
[ "$tf_rc" -eq 0 ] || status=1

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
  for part in torch:check_torch.py transformers:check_transformers.py; do
    name=${part%%:*}; rc_var=$([ "$name" = torch ] && echo "$torch_rc" || echo "$tf_rc")
    echo
    if [ -f "$OUT/$name.md" ]; then
      echo "- $name (exit $rc_var):"; echo; cat "$OUT/$name.md"
    else
      echo "- $name (exit $rc_var): no table written ($( [ "$rc_var" = 124 ] && echo "timed out" || echo "see $name.log")):"
      echo; echo '```'; tail -n 15 "$OUT/$name.log" 2>/dev/null; echo '```'
    fi
  done
  echo
  echo "overall: $([ $status -eq 0 ] && echo PASS || echo FAIL), ${elapsed}s"
} > "$summary"
cat "$summary"
exit $status
