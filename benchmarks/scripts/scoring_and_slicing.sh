#!/bin/sh
# The scoring and slicing measurements of benchmarks/README.md (capture overhead, hook and PyTorch
# peers, qk_neuron memory, the 1B-shape scale run, prune vs copy), one after the other, from the repo root.
# Needs: mvn -B -q -DskipTests package; for the peer TORCH_ROOT and BLAS_DIR (peer_compare.sh).
# Writes generated models under benchmarks/target/bench-models and BIG (default /tmp/cusprun-bench).
# cusprun runs with its default threads (OpenBLAS on one thread, GEMMs on the OpenMP pool):
# do not export OPENBLAS_NUM_THREADS, it switches that off.
set -e
BIG=${BIG:-/tmp/cusprun-bench}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
J="java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp benchmarks/target/benchmarks.jar io.cusprun.bench"
echo "== 1-2 capture overhead and hooks (interleaved)"
$J.ScoringRatio small ${DOCS:-8} ${ROUNDS:-5} 2>/dev/null | grep -v "^SLF4J"
echo "== 2 with --neurons"
$J.ScoringRatio small 4 ${ROUNDS:-5} benchmarks/target/e2e-neurons true 2>/dev/null | grep -v "^SLF4J"
echo "== 3 python peer"; ROUNDS=${ROUNDS:-5} benchmarks/scripts/peer_compare.sh
echo "== 3 python peer, --neurons"; ROUNDS=${ROUNDS:-5} NEURONS=1 benchmarks/scripts/peer_compare.sh
echo "== 4 qk_neuron vs materialised reference (one JVM per case)"
for T in 256 1024; do for impl in kernel reference; do $J.QkCompare $impl $T 16 4 64 3 2>/dev/null | grep RESULT; done; done
echo "== 5 scale (1B shape, 98 documents = 50,176 tokens)"; $J.RandomCheckpoint 1b "$BIG/1b" 2>/dev/null
$J.ScaleRun 1b ${SCALE_DOCS:-98} "$BIG/1b" 2>/dev/null | grep -v "^SLF4J"
echo "== 6 prune and write vs copy"; $J.PruneRun "$BIG/1b" "$BIG/out" ${PRUNE_REPS:-5} 2>/dev/null | grep -v "^SLF4J"
