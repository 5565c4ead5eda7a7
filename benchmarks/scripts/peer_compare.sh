#!/bin/sh
# Issue 6, item 3: cusprun's scorer against the Python hook peer, alternating processes for
# ROUNDS rounds on the same model, corpus and thread settings; prints each round's tokens/s and
# their ratio, then the score agreement. Run from the repo root after
#   mvn -B -q -o install -DskipTests
#   java -cp benchmarks/target/benchmarks.jar io.cusprun.bench.ScoringRatio small 8 1   (model, corpus, cusprun scores)
# Env: TORCH_ROOT (private unpacked python3-torch, see java/src/test/python/run_reference.sh),
#      BLAS_DIR (a directory holding an optimised libblas.so.3, e.g. Debian's libopenblas0-pthread
#      unpacked: .../usr/lib/x86_64-linux-gnu/openblas-pthread; Debian's torch otherwise runs the
#      reference BLAS), ROUNDS (default 3), DOCS (default 8). Threads: OMP_NUM_THREADS and
#      OPENBLAS_NUM_THREADS as exported by the caller, torch.set_num_threads(2) in the peer.
set -e
ROUNDS=${ROUNDS:-3}
DOCS=${DOCS:-8}
E2E=benchmarks/target/e2e
MODEL=benchmarks/target/bench-models/small
if [ -n "$TORCH_ROOT" ]; then
  PYENV="LD_LIBRARY_PATH=${BLAS_DIR:+$BLAS_DIR:}$TORCH_ROOT/usr/lib/x86_64-linux-gnu PYTHONPATH=$TORCH_ROOT/usr/lib/python3/dist-packages"
fi
for r in $(seq 1 "$ROUNDS"); do
  c=$(java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp benchmarks/target/benchmarks.jar \
        io.cusprun.bench.ScoringProbe cusprun small "$DOCS" 2 2>/dev/null | grep "pass 1:" | sed 's/.*: \([0-9.]*\) tok\/s.*/\1/')
  p=$(env $PYENV /usr/bin/python3 benchmarks/scripts/peer_hooks.py "$MODEL" "$E2E/corpus.safetensors" \
        "$E2E/peer-scores.safetensors" --passes 2 --no-forward | grep "peer pass 1" | sed 's/.*scoring \([0-9.]*\) tok\/s.*/\1/')
  echo "round $r: cusprun $c tok/s, peer $p tok/s, cusprun/peer $(echo "$c $p" | awk '{printf "%.3f", $1/$2}')"
done
env $PYENV /usr/bin/python3 benchmarks/scripts/peer_hooks.py "$MODEL" "$E2E/corpus.safetensors" \
    "$E2E/peer-scores.safetensors" --compare "$E2E/cusprun-scores.safetensors" | grep -v "^peer pass"
