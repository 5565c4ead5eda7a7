#!/usr/bin/env bash
# Runs cusprun's GGUF exports in llama.cpp (node-llama-cpp's prebuilt CPU binaries) and compares
# with cusprun: the demo model unpruned, pruned 35% uniformly and 35% per layer (German technical
# QA expert), each exported as f32, f16, bf16 and q8_0, and the uniform 35% model with its vocabulary
# trimmed to German (prune --trim-vocab), f32, tokenized and scored with its own tokenizer's ids.
# Checks identical tokenization of held-out
# documents (German and Chinese), perplexity of the same token ids within 0.1% (f32) and 1% (f16, bf16), reports q8_0,
# and prints a greedy continuation from llama.cpp. Then every test-fixture family (tiny random
# models) exported as f32 and scored on random ids in both (see fixtures.mjs).
#
# usage: benchmarks/llamacpp/check.sh [WORK_DIR]      (after: mvn -B -DskipTests package)
# exit:  0 all checks pass, 1 a check failed, 3 cannot run here (no node, no jar, npm install failed)
# env:   CUSPRUN_LLAMACPP_CACHE  where node-llama-cpp is installed (default benchmarks/llamacpp/.cache,
#                                git-ignored; the first run downloads about 83 MB from the npm registry)
#        CHECK_DOCS              held-out documents (default 16), CHECK_MAX_TOKENS tokens each (default 256)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
JAR="$ROOT/java/target/cusprun.jar"
WORK=${1:-$ROOT/java/target/llamacpp-check}
CACHE=${CUSPRUN_LLAMACPP_CACHE:-$HERE/.cache}
VERSION=3.21.1
DOCS=${CHECK_DOCS:-16}
MAX=${CHECK_MAX_TOKENS:-256}
DATA="$ROOT/data"
CORPORA="$DATA/corpora"
PROMPT="Frage: Was macht der Befehl ls?
Antwort:"

command -v node >/dev/null || { echo "check.sh: node is not on PATH" >&2; exit 3; }
[ -f "$JAR" ] || { echo "check.sh: $JAR missing; run mvn -B -DskipTests package" >&2; exit 3; }
start=$(date +%s)

mkdir -p "$CACHE" "$WORK/gguf"
installed=$(node -p "try { require('$CACHE/node_modules/node-llama-cpp/package.json').version } catch { '' }")
if [ "$installed" != "$VERSION" ]; then
    echo "installing node-llama-cpp $VERSION into $CACHE" >&2
    (cd "$CACHE" && npm i -E --omit=optional --no-audit --no-fund --loglevel=error \
        "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION" >&2) \
        || { echo "check.sh: could not install node-llama-cpp $VERSION from the npm registry" >&2; exit 3; }
fi
cp "$HERE/check.mjs" "$CACHE/check.mjs"
echo "node-llama-cpp ready: $(( $(date +%s) - start )) s" >&2

cusprun() { java -jar "$JAR" "$@"; }
EXPERT=(--corpus "language:de=$CORPORA/language/de/score.jsonl"
        --corpus "domain:technical=$CORPORA/domain/technical/score.jsonl"
        --corpus "task:qa=$CORPORA/task/qa/score.jsonl")
declare -A MODELS=([demo]="$DATA/demo-model" [uniform35]="$WORK/models/uniform35" [perlayer35]="$WORK/models/perlayer35"
                   [trimmed35]="$WORK/models/trimmed35")
# pruned models of an earlier demo model (a rebuilt checkpoint, another commit) are made again
source_sum=$(sha256sum "$DATA/demo-model/model.safetensors" | cut -d' ' -f1)
if [ "$(cat "$WORK/models/source.sha256" 2>/dev/null)" != "$source_sum" ]; then
    rm -rf "$WORK/models"
fi
# the expert's corpora scored once; the three pruned models are cut from the same scores
SCORES="$WORK/models/expert-scores.safetensors"
for m in uniform35 perlayer35 trimmed35; do
    if [ ! -f "${MODELS[$m]}/config.json" ]; then
        [ -f "$SCORES" ] || cusprun score --model "$DATA/demo-model" "${EXPERT[@]}" --docs 16 --out "$SCORES" \
            --no-progress --force >&2
        mode=$([ $m = perlayer35 ] && echo per-layer || echo uniform)
        trim=()
        [ $m = trimmed35 ] && trim=(--trim-vocab --vocab-corpus "language:de=$CORPORA/language/de/score.jsonl")
        cusprun prune --model "$DATA/demo-model" --scores "$SCORES" --ratio 0.35 --mode "$mode" ${trim[@]+"${trim[@]}"} \
            --out "${MODELS[$m]}" --force >&2
    fi
