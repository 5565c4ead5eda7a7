#!/usr/bin/env python3
"""Python peer of cusprun's scoring (issue 6, item 3): the same relevance, written the way it is
usually written -- an HF-style Llama in plain PyTorch with register_forward_hook()s that copy the
activations out and accumulate with separate ops.

* Model: LlamaForCausalLM layout (embed_tokens, layers[i].self_attn.{q,k,v,o}_proj,
  layers[i].mlp.{gate,up,down}_proj with act_fn = SiLU, RMSNorm, rotate-half RoPE with optional
  llama3 scaling, GQA by repeat_kv, eager causal attention), fp32, weights read from the
  safetensors with json + numpy (bf16 widened exactly).
* Hooks: on mlp.down_proj (its input is act = silu(gate) * up): per document sum_t act^2 in fp64;
  on self_attn.o_proj (its input is z, the heads' outputs): per document and KV group the Gram
  z_g^T z_g in fp64. Relevance as cusprun defines it (docs/pipeline.md): FFN
  sqrt(sum a^2) * ||W_down[:,k]||, group sqrt(trace(G_g S_g)), head: diagonal blocks.
* --neurons (cusprun's --neurons): value/output neurons from the same o_proj hook, and query/key
  neurons (RoPE pairs) from a hook inside attention after RoPE, computed by the reference
  formulation that materialises the [H, d/2, T, T] perturbed scores per document (fp32).
* Ranks: per document percentile ranks (ties -> mean rank), running max, histogram, sums: the
  rank statistics of a cusprun score file, written under the same tensor names.

Usage (repo root; TORCH_ROOT as in java/core/src/test/python/run_reference.sh, or a system torch):
    python3 benchmarks/scripts/peer_hooks.py MODEL_DIR CORPUS.safetensors OUT.safetensors \
        [--threads 2] [--batch-docs 4] [--passes 1] [--bins 100] [--neurons] [--compare CUSPRUN_SCORES] [--ratio 0.3]
CORPUS holds "input_ids" I64 [docs, T] (ScoringRatio / ScoringProbe write it). Prints tokens/s
of the hooked pass (and of the plain forward) and, with --compare, how far the two agree.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {})
    kinds = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        raw = data[base + b: base + end]
        if e["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(kinds[e["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(e["shape"])
    return out, meta


def write_safetensors(path, tensors, meta):
    header, blobs, off = {}, [], 0
    names = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64", np.dtype(np.int32): "I32"}
    if meta:
        header["__metadata__"] = meta
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        b = arr.tobytes()
        header[name] = {"dtype": names[arr.dtype], "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ----------------------------------------------------------------------------- model (HF layout)

class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rope_inv_freq(cfg, d):
    inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    rs = cfg.get("rope_scaling") or {}
    if rs.get("rope_type", rs.get("type")) == "llama3":
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        smooth = (old / wavelen - lo) / (hi - lo)
        scaled = torch.where(wavelen > old / lo, inv / factor, inv)
        mid = (1 - smooth) * inv / factor + smooth * inv
        inv = torch.where((wavelen <= old / lo) & (wavelen >= old / hi), mid, scaled)
    return inv.float()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg["hidden_size"]
        self.h, self.kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.d = cfg.get("head_dim") or D // self.h
        self.q_proj = nn.Linear(D, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(D, self.kv * self.d, bias=False)
        self.v_proj = nn.Linear(D, self.kv * self.d, bias=False)
        self.o_proj = nn.Linear(self.h * self.d, D, bias=False)
        self.qk_hook = None

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.qk_hook is not None:  # query/key neurons need q and k after RoPE (no module output has them)
            self.qk_hook(q, k)
        rep = self.h // self.kv
        k = k.repeat_interleave(rep, dim=1)  # repeat_kv
        v = v.repeat_interleave(rep, dim=1)
        s = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.d) + mask
        p = F.softmax(s, dim=-1, dtype=torch.float32)
        z = torch.matmul(p, v).transpose(1, 2).reshape(B, T, self.h * self.d)
        return self.o_proj(z)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D, Fd = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(D, Fd, bias=False)
        self.up_proj = nn.Linear(D, Fd, bias=False)
        self.down_proj = nn.Linear(Fd, D, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg.get("rms_norm_eps", 1e-6)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(cfg["hidden_size"], cfg.get("rms_norm_eps", 1e-6))
        d = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
        self.register_buffer("inv_freq", rope_inv_freq(cfg, d), persistent=False)

    def forward(self, ids):  # final hidden states (scoring needs no lm_head)
        B, T = ids.shape
        pos = torch.arange(T, dtype=torch.float32)
        freqs = torch.outer(pos, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        mask = torch.full((T, T), float("-inf")).triu(1)[None, None]
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x)


def load_model(model_dir):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    weights, _ = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    m = Llama(cfg)
    state = {k[len("model."):]: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in weights.items()
             if k.startswith("model.")}
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert not unexpected and all(k == "inv_freq" for k in missing), (missing, unexpected)
    return m.eval(), cfg


# ----------------------------------------------------------------------------- hooks and ranks

def qk_materialised(q, k, scale):
    """Query/key neuron relevance of one document as the reference formulation writes it:
    acc[h, p] = ||softmax(A) - softmax(A - D_p)||_F^2 over the causal triangle, with D_p the
    share of RoPE pair p = (j, j + d/2), all pairs at once: D is [H, d/2, T, T] in fp32.
    q [H, T, d], k [H, T, d] (key heads already repeated to the query heads)."""
    H, T, d = q.shape
    P = d // 2
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    A = torch.bmm(q, k.transpose(1, 2)) * scale
    P0 = torch.softmax(A.masked_fill(mask, float("-inf")), -1)
    qp = torch.stack((q[..., :P], q[..., P:]), 3).permute(0, 2, 1, 3)  # [H, P, T, 2]
    kp = torch.stack((k[..., :P], k[..., P:]), 3).permute(0, 2, 3, 1)  # [H, P, 2, T]
    D = torch.matmul(qp, kp)  # [H, P, T, T]
    D.neg_().mul_(scale).add_(A.unsqueeze(1)).masked_fill_(mask, float("-inf"))
    Pj = torch.softmax(D, -1)
    del D
    Pj.sub_(P0.unsqueeze(1))
    return Pj.mul_(Pj).sum((2, 3)).double()  # [H, P]


class Hooks:
    """Per batch: relevance[(layer, module)] = float64 [docs, N]."""

    def __init__(self, model, cfg, neurons=False):
        self.rel = {}
        self.handles = []
        h, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        d = cfg.get("head_dim") or cfg["hidden_size"] // h
        self.h, self.kv, self.d = h, kv, d
        self.down_norm, self.group_gram, self.o_col_norm = [], [], []
        for i, layer in enumerate(model.layers):
            w = layer.mlp.down_proj.weight.detach().double()
            self.down_norm.append(w.pow(2).sum(0).sqrt())
            o = layer.self_attn.o_proj.weight.detach().double()  # [D, H*d]
            blocks = o.view(o.shape[0], kv, -1).permute(1, 0, 2)  # [G, D, g*d]
            self.group_gram.append(torch.bmm(blocks.transpose(1, 2), blocks))
            self.o_col_norm.append(o.pow(2).sum(0).sqrt())
            self.handles.append(layer.mlp.down_proj.register_forward_hook(self.ffn_hook(i)))
            self.handles.append(layer.self_attn.o_proj.register_forward_hook(self.attn_hook(i)))
            if neurons:
                layer.self_attn.qk_hook = self.qk_hook(i)
        self.model, self.neurons = model, neurons

    def ffn_hook(self, i):
        def hook(module, inputs, output):
            a = inputs[0].detach().double()  # copy of the activation [B, T, F]
            self.rel[(i, "mlp.")] = (a * a).sum(1).sqrt() * self.down_norm[i]
        return hook

    def attn_hook(self, i):
        def hook(module, inputs, output):
            B, T, _ = inputs[0].shape
            g = self.h // self.kv
            z = inputs[0].detach().double().view(B, T, self.kv, g * self.d)  # copy of z
            gram = torch.einsum("btgi,btgj->bgij", z, z)  # [B, G, gd, gd]
            prod = gram * self.group_gram[i][None]
            self.rel[(i, "self_attn.group_")] = prod.sum((2, 3)).clamp_min(0).sqrt()
            blocks = prod.view(B, self.kv, g, self.d, g, self.d).diagonal(0, 2, 4)  # [B, G, d, d, g]
            self.rel[(i, "self_attn.head_")] = blocks.sum((2, 3)).reshape(B, self.h).clamp_min(0).sqrt()
            if self.neurons:  # value/output neuron (h, j): ||z[:, h, j]|| * ||W_o[:, h*d + j]||
                zz = inputs[0].detach().double()
                self.rel[(i, "self_attn.vo_")] = (zz * zz).sum(1).sqrt() * self.o_col_norm[i]
        return hook

    def qk_hook(self, i):
        def hook(q, k):  # [B, H, T, d], [B, Hkv, T, d] after RoPE
            B, H, T, d = q.shape
            kk = k.detach().repeat_interleave(H // k.shape[1], dim=1)
            rel = [qk_materialised(q[b].detach(), kk[b], 1.0 / math.sqrt(d)).sqrt().reshape(-1) for b in range(B)]
            self.rel[(i, "self_attn.qk_")] = torch.stack(rel)
        return hook

    def remove(self):
        for hd in self.handles:
            hd.remove()
        for layer in self.model.layers:
            layer.self_attn.qk_hook = None


class RankStats:
    def __init__(self, n, bins):
        self.max = np.zeros(n, np.float32)
        self.hist = np.zeros((n, bins), np.int32)
        self.sum = np.zeros(n, np.float64)
        self.bins = bins

    def update(self, rel):  # rel [docs, n] float64
        n = rel.shape[1]
        for row in rel:
            order = np.argsort(row, kind="stable")
            s = row[order]
            starts = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1]
            ends = np.r_[starts[1:], n] - 1
            mean = np.repeat((starts + ends) / 2.0, ends - starts + 1)
            p = np.empty(n, np.float32)
            p[order] = (mean / (n - 1)).astype(np.float32) if n > 1 else 0
            self.max = np.maximum(self.max, p)
            b = np.minimum(self.bins - 1, np.floor(p.astype(np.float64) * self.bins).astype(np.int64))
            self.hist[np.arange(n), b] += 1
            self.sum += row


def score(model, cfg, ids, batch_docs, bins, neurons=False):
    hooks = Hooks(model, cfg, neurons)
    stats = {}
    with torch.no_grad():
        for b in range(0, ids.shape[0], batch_docs):
            hooks.rel.clear()
            model(ids[b:b + batch_docs])
            for key, rel in hooks.rel.items():
                r = rel.numpy()
                stats.setdefault(key, RankStats(r.shape[1], bins)).update(r)
    hooks.remove()
    return stats


def bottom(maxv, sums, ratio):
    order = np.lexsort((np.arange(len(maxv)), sums, maxv))
    return set(order[:int(round(ratio * len(maxv)))].tolist())


def compare(stats, path, ratio):
    theirs, _ = read_safetensors(path)
    corpus = next(iter(theirs)).split("/")[0]
    units = eq_max = eq_hist = same_sets = modules = differ = 0
    max_diff = 0.0
    for (i, mod), st in sorted(stats.items()):
        base = f"{corpus}/model.layers.{i}.{mod}"
        tm, th, ts = theirs[base + "rank_max"], theirs[base + "rank_hist"], theirs[base + "relevance_sum"]
        units += len(tm)
        eq_max += int((tm == st.max).sum())
        eq_hist += int((th == st.hist).all(1).sum())
        max_diff = max(max_diff, float(np.abs(tm - st.max).max()))
        a, b = bottom(st.max, st.sum, ratio), bottom(tm, ts, ratio)
        modules += 1
        same_sets += a == b
        differ += len(a - b)
    print(f"RESULT peer vs cusprun: rank_max equal {eq_max}/{units} (max |diff| {max_diff:.4f}), histograms equal "
          f"{eq_hist}/{units}, bottom-{ratio:.0%} sets equal in {same_sets}/{modules} modules ({differ} units differ)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-docs", type=int, default=4)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--bins", type=int, default=100)
    ap.add_argument("--compare")
    ap.add_argument("--ratio", type=float, default=0.3)
    ap.add_argument("--no-forward", action="store_true", help="skip the plain-forward timing")
    ap.add_argument("--neurons", action="store_true", help="also query/key and value/output neurons (cusprun's --neurons)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, cfg = load_model(args.model)
    corpus, _ = read_safetensors(args.corpus)
    ids = torch.from_numpy(np.array(corpus["input_ids"], dtype=np.int64))
    tokens = ids.numel()
    with torch.no_grad():  # warm-up on one batch
        model(ids[:args.batch_docs])
    for p in range(args.passes):
        if not args.no_forward:
            t0 = time.perf_counter()
            with torch.no_grad():
                for b in range(0, ids.shape[0], args.batch_docs):
                    model(ids[b:b + args.batch_docs])
            fwd = tokens / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        stats = score(model, cfg, ids, args.batch_docs, args.bins, args.neurons)
        tps = tokens / (time.perf_counter() - t0)
        extra = "" if args.no_forward else f", plain forward {fwd:.0f} tok/s, hooked/forward {tps / fwd:.3f}"
        print(f"peer pass {p}: hooked scoring {tps:.0f} tok/s{extra} (torch {torch.__version__}, "
              f"{torch.get_num_threads()} threads)", flush=True)
    out = {}
    for (i, mod), st in stats.items():
        base = f"bench/model.layers.{i}.{mod}"
        out[base + "rank_max"], out[base + "rank_hist"], out[base + "relevance_sum"] = st.max, st.hist, st.sum
    write_safetensors(args.out, out, {"format": "peer-hooks", "documents": str(ids.shape[0])})
    if args.compare:
        compare(stats, args.compare, args.ratio)


if __name__ == "__main__":
    main()
