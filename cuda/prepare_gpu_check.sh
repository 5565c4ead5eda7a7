#!/usr/bin/env bash
# Prepares the inputs of the GPU check's transformers comparison (cuda/check_transformers.py)
# on a machine WITH Java (the GPU machine has none). Run from anywhere, after
#   mvn -B -o -DskipTests package
#
#   bash cuda/prepare_gpu_check.sh            # writes gpu-check-inputs/ at the repository root
#   INPUTS=/some/dir MAX_TOKENS=48 DOCS=2 bash cuda/prepare_gpu_check.sh
#
# What it writes into $INPUTS (git-ignored; carried to the GPU machine with the working tree):
#   models/sliced-25, sliced-35, sliced-45   the demo model pruned by `cusprun prune` (uniform,
#                                            ffn+heads, the CLI defaults) into the German +
#                                            technical + QA expert of `cusprun demo`, bf16
#   models/masked-35                         the same at 35 % with --masked (full size, zeros)
#   logits/NAME.safetensors                  input_ids I64 [total], doc_offsets I64 [docs+1],
#                                            logits F32 [total, vocab]: cusprun's logits (fp32
#                                            compute) of held-out documents, per model, with
#                                            NAME in unpruned, sliced-25/35/45, masked-35
#   manifest.json                            the models, their logits files, how they were made
# The unpruned model is not copied: the check reads data/demo-model of the working tree (the
# manifest holds its sha256, checked on the GPU machine).
#
# Scoring follows `cusprun demo`: corpora language:de, domain:technical, task:qa (score
# splits), 64 documents each, 256 tokens per document. Held-out documents: the first $DOCS of
# data/corpora/eval/expert_de_technical_qa.jsonl and of data/corpora/eval/general.jsonl with at
# least 8 tokens, cut to $MAX_TOKENS tokens (BOS first). About 50 MB in all with the defaults.
# Takes a few minutes on 2 cores (scoring ~1 min, each prune a few seconds, logits seconds).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
INPUTS="${INPUTS:-$ROOT/gpu-check-inputs}"
MAX_TOKENS="${MAX_TOKENS:-48}"
DOCS="${DOCS:-2}"
JAVA="${JAVA:-java}"
CLI_JAR="$ROOT/java/target/cusprun.jar"
BENCH_JAR="$ROOT/benchmarks/target/benchmarks.jar"
DATA="$ROOT/data"
MODEL="$DATA/demo-model"
C="$DATA/corpora"

for f in "$CLI_JAR" "$BENCH_JAR"; do
  if [ ! -f "$f" ]; then
    echo "prepare_gpu_check: $f not found; build first: mvn -B -o -DskipTests package" >&2
    exit 2
  fi
done
if ! unzip -l "$BENCH_JAR" 2>/dev/null | grep -q 'io/cusprun/bench/GpuCheckInputs.class'; then
  echo "prepare_gpu_check: $BENCH_JAR has no GpuCheckInputs; rebuild: mvn -B -o -DskipTests package" >&2
  exit 2
fi

rm -rf "$INPUTS"
mkdir -p "$INPUTS/models" "$INPUTS/logits"
INPUTS="$(cd "$INPUTS" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
started=$(date +%s)

echo "== score the demo model on the expert corpora (as cusprun demo)"
"$JAVA" -jar "$CLI_JAR" score --model "$MODEL" \
  --corpus "language:de=$C/language/de/score.jsonl" \
  --corpus "domain:technical=$C/domain/technical/score.jsonl" \
  --corpus "task:qa=$C/task/qa/score.jsonl" \
  --max-tokens 256 --docs 64 --no-progress --out "$WORK/expert.safetensors"

prune() { # NAME RATIO [extra args]
  local name=$1 ratio=$2; shift 2
  echo "== prune $name (ratio $ratio $*)"
  "$JAVA" -jar "$CLI_JAR" prune --model "$MODEL" --scores "$WORK/expert.safetensors" \
    --ratio "$ratio" --out "$INPUTS/models/$name" "$@" > "$WORK/$name.plan.txt"
  tail -n 3 "$WORK/$name.plan.txt"
}
prune sliced-25 0.25
prune sliced-35 0.35
prune sliced-45 0.45
prune masked-35 0.35 --masked

echo "== cusprun logits (fp32) of held-out documents"
"$JAVA" -cp "$BENCH_JAR:$ROOT/benchmarks/target/lib/*" io.cusprun.bench.GpuCheckInputs \
  --tokenizer "$MODEL" --max-tokens "$MAX_TOKENS" \
  --text "$C/eval/expert_de_technical_qa.jsonl:$DOCS" --text "$C/eval/general.jsonl:$DOCS" \
  --model "unpruned=$MODEL" \
  --model "sliced-25=$INPUTS/models/sliced-25" \
  --model "sliced-35=$INPUTS/models/sliced-35" \
  --model "sliced-45=$INPUTS/models/sliced-45" \
  --model "masked-35=$INPUTS/models/masked-35" \
  --out "$INPUTS/logits"

commit="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty="$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null | wc -l)"
sha="$(sha256sum "$MODEL/model.safetensors" | cut -d' ' -f1)"
cat > "$INPUTS/manifest.json" <<EOF
{
  "made_by": "cuda/prepare_gpu_check.sh",
  "commit": "$commit",
  "tracked_files_modified": $dirty,
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "expert": ["language:de", "domain:technical", "task:qa"],
  "score_settings": {"max_tokens": 256, "docs": 64},
  "heldout": {"files": ["data/corpora/eval/expert_de_technical_qa.jsonl", "data/corpora/eval/general.jsonl"],
              "docs_per_file": $DOCS, "max_tokens": $MAX_TOKENS},
  "models": [
    {"name": "unpruned",  "dir": "data/demo-model",  "relative_to": "repo",   "ratio": 0.0,  "masked": false,
     "sha256": "$sha", "logits": "logits/unpruned.safetensors"},
    {"name": "sliced-25", "dir": "models/sliced-25", "relative_to": "inputs", "ratio": 0.25, "masked": false, "logits": "logits/sliced-25.safetensors"},
    {"name": "sliced-35", "dir": "models/sliced-35", "relative_to": "inputs", "ratio": 0.35, "masked": false, "logits": "logits/sliced-35.safetensors"},
    {"name": "sliced-45", "dir": "models/sliced-45", "relative_to": "inputs", "ratio": 0.45, "masked": false, "logits": "logits/sliced-45.safetensors"},
    {"name": "masked-35", "dir": "models/masked-35", "relative_to": "inputs", "ratio": 0.35, "masked": true,  "logits": "logits/masked-35.safetensors",
     "same_as": "sliced-35"}
  ]
}
EOF
for name in sliced-25 sliced-35 sliced-45 masked-35; do
  cp "$WORK/$name.plan.txt" "$INPUTS/models/$name.plan.txt"
done
echo "== done in $(( $(date +%s) - started )) s: $INPUTS ($(du -sh "$INPUTS" | cut -f1))"
du -sh "$INPUTS"/models/* "$INPUTS"/logits | sed 's/^/   /'
