#!/bin/sh
# The "Models larger than memory" measurements of benchmarks/README.md, from the repo root, one
# after the other: streamed against in-memory scoring (peak RSS, tokens/s, the plan's estimate,
# score files compared byte for byte), the 8B shape streamed, and prune's peak at the 1B shape.
# Needs: mvn -B -q -DskipTests package. Writes random checkpoints under BIG (default
# /tmp/cusprun-bench): tiny 0.01 GB, deep32 2.1 GB, 1b 2.5 GB, 8b 16.1 GB (skip it with NO_8B=1).
set -e
BIG=${BIG:-/tmp/cusprun-bench}
ROUNDS=${ROUNDS:-2}
J="java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp benchmarks/target/benchmarks.jar io.cusprun.bench"
mkdir -p "$BIG"
for p in tiny deep32 1b; do $J.RandomCheckpoint $p "$BIG/$p" 2>/dev/null; done
run() { # preset mode docs
    $J.StreamRun "$1" "$2" "$3" 512 "$BIG/$1-$2.scores" - "$BIG/$1" 2>/dev/null | grep RESULT
}
echo "== the process alone (tiny model)"
run tiny memory 4; run tiny stream 4
echo "== deep32 (32 layers, fp32): memory, then streamed; the score files must be identical"
run deep32 memory 4; run deep32 stream 4
cmp "$BIG/deep32-memory.scores" "$BIG/deep32-stream.scores" && echo "deep32: score files identical"
echo "== 1b shape: alternating processes, $ROUNDS rounds"
i=0; while [ $i -lt "$ROUNDS" ]; do run 1b memory 4; run 1b stream 4; i=$((i + 1)); done
cmp "$BIG/1b-memory.scores" "$BIG/1b-stream.scores" && echo "1b: score files identical"
echo "== prune at the 1b shape (random method, 30 %): peak RSS"
rm -rf "$BIG/1b-pruned"
/usr/bin/time -f "prune peak RSS %M KB, %e s" java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -jar java/target/cusprun.jar \
    prune --model "$BIG/1b" --method random --ratio 0.3 --out "$BIG/1b-pruned" 2>&1 | tail -1
if [ -z "$NO_8B" ]; then
    echo "== 8b shape, streamed (the default budget would run it streamed too on a 24 GB machine)"
    $J.RandomCheckpoint 8b "$BIG/8b" 2>/dev/null
    run 8b stream 4
fi
