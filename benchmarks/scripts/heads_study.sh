#!/bin/sh
# The head study of docs/heads.md: the demo's expert (German + technical + QA, the bundled model
# and corpora, scored and evaluated as `cusprun demo` does) pruned by cusprun at 25/35/45 % under
# each head rule, document quantile, mode and head unit; expert/general perplexity, MC accuracy
# and the units each configuration removed. Run from the repo root after `mvn -B -DskipTests package`.
#   benchmarks/scripts/heads_study.sh [OUT]      (default OUT: heads-study; replaced)
# Writes OUT/<config>/ (compare's results.json, report and pruned models), OUT/heads.md (the
# table) and OUT/ablation.md (the head-only control, HeadAblation.java beside this script).
# About 5 min for the table and 1 for the control on 2 cores. REUSE=1 keeps finished parts.
set -e
OUT=${1:-heads-study}
JAR=${JAR:-java/target/cusprun.jar}
C=data/corpora
RATIOS=${RATIOS:-0.25,0.35,0.45}
mkdir -p "$OUT"
# config name | compare options
CONFIGS="all-docs|--head-rule all-docs
q0.90|--head-rule all-docs --doc-quantile 0.9
q0.75|--head-rule all-docs --doc-quantile 0.75
q0.50|--head-rule all-docs --doc-quantile 0.5
mean|--head-rule mean
pooled|--head-rule pooled
all-docs per-layer|--head-rule all-docs --mode per-layer
mean per-layer|--head-rule mean --mode per-layer
pooled per-layer|--head-rule pooled --mode per-layer
all-docs group|--head-rule all-docs --head-unit group
mean group|--head-rule mean --head-unit group
pooled group|--head-rule pooled --head-unit group"
echo "$CONFIGS" | while IFS='|' read -r name opts; do
    name=$(echo "$name" | tr ' ' '-')
    if [ -n "$REUSE" ] && [ -s "$OUT/$name.json" ]; then continue; fi # REUSE=1: keep finished configs
    echo "== $name: $opts" >&2
    # shellcheck disable=SC2086
    java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -jar "$JAR" compare --model data/demo-model \
        --corpus "language:de=$C/language/de/score.jsonl" \
        --corpus "domain:technical=$C/domain/technical/score.jsonl" \
        --corpus "task:qa=$C/task/qa/score.jsonl" \
        --eval-expert "$C/eval/expert_de_technical_qa.jsonl" --eval-general "$C/eval/general.jsonl" \
        --eval-mc "$C/eval/mc_de_language_continuation.jsonl" --eval-docs 40 \
        --docs 64 --max-tokens 256 --max-length 256 \
        --method cusprun --ratio "$RATIOS" $opts \
        --keep "$OUT/$name/models" --report "$OUT/$name/report" --force --json > "$OUT/$name.json"
done
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
names = ["all-docs", "q0.90", "q0.75", "q0.50", "mean", "pooled",
         "all-docs-per-layer", "mean-per-layer", "pooled-per-layer",
         "all-docs-group", "mean-group", "pooled-group"]
rows, base = [], None
for n in names:
    r = json.load(open(os.path.join(out, n + ".json")))
    base = base or r["unpruned"]
    for row in r["rows"]:
        model = os.path.join(out, n, "models", "cusprun-%02d" % round(row["ratio"] * 100))
        man = json.load(open(os.path.join(model, "cusprun-manifest.json")))
        rows.append((row["ratio"], n, r, row, man))
src = json.load(open("data/demo-model/config.json"))
def rel(x, b): return "%+.1f%%" % (100 * (x / b - 1))
def per_layer(values):  # "8" when every layer has the same, else "8,8,4,..."
    return str(values[0]) if len(set(values)) == 1 else ",".join(map(str, values))
lines = ["| ratio | rule | mode | head unit | head rule | doc quantile | achieved (blocks) | parameters | query heads per layer | KV groups per layer | FFN per layer | sigma | expert ppl | general ppl | expert MC acc |",
         "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
         "| 0.00 | unpruned | | | | | 0.000 | {:,} | {} | {} | {} | | {:.3f} | {:.3f} | {:.3f} |".format(
             base["parameters"], src["num_attention_heads"], src["num_key_value_heads"], src["intermediate_size"],
             base["expert_perplexity"], base["general_perplexity"], base["expert_acc"])]
for ratio, n, r, row, man in sorted(rows, key=lambda t: (t[0], names.index(t[1]))):
    heads = [len(l["heads_kept"]) for l in man["layers"]]
    groups = [len(l["kv_heads_kept"]) for l in man["layers"]]
    ffn = [len(l["ffn_kept"]) for l in man["layers"]]
    lines.append("| {:.2f} | {} | {} | {} | {} | {} | {:.3f} | {:,} | {} | {} | {} | {:.3f} | {:.3f} ({}) | {:.3f} ({}) | {:.3f} |".format(
        ratio, n, r["mode"], man["settings"]["head_unit"], r["head_rule"], r["doc_quantile"], row["achieved_block_ratio"],
        row["parameters"], per_layer(heads), per_layer(groups), per_layer(ffn), man.get("sigma", float("nan")),
        row["expert_perplexity"], rel(row["expert_perplexity"], base["expert_perplexity"]),
        row["general_perplexity"], rel(row["general_perplexity"], base["general_perplexity"]), row["expert_acc"]))
text = "\n".join(lines) + "\n"
open(os.path.join(out, "heads.md"), "w").write(text)
print(text, end="")
PY
if [ -n "$REUSE" ] && [ -s "$OUT/ablation.md" ]; then cat "$OUT/ablation.md"; exit 0; fi
echo "== head-only control" >&2
java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$JAR:$(dirname "$JAR")/lib/*" \
    "$(dirname "$0")/HeadAblation.java" data "$OUT/ablation" | tee "$OUT/ablation.md"
