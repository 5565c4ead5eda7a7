#!/usr/bin/env python3
"""Trains the demo model's tokenizer and writes it to data/demo-tokenizer/.

    python3 data/make_tokenizer.py [--vocab-size 6144] [--out DIR]

Needs HuggingFace's `tokenizers` Python package (pip install tokenizers; tested with 0.23.2).
A byte-level BPE (GPT-2 style: ByteLevel pre-tokenizer, decoder and post-processor) trained on
the score splits of data/corpora/ (their union, ordered by the SHA-256 of the text: what
train/train.jsonl held before it was extended with more of the score pages) or on --corpus;
never on held-out splits. Special
tokens come first: <|bos|> = 0, <|eos|> = 1, <|pad|> = 2. tokenizer_config.json asks loaders to
prepend <|bos|> (add_bos_token), as Llama tokenizers do. Training is deterministic for the same
corpus and library version.
"""
import argparse
import glob
import hashlib
import json
import os

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

SPECIAL_TOKENS = ["<|bos|>", "<|eos|>", "<|pad|>"]
MODEL_MAX_LENGTH = 2048
HERE = os.path.dirname(os.path.abspath(__file__))


def score_documents(corpora):
    """Union of the corpora's score splits, ordered by the SHA-256 of the text."""
    texts = set()
    for path in glob.glob(os.path.join(corpora, "**", "score.jsonl"), recursive=True):
        texts.update(documents(path))
    return sorted(texts, key=lambda t: hashlib.sha256(t.encode("utf-8")).hexdigest())


def documents(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)["text"]


def train(corpus, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    texts = documents(corpus) if corpus else score_documents(os.path.join(HERE, "corpora"))
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def tokenizer_config():
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for i, t in enumerate(SPECIAL_TOKENS)},
        "bos_token": "<|bos|>",
        "eos_token": "<|eos|>",
        "pad_token": "<|pad|>",
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "model_max_length": MODEL_MAX_LENGTH,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", help="JSONL with \"text\" (default: the score splits of data/corpora)")
    # 6144: at 4096 the Chinese text took merges from German, whose characters per token fell from
    # 2.85 to 2.61 on the expert set; at 6144 German keeps its old length and Chinese gets ~1 char/token
    ap.add_argument("--vocab-size", type=int, default=6144)
    ap.add_argument("--out", default=os.path.join(HERE, "demo-tokenizer"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tok = train(args.corpus, args.vocab_size)
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == i, f"{t} should have id {i}"
    tok.save(os.path.join(args.out, "tokenizer.json"), pretty=True)
    write_json(os.path.join(args.out, "tokenizer_config.json"), tokenizer_config())
    write_json(os.path.join(args.out, "special_tokens_map.json"),
               {"bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>"})
    # tokens per character on each language's held-out split, for the model card
    for lang in sorted(os.listdir(os.path.join(HERE, "corpora", "language"))):
        texts = list(documents(os.path.join(HERE, "corpora", "language", lang, "heldout.jsonl")))
        n_tok = sum(len(tok.encode(t).ids) for t in texts)
        n_chr = sum(len(t) for t in texts)
        print(f"{lang}: {n_tok / n_chr:.3f} tokens per character")


if __name__ == "__main__":
    main()