done
echo "$source_sum" > "$WORK/models/source.sha256"
echo "pruned models ready: $(( $(date +%s) - start )) s" >&2

# held-out documents: three quarters German technical QA (the expert), a quarter Chinese, so that
# the tokenizer's Chinese merges are compared too
zh=$(( DOCS / 4 ))
{ head -n $(( DOCS - zh )) "$CORPORA/eval/expert_de_technical_qa.jsonl"
  head -n "$zh" "$CORPORA/language/zh/heldout.jsonl"; } > "$WORK/documents.jsonl"
java -cp "$JAR" io.cusprun.cli.check.TokenIds "$DATA/demo-model" "$WORK/documents.jsonl" \
    "$DOCS" "$MAX" "$WORK/tokens"
# the trimmed model's own ids (its vocabulary is renumbered; the German documents keep their tokens)
java -cp "$JAR" io.cusprun.cli.check.TokenIds "${MODELS[trimmed35]}" "$WORK/documents.jsonl" \
    "$DOCS" "$MAX" "$WORK/tokens-trimmed"
echo "{" > "$WORK/cusprun.json"
ggufs=()
sep=""
for m in demo uniform35 perlayer35 trimmed35; do
    tokens=$([ $m = trimmed35 ] && echo "$WORK/tokens-trimmed" || echo "$WORK/tokens")
    r=$(cusprun eval --model "${MODELS[$m]}" --ids "$tokens/ids.jsonl" --max-length "$MAX" --stride "$MAX" --json)
    echo "$sep\"$m\": $r" >> "$WORK/cusprun.json"
    sep=","
    # f32 through the command, the other types in one JVM (same exporter, saves JVM starts)
    cusprun export --model "${MODELS[$m]}" --out "$WORK/gguf/$m-f32.gguf" --dtype f32 --force 2>&1 | sed 's/^/  /' >&2
    [ $m = trimmed35 ] && continue # f32 only: the trimmed model checks the tokenizer and the rows, not the dtypes
    java -cp "$JAR" io.cusprun.cli.check.GgufExports "${MODELS[$m]}" "$WORK/gguf/$m" f16 bf16 q8_0 2>&1 | sed 's/^/  /' >&2
    for t in f32 f16 bf16 q8_0; do
        ggufs+=("$WORK/gguf/$m-$t.gguf")
    done
done
echo "}" >> "$WORK/cusprun.json"
echo "cusprun side done: $(( $(date +%s) - start )) s" >&2

node "$CACHE/check.mjs" "$WORK/tokens/docs.json" "$MAX" "$PROMPT" "${ggufs[@]}" > "$WORK/llamacpp.jsonl"
node "$CACHE/check.mjs" "$WORK/tokens-trimmed/docs.json" "$MAX" "$PROMPT" "$WORK/gguf/trimmed35-f32.gguf" \
    >> "$WORK/llamacpp.jsonl"
node "$HERE/table.mjs" "$WORK/llamacpp.jsonl" "$WORK/cusprun.json" | tee "$WORK/table.md"
echo "demo models checked in llama.cpp: $(( $(date +%s) - start )) s" >&2

# Every fixture family (tiny random models: Llama 2, Llama 3 with llama3 RoPE scaling, Mistral,
# Qwen2 with biases, per-layer pruned Llama with biases and linear scaling), f32, on random ids.
node "$HERE/fixtures.mjs" "$ROOT/java/core/src/test/resources/fixtures" "$WORK/families"
echo "{" > "$WORK/cusprun-families.json"
: > "$WORK/llamacpp-families.jsonl"
sep=""
for dir in "$WORK"/families/*/; do
    name=$(basename "$dir")
    r=$(cusprun eval --model "$dir" --ids "$dir/ids.jsonl" --max-length 64 --stride 64 --json)
    echo "$sep\"$name\": $r" >> "$WORK/cusprun-families.json"
    sep=","
    cusprun export --model "$dir" --out "$WORK/gguf/$name-f32.gguf" --dtype f32 --force 2>&1 | sed 's/^/  /' >&2
    node "$CACHE/check.mjs" "$dir/docs.json" 64 "" "$WORK/gguf/$name-f32.gguf" >> "$WORK/llamacpp-families.jsonl"
done
echo "}" >> "$WORK/cusprun-families.json"
node "$HERE/table.mjs" "$WORK/llamacpp-families.jsonl" "$WORK/cusprun-families.json" | tee -a "$WORK/table.md"
echo "total: $(( $(date +%s) - start )) s" >&2
