#!/usr/bin/env python3
"""Independent reference forward pass for the Llama family (Llama 2/3, Mistral, Qwen2).

Written from HF transformers' modelling code (modeling_llama / modeling_mistral / modeling_qwen2),
not from cusprun's Java code: it reads safetensors with json + numpy only, runs each document
alone in float64 with eager attention (explicit causal / sliding-window mask), and writes the
golden logits the JUnit parity test compares against.

Usage (dev time only; CI uses the committed golden files):
    python3 reference_llama.py FIXTURE_DIR [FIXTURE_DIR ...]
writes FIXTURE_DIR/golden.safetensors with, per document i, "input_ids.i" (I64 [T]) and
"logits.i" (F32 [T, V]). Needs torch (Debian's python3-torch 1.13 is enough) and numpy.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": None,
          "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """name -> numpy array (BF16 widened to float32 exactly), plus __metadata__; checks the layout."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), f"{path}: header length {n} beyond file"
    assert n % 8 == 0, f"{path}: header not padded to 8 bytes"
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    meta = header.pop("__metadata__", {})
    spans = []
    for name, e in header.items():
        b, end = e["data_offsets"]
        raw = data[base + b: base + end]
        if e["dtype"] == "BF16":
            u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(e["shape"])
        spans.append((b, end, name))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        assert b1 >= e0, f"{path}: {n0} and {n1} overlap"
    return out, meta


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[arr.dtype]
        b = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def load_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    w = {}
    for f in files:
        t, _ = read_safetensors(os.path.join(model_dir, f))
        w.update(t)
    return {k: torch.from_numpy(v.astype(np.float64)) for k, v in w.items()}


def rope_inv_freq(cfg, dim):
    base = cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).double() / dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "linear":
        inv_freq = inv_freq / rs["factor"]
    elif kind == "llama3":  # transformers.modeling_rope_utils._compute_llama3_parameters
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wl, high_wl = old / lo, old / hi
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_wl, inv_freq / factor, inv_freq)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
        inv_freq = torch.where(medium, smoothed, scaled)
    elif kind != "default":
        raise ValueError(kind)
    return inv_freq


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


def forward(cfg, W, ids):
    arch = cfg["architectures"][0]
    T = len(ids)
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    d = cfg.get("head_dim") or hidden // heads
    eps = cfg["rms_norm_eps"]
    window = None
    if arch == "MistralForCausalLM":
        window = cfg.get("sliding_window")
    if arch == "Qwen2ForCausalLM" and cfg.get("use_sliding_window"):
        raise NotImplementedError("Qwen2 sliding window")
    inv_freq = rope_inv_freq(cfg, d)
    pos = torch.arange(T, dtype=torch.float64)
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]  # [T, 1, d]
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = j <= i
    if window:
        allowed &= (i - j) < window  # HF sliding_window_overlay: kv_idx > q_idx - sliding_window
    x = W["model.embed_tokens.weight"][torch.tensor(ids)]
    L = cfg["num_hidden_layers"]
    for l in range(L):
        p = f"model.layers.{l}."
        g = lambda n: W.get(p + n)
        h = rms_norm(x, g("input_layernorm.weight"), eps)
        q = linear(h, g("self_attn.q_proj.weight"), g("self_attn.q_proj.bias"))
        k = linear(h, g("self_attn.k_proj.weight"), g("self_attn.k_proj.bias"))
        v = linear(h, g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias"))
        H, Hkv = q.shape[1] // d, k.shape[1] // d  # per-layer sizes come from the weights
        q, k, v = q.view(T, H, d), k.view(T, Hkv, d), v.view(T, Hkv, d)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = H // Hkv  # repeat_kv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        scores = torch.einsum("thd,shd->hts", q, k) / math.sqrt(d)
        scores = scores.masked_fill(~allowed[None], float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        z = torch.einsum("hts,shd->thd", probs, v).reshape(T, H * d)
        x = x + linear(z, g("self_attn.o_proj.weight"), g("self_attn.o_proj.bias"))
        h = rms_norm(x, g("post_attention_layernorm.weight"), eps)
        gate = linear(h, g("mlp.gate_proj.weight"), g("mlp.gate_proj.bias"))
        up = linear(h, g("mlp.up_proj.weight"), g("mlp.up_proj.bias"))
        act = torch.nn.functional.silu(gate) * up
        x = x + linear(act, g("mlp.down_proj.weight"), g("mlp.down_proj.bias"))
    x = rms_norm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]
    return x @ head.T


def documents(vocab):
    """The fixed test documents: lengths 1, 5, 12 and 17 (longer than Mistral's window of 6)."""
    rng = np.random.RandomState(1234)
    return [rng.randint(0, vocab, size=n).astype(np.int64) for n in (1, 5, 12, 17)]


def main(dirs):
    for model_dir in dirs:
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        W = load_weights(model_dir)
        out = {}
        for n, ids in enumerate(documents(cfg["vocab_size"])):
            logits = forward(cfg, W, ids.tolist())
            out[f"input_ids.{n}"] = ids
            out[f"logits.{n}"] = logits.float().numpy()
        write_safetensors(os.path.join(model_dir, "golden.safetensors"), out)
        print(model_dir, "max|logit| = %.3f" % max(np.abs(v).max() for k, v in out.items() if k.startswith("logits")))


if __name__ == "__main__":
    main(sys.argv[1:])
