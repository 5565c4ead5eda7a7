#!/usr/bin/env python3
"""Checks the invariants of data/corpora/ (standard library only; exit 1 on failure).

    python3 data/check_corpora.py

- every document has a `text` of MIN..MAX characters, no duplicates within a file;
- held-out and evaluation documents come from source units (a manual page in any
  language, a fortune file's entries) that no score split uses, and none of their
  texts is in the training corpus;
- the training corpus holds every score split and otherwise only score-side documents
  (its `source` names a score page or a fortune file; no held-out text or paragraph);
- multiple-choice items are well formed.
"""
import glob
import json
import os
import sys

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpora")
MIN_CHARS, MAX_CHARS = 200, 1500
errors = []


def load(rel):
    with open(os.path.join(HERE, rel), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def unit(source):
    """Source unit of a document: a page key for man pages (shared by all languages)."""
    pkg, rest = source.split(":", 1)
    if pkg.startswith("manpages"):
        return "man:" + rest.split("#")[0]
    return None  # fortunes: split by entry text, checked through the texts themselves


index = load_index = json.load(open(os.path.join(HERE, "index.json"), encoding="utf-8"))
score_texts, heldout_texts, score_units, heldout_units = set(), set(), set(), set()
for c in index["corpora"]:
    for split in ("score", "heldout"):
        docs = load(c[split]["path"])
        if len(docs) != c[split]["documents"]:
            errors.append(f"{c[split]['path']}: count differs from index.json")
        texts = [d["text"] for d in docs]
        if len(set(texts)) != len(texts):
            errors.append(f"{c[split]['path']}: duplicate documents")
        for d in docs:
            if not MIN_CHARS <= len(d["text"]) <= MAX_CHARS:
                errors.append(f"{c[split]['path']}: {d['source']} has {len(d['text'])} chars")
            u = unit(d["source"])
            (score_units if split == "score" else heldout_units).add(u) if u else None
            (score_texts if split == "score" else heldout_texts).add(d["text"])

for e in index["eval"]:
    for d in load(e["path"]):
        if "text" in d:
            heldout_texts.add(d["text"])
        u = unit(d["source"])
        if u:
            heldout_units.add(u)

if score_units & heldout_units:
    errors.append(f"pages in both score and held-out/eval: {sorted(score_units & heldout_units)[:5]}")
if score_texts & heldout_texts:
    errors.append(f"{len(score_texts & heldout_texts)} texts in both score and held-out/eval")
train_docs = load(index["train"]["path"])
train = {d["text"] for d in train_docs}
if len(train) != len(train_docs):
    errors.append("train.jsonl: duplicate documents")
if not score_texts <= train:
    errors.append(f"{len(score_texts - train)} score-split documents missing from train.jsonl")
for d in train_docs:
    if not MIN_CHARS <= len(d["text"]) <= MAX_CHARS:
        errors.append(f"train.jsonl: {d['source']} has {len(d['text'])} chars")
train_units = {u for d in train_docs for u in [unit(d["source"])] if u}
if train_units & heldout_units:
    errors.append(f"held-out pages in train.jsonl: {sorted(train_units & heldout_units)[:5]}")
if train & heldout_texts:
    errors.append("held-out text in train.jsonl")
# fortunes: no held-out fortune entry may occur inside a training document
held_entries = {e for t in heldout_texts for e in t.split("\n\n") if len(e) > 40}
train_entries = {e for t in train for e in t.split("\n\n") if len(e) > 40}
if held_entries & train_entries:
    errors.append(f"{len(held_entries & train_entries)} held-out paragraphs also in train.jsonl")

for e in index["eval"]:
    if e["kind"] != "multiple_choice":
        continue
    for item in load(e["path"]):
        ch = item["choices"]
        if len(ch) != 4 or len(set(ch)) != 4 or not 0 <= item["answer"] < 4 or not item["context"]:
            errors.append(f"{e['path']}: bad multiple-choice item {item.get('source')}")

stray = [p for p in glob.glob(os.path.join(HERE, "**", "*"), recursive=True)
         if os.path.isfile(p) and not p.endswith((".jsonl", ".json", ".md"))]
if stray:
    errors.append(f"unexpected files: {stray}")

total = sum(os.path.getsize(p) for p in glob.glob(os.path.join(HERE, "**", "*"), recursive=True)
            if os.path.isfile(p))
print(f"data/corpora: {total} bytes")
for e in errors:
    print("ERROR:", e)
sys.exit(1 if errors else 0)
