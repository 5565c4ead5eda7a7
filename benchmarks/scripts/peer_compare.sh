#!/bin/sh
# Issue 6, item 3: cusprun's scorer against the Python hook peer, alternating processes for
# ROUNDS rounds on the same model, corpus and core count; prints each round's tokens/s and their
# ratio, then the score agreement. Run from the repo root after
#   mvn -B -q -o install -DskipTests
#   java -cp benchmarks/target/benchmarks.jar io.cusprun.bench.ScoringRatio small 8 1   (model, corpus, cusprun scores)
#   (NEURONS=1: ... ScoringRatio small 4 1 benchmarks/target/e2e-neurons true)
# Env: TORCH_ROOT (private unpacked python3-torch, see java/core/src/test/python/run_reference.sh),
#      BLAS_DIR (a directory holding an optimised libblas.so.3, e.g. Debian's libopenblas0-pthread
#      unpacked: .../usr/lib/x86_64-linux-gnu/openblas-pthread; Debian's torch otherwise runs the
#      reference BLAS), ROUNDS (default 3), DOCS (default 8, NEURONS=1: 4), NEURONS (1: query/key
#      and value/output neurons too), PEER_BLAS_THREADS (default 2, the peer's best on 2 idle cores).
# Threads: both get OMP_NUM_THREADS as exported; cusprun runs its default (OpenBLAS on one thread,
# GEMMs tiled on the OpenMP pool; OPENBLAS_NUM_THREADS is unset for it), the peer
# torch.set_num_threads(2) with OpenBLAS on PEER_BLAS_THREADS threads.
set -e
ROUNDS=${ROUNDS:-3}
E2E=benchmarks/target/e2e
NEU=false PEER_FLAGS=""
if [ "${NEURONS:-0}" = 1 ]; then E2E=benchmarks/target/e2e-neurons NEU=true PEER_FLAGS=--neurons; fi
DOCS=${DOCS:-$([ "$NEU" = true ] && echo 4 || echo 8)}
MODEL=benchmarks/target/bench-models/small
PYENV="OPENBLAS_NUM_THREADS=${PEER_BLAS_THREADS:-2}"
if [ -n "$TORCH_ROOT" ]; then
  PYENV="$PYENV LD_LIBRARY_PATH=${BLAS_DIR:+$BLAS_DIR:}$TORCH_ROOT/usr/lib/x86_64-linux-gnu PYTHONPATH=$TORCH_ROOT/usr/lib/python3/dist-packages"
fi
for r in $(seq 1 "$ROUNDS"); do
  c=$(env -u OPENBLAS_NUM_THREADS java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp benchmarks/target/benchmarks.jar \
        io.cusprun.bench.ScoringProbe cusprun small "$DOCS" 2 0 "$NEU" 2>/dev/null | grep "pass 1:" | sed 's/.*: \([0-9.]*\) tok\/s.*/\1/')
  p=$(env $PYENV /usr/bin/python3 benchmarks/scripts/peer_hooks.py "$MODEL" "$E2E/corpus.safetensors" \
        "$E2E/peer-scores.safetensors" --passes 2 --no-forward $PEER_FLAGS | grep "peer pass 1" | sed 's/.*scoring \([0-9.]*\) tok\/s.*/\1/')
  echo "round $r: cusprun $c tok/s, peer $p tok/s, cusprun/peer $(echo "$c $p" | awk '{printf "%.3f", $1/$2}')"
done
env $PYENV /usr/bin/python3 benchmarks/scripts/peer_hooks.py "$MODEL" "$E2E/corpus.safetensors" \
    "$E2E/peer-scores.safetensors" --compare "$E2E/cusprun-scores.safetensors" $PEER_FLAGS | grep -v "^peer pass"
