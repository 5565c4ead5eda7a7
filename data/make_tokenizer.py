#!/usr/bin/env python3
"""Writes the demo model's tokenizer to data/demo-tokenizer/ (standard library only).

    python3 data/make_tokenizer.py [--out DIR]

A byte-level BPE with no merges: one token per byte, as in GPT-2's byte-level
tokenizers but without learned merges (we have no trainer here). The token id of a
byte is the byte's value (0..255); its symbol is GPT-2's bytes_to_unicode() character
for that byte. Three special tokens follow: <|bos|> = 256, <|eos|> = 257, <|pad|> = 258.
The pre-tokenizer, post-processor and decoder are HuggingFace's ByteLevel components
with GPT-2's settings, so any HuggingFace `tokenizers` (Rust, Python, DJL, ...) loads it.
The post-processor adds no special tokens: callers prepend <|bos|> themselves.
"""
import argparse
import json
import os

SPECIAL_TOKENS = ["<|bos|>", "<|eos|>", "<|pad|>"]
MODEL_MAX_LENGTH = 2048


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable character mapping (openai/gpt-2, encoder.py)."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def tokenizer_json():
    byte_sym = bytes_to_unicode()
    vocab = {byte_sym[b]: b for b in range(256)}
    added = []
    for i, tok in enumerate(SPECIAL_TOKENS):
        vocab[tok] = 256 + i
        added.append({"id": 256 + i, "content": tok, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": []},
    }


def tokenizer_config():
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(256 + i): {"content": tok, "lstrip": False, "normalized": False, "rstrip": False,
                           "single_word": False, "special": True}
            for i, tok in enumerate(SPECIAL_TOKENS)},
        "bos_token": "<|bos|>",
        "eos_token": "<|eos|>",
        "pad_token": "<|pad|>",
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "model_max_length": MODEL_MAX_LENGTH,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def write(path, obj):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "demo-tokenizer"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    write(os.path.join(args.out, "tokenizer.json"), tokenizer_json())
    write(os.path.join(args.out, "tokenizer_config.json"), tokenizer_config())
    write(os.path.join(args.out, "special_tokens_map.json"),
          {"bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>"})


if __name__ == "__main__":
    main()
