#!/usr/bin/env python3
"""Do cusprun's pruned checkpoints load in plain Hugging Face transformers and give cusprun's logits?

Reads the inputs written by cuda/prepare_gpu_check.sh (default: gpu-check-inputs/ at the
repository root, or $GPU_CHECK_INPUTS, or --inputs DIR): the unpruned demo model
(data/demo-model), the model pruned at 25/35/45 % (sliced) and at 35 % masked, and for each the
logits cusprun computed (fp32) for a few held-out documents.

For each model:
  * load it with AutoModelForCausalLM.from_pretrained(dir, torch_dtype=torch.float32), no custom
    code, capturing every Python warning and every transformers log record at WARNING or above.
    A warning about keys, shapes, sizes or config fields, or any missing / unexpected /
    mismatched key in the loading info, is a FAILURE (other warnings are listed, not failed);
  * compute the logits of each held-out document on its own (GPU when available, fp32 matmuls
    without TF32) and compare with cusprun's: relative error max|a - b| / max(1, max|b|) <= 1e-4.
Also: masked and sliced at 35 % must give the same logits (same bound), in transformers and in
cusprun's own files.

--mode reference (automatic when transformers cannot be imported): the same checks with a
minimal Llama forward written here (torch only; safetensors read by the `safetensors` package or
by a small reader of its format), where "warnings" are the key/shape checks this loader makes.
That mode checks the inputs and the comparison, not transformers' loading.

--self-test: also runs the check on broken copies (an extra tensor, a wrong config size,
perturbed reference logits) and fails unless each of them is reported as a failure.

Writes a Markdown table to $OUT/transformers.md (--out DIR, default: print only). Exit status:
0 all passed, 1 a check failed, 2 the inputs are missing or unusable.
"""
import argparse
import contextlib
import hashlib
import json
import logging
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL_TOL = 1e-4
# Warnings whose text matches this fail the check (keys, shapes, sizes, config fields).
BAD_WARNING = re.compile(
    r"key|shape|size|mismatch|missing|unexpected|not used|newly initiali[sz]ed|not initiali[sz]ed|"
    r"config|attribute|unrecognized|unknown|ignored|tie|tied", re.IGNORECASE)

try:
    import torch
except ImportError:  # pragma: no cover - reported as exit 2 in main
    torch = None


# ------------------------------------------------------------------ safetensors

_ST_DTYPES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16", "F64": "float64", "I64": "int64",
              "I32": "int32"}


def read_safetensors(path):
    """{name: tensor} and the metadata of one safetensors file (the package if present, else by hand)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {}) or {}
    try:
        from safetensors.torch import load_file  # noqa: WPS433
        return load_file(path), meta
    except ImportError:
        pass
    out = {}
    buf = bytearray(data)
    for name, info in header.items():
        dt = getattr(torch, _ST_DTYPES[info["dtype"]])
        b, e = info["data_offsets"]
        t = torch.frombuffer(buf, dtype=dt, count=(e - b) // torch.empty((), dtype=dt).element_size(),
                             offset=b) if e > b else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta


# ------------------------------------------------------------------ capture of warnings

class Captured:
    def __init__(self):
        self.messages = []  # (source, text)

    @staticmethod
    def _is_bad(m):
        # ResourceWarnings (unclosed files of some library) say nothing about the checkpoint
        return m[0] != "warnings.ResourceWarning" and BAD_WARNING.search(m[1]) is not None

    def bad(self):
        return [m for m in self.messages if self._is_bad(m)]

    def other(self):
        return [m for m in self.messages if not self._is_bad(m)]


class _ListHandler(logging.Handler):
    def __init__(self, sink):
        super().__init__(level=logging.WARNING)
        self.sink = sink

    def emit(self, record):
        self.sink.messages.append((record.name, record.getMessage()))


@contextlib.contextmanager
def capture_warnings(logger_names=("transformers",)):
    """Every warnings.warn and every record >= WARNING of the named loggers (and their children)."""
    cap = Captured()
    handler = _ListHandler(cap)
    loggers = [logging.getLogger(n) for n in logger_names]
    saved = [(lg.level, lg.disabled) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.disabled = False
        if lg.level == logging.NOTSET or lg.level > logging.WARNING:
            lg.setLevel(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield cap
        finally:
            for w in caught:
                cap.messages.append(("warnings." + w.category.__name__, str(w.message)))
            for lg, (level, disabled) in zip(loggers, saved):
                lg.removeHandler(handler)
                lg.setLevel(level)
                lg.disabled = disabled


# ------------------------------------------------------------------ loaders

class TransformersLoader:
    name = "transformers"

    def __init__(self, device):
        import transformers  # noqa: F401  (ImportError handled by the caller)
        self.transformers = transformers
        self.device = device
        self.version = transformers.__version__
        try:
            transformers.utils.logging.set_verbosity_warning()
        except AttributeError:
            pass

    def load(self, model_dir):
        from transformers import AutoModelForCausalLM
        problems = []
        with capture_warnings() as cap:
            model, info = AutoModelForCausalLM.from_pretrained(
                model_dir, torch_dtype=torch.float32, output_loading_info=True)
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
            vals = list(info.get(kind) or [])
            if vals:
                problems.append(f"{kind}: {vals[:5]}{' ...' if len(vals) > 5 else ''}")
        model.eval().to(self.device)
        cfg = read_json(os.path.join(model_dir, "config.json"))
        for k in ("intermediate_size", "num_attention_heads", "num_key_value_heads", "hidden_size",
                  "num_hidden_layers", "vocab_size"):
            if k in cfg and getattr(model.config, k, None) != cfg[k]:
                problems.append(f"config {k}: file {cfg[k]}, loaded {getattr(model.config, k, None)}")
        dtypes = {p.dtype for p in model.parameters()}
        if dtypes != {torch.float32}:
            problems.append(f"parameter dtypes {sorted(map(str, dtypes))}, expected float32 only")

        def forward(ids):
            with torch.no_grad():
                x = torch.tensor(ids, dtype=torch.long, device=self.device)[None]
                return model(input_ids=x, use_cache=False).logits[0].float().cpu()
        return forward, cap, problems


class ReferenceLoader:
    """A minimal Llama forward (HF LlamaForCausalLM semantics, fp32), for machines without transformers."""
    name = "reference"
    version = "cuda/check_transformers.py"

    KNOWN_CONFIG = {
        "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act", "max_position_embeddings",
        "rms_norm_eps", "rope_theta", "rope_scaling", "attention_bias", "attention_dropout", "mlp_bias",
        "initializer_range", "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id", "use_cache",
        "torch_dtype", "dtype", "pretraining_tp", "transformers_version"}

    def __init__(self, device):
        self.device = device

    def load(self, model_dir, ignore_unexpected=False):
        problems = []
        with capture_warnings() as cap:
            cfg = read_json(os.path.join(model_dir, "config.json"))
            for k in sorted(set(cfg) - self.KNOWN_CONFIG):
                warnings.warn(f"config field {k!r} is not a LlamaConfig field")
            if cfg.get("architectures") != ["LlamaForCausalLM"] or cfg.get("model_type") != "llama":
                warnings.warn(f"config architectures/model_type {cfg.get('architectures')}/{cfg.get('model_type')}")
            if cfg.get("rope_scaling") not in (None, {}):
                raise ValueError("reference loader: rope_scaling is not supported")
            if cfg.get("hidden_act", "silu") != "silu":
                raise ValueError("reference loader: hidden_act must be silu")
            tensors = {}
            for fn in sorted(os.listdir(model_dir)):
                if fn.endswith(".safetensors"):
                    t, _ = read_safetensors(os.path.join(model_dir, fn))
                    tensors.update(t)
            expected = self.expected_shapes(cfg)
            missing = sorted(set(expected) - set(tensors))
            unexpected = sorted(set(tensors) - set(expected)
                                - ({"lm_head.weight"} if cfg.get("tie_word_embeddings") else set()))
            mismatched = sorted(k for k in expected if k in tensors and tuple(tensors[k].shape) != expected[k])
            for kind, vals in (("missing_keys", missing), ("unexpected_keys", unexpected),
                               ("mismatched_keys", mismatched)):
                if vals:
                    problems.append(f"{kind}: {vals[:5]}{' ...' if len(vals) > 5 else ''}")
                    warnings.warn(f"{kind} in checkpoint: {vals[:5]}")
        if problems and not (ignore_unexpected and not missing and not mismatched):
            return None, cap, problems
        w = {k: v.to(torch.float32).to(self.device) for k, v in tensors.items()}
        if "lm_head.weight" not in w or cfg.get("tie_word_embeddings"):
            w["lm_head.weight"] = w["model.embed_tokens.weight"]
        return (lambda ids: self.forward(cfg, w, ids)), cap, problems

    @staticmethod
    def dims(cfg):
        h = cfg["hidden_size"]
        nh = cfg["num_attention_heads"]
        nkv = cfg.get("num_key_value_heads", nh)
        hd = cfg.get("head_dim") or h // nh
        return h, nh, nkv, hd

    def expected_shapes(self, cfg):
        h, nh, nkv, hd = self.dims(cfg)
        f, v = cfg["intermediate_size"], cfg["vocab_size"]
        e = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,)}
        if not cfg.get("tie_word_embeddings", False):
            e["lm_head.weight"] = (v, h)
        for i in range(cfg["num_hidden_layers"]):
            p = f"model.layers.{i}."
            e.update({p + "input_layernorm.weight": (h,), p + "post_attention_layernorm.weight": (h,),
                      p + "self_attn.q_proj.weight": (nh * hd, h), p + "self_attn.k_proj.weight": (nkv * hd, h),
                      p + "self_attn.v_proj.weight": (nkv * hd, h), p + "self_attn.o_proj.weight": (h, nh * hd),
                      p + "mlp.gate_proj.weight": (f, h), p + "mlp.up_proj.weight": (f, h),
                      p + "mlp.down_proj.weight": (h, f)})
            if cfg.get("attention_bias"):
                e.update({p + "self_attn.q_proj.bias": (nh * hd,), p + "self_attn.k_proj.bias": (nkv * hd,),
                          p + "self_attn.v_proj.bias": (nkv * hd,), p + "self_attn.o_proj.bias": (h,)})
            if cfg.get("mlp_bias"):
                e.update({p + "mlp.gate_proj.bias": (f,), p + "mlp.up_proj.bias": (f,), p + "mlp.down_proj.bias": (h,)})
        return e

    def forward(self, cfg, w, ids):
        h, nh, nkv, hd = self.dims(cfg)
        eps = cfg.get("rms_norm_eps", 1e-6)
        theta = cfg.get("rope_theta", 10000.0)
        dev = self.device
        with torch.no_grad():
            x = w["model.embed_tokens.weight"][torch.tensor(ids, dtype=torch.long, device=dev)]
            t = x.shape[0]
            inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64, device=dev).float() / hd))
            ang = torch.outer(torch.arange(t, device=dev).float(), inv)
            emb = torch.cat([ang, ang], dim=-1)
            cos, sin = emb.cos(), emb.sin()

            def rms(v, g):
                return g * (v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + eps))

            def rot(v):
                return torch.cat([-v[..., hd // 2:], v[..., :hd // 2]], dim=-1)

            def lin(v, name):
                y = v @ w[name + ".weight"].T
                return y + w[name + ".bias"] if name + ".bias" in w else y

            mask = torch.full((t, t), float("-inf"), device=dev).triu(1)
            for i in range(cfg["num_hidden_layers"]):
                p = f"model.layers.{i}."
                a = rms(x, w[p + "input_layernorm.weight"])
                q = lin(a, p + "self_attn.q_proj").view(t, nh, hd).transpose(0, 1)
                k = lin(a, p + "self_attn.k_proj").view(t, nkv, hd).transpose(0, 1)
                v = lin(a, p + "self_attn.v_proj").view(t, nkv, hd).transpose(0, 1)
                q = q * cos + rot(q) * sin
                k = k * cos + rot(k) * sin
                k = k.repeat_interleave(nh // nkv, dim=0)
                v = v.repeat_interleave(nh // nkv, dim=0)
                s = q @ k.transpose(1, 2) / math.sqrt(hd) + mask
                z = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(t, nh * hd)
                x = x + lin(z, p + "self_attn.o_proj")
                a = rms(x, w[p + "post_attention_layernorm.weight"])
                g = torch.nn.functional.silu(lin(a, p + "mlp.gate_proj")) * lin(a, p + "mlp.up_proj")
                x = x + lin(g, p + "mlp.down_proj")
            x = rms(x, w["model.norm.weight"])
            return (x @ w["lm_head.weight"].T).float().cpu()


# ------------------------------------------------------------------ the check

def read_json(path):
    with open(path) as f:
        return json.load(f)


def rel_err(a, b):
    return float((a - b).abs().max()) / max(1.0, float(b.abs().max()))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve(inputs, m):
    return os.path.join(ROOT if m.get("relative_to") == "repo" else inputs, m["dir"])


def short(msgs, n=2):
    return "; ".join(f"{s}: {t.splitlines()[0][:140]}" for s, t in msgs[:n]) + (" ..." if len(msgs) > n else "")


def check(inputs, loader, manifest, log=print, ref_override=None):
    """Runs every model; returns (rows, failures, logits per model)."""
    rows, failures, hf_logits, ref_logits = [], [], {}, {}
    for m in manifest["models"]:
        name = m["name"]
        model_dir = resolve(inputs, m)
        t0 = time.time()
        row = {"model": name, "status": "FAIL", "bad": "", "other": "", "err": float("nan"), "top1": float("nan"),
               "maxb": float("nan"), "note": ""}
        rows.append(row)
        try:
            ref, meta = read_safetensors(os.path.join(inputs, m["logits"]))
            if ref_override and name in ref_override:
                ref["logits"] = ref_override[name](ref["logits"])
            if m.get("sha256") and sha256(os.path.join(model_dir, "model.safetensors")) != m["sha256"]:
                raise ValueError(f"{model_dir}/model.safetensors differs from the one the inputs were made from")
            forward, cap, problems = loader.load(model_dir)
            bad, other = cap.bad(), cap.other()
            row["bad"] = f"{len(bad)}" + (f" ({short(bad)})" if bad else "")
            row["other"] = f"{len(other)}" + (f" ({short(other)})" if other else "")
            if bad:
                problems.append(f"{len(bad)} warning(s) about keys/shapes/config")
            if forward is None:
                raise ValueError("; ".join(problems))
            ids, off, b = ref["input_ids"].tolist(), ref["doc_offsets"].tolist(), ref["logits"].float()
            a = torch.cat([forward(ids[off[i]:off[i + 1]]) for i in range(len(off) - 1)])
            if a.shape != b.shape:
                raise ValueError(f"logits shape {tuple(a.shape)} vs cusprun's {tuple(b.shape)}")
            hf_logits[name], ref_logits[name] = a, b
            row["err"] = rel_err(a, b)
            row["maxb"] = float(b.abs().max())
            row["top1"] = float((a.argmax(-1) == b.argmax(-1)).float().mean())
            if not torch.isfinite(a).all():
                problems.append("non-finite logits")
            if row["err"] > REL_TOL:
                problems.append(f"relative error {row['err']:.2e} > {REL_TOL:.0e}")
            row["note"] = "; ".join(problems)
            row["status"] = "PASS" if not problems else "FAIL"
        except Exception as e:  # noqa: BLE001 - every failure becomes a table row
            row["note"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}"
        if row["status"] != "PASS":
            failures.append(f"{name}: {row['note']}")
        log(f"  {name:10s} {row['status']}  rel err {row['err']:.2e}  top-1 {row['top1']:.4f}  "
            f"{time.time() - t0:.1f}s  {row['note']}")
    # masked and sliced at the same ratio give the same logits
    for m in manifest["models"]:
        twin = m.get("same_as")
        if not twin:
            continue
        for label, src in ((loader.name, hf_logits), ("cusprun", ref_logits)):
            row = {"model": f"{m['name']} vs {twin} ({label})", "status": "FAIL", "bad": "", "other": "",
                   "err": float("nan"), "top1": float("nan"), "maxb": float("nan"), "note": ""}
            rows.append(row)
            if m["name"] in src and twin in src:
                a, b = src[m["name"]], src[twin]
                row["err"], row["maxb"] = rel_err(a, b), float(b.abs().max())
                row["top1"] = float((a.argmax(-1) == b.argmax(-1)).float().mean())
                row["status"] = "PASS" if row["err"] <= REL_TOL else "FAIL"
                if row["status"] != "PASS":
                    row["note"] = f"relative error {row['err']:.2e} > {REL_TOL:.0e}"
            else:
                row["note"] = "logits missing (see above)"
            if row["status"] != "PASS":
                failures.append(f"{row['model']}: {row['note']}")
            log(f"  {row['model']:10s} {row['status']}  rel err {row['err']:.2e}")
    return rows, failures


def table(rows):
    out = ["| model | result | key/shape/config warnings | other warnings | max rel. error (<= 1e-4) | "
           "top-1 agreement | max abs logit | note |", "|---|---|---|---|---:|---:|---:|---|"]
    for r in rows:
        cell = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        out.append(f"| {r['model']} | {r['status']} | {cell(r['bad'])} | {cell(r['other'])} | {r['err']:.2e} | "
                   f"{r['top1']:.4f} | {r['maxb']:.3f} | {cell(r['note'])} |")
    return "\n".join(out)


def self_test(inputs, manifest, loader):
    """Broken copies must fail: an extra tensor, a wrong intermediate_size, perturbed logits."""
    results = []
    target = next(m for m in manifest["models"] if m.get("relative_to") != "repo")
    tmp = tempfile.mkdtemp(prefix="gpu-check-selftest-")
    try:
        cases = {}
        # 1. an extra tensor in the checkpoint (an unexpected key)
        d1 = os.path.join(tmp, "extra-key")
        shutil.copytree(resolve(inputs, target), d1)
        t, meta = read_safetensors(os.path.join(d1, "model.safetensors"))
        t["model.layers.0.mlp.extra_proj.weight"] = torch.zeros(4, 4, dtype=torch.bfloat16)
        write_safetensors(os.path.join(d1, "model.safetensors"), t, meta)
        cases["extra tensor"] = (d1, None)
        # 2. config.json says one more FFN neuron than the tensors have
        d2 = os.path.join(tmp, "wrong-size")
        shutil.copytree(resolve(inputs, target), d2)
        cfgp = os.path.join(d2, "config.json")
        cfg = read_json(cfgp)
        cfg["intermediate_size"] += 1
        with open(cfgp, "w") as f:
            json.dump(cfg, f, indent=2)
        cases["config size off by one"] = (d2, None)
        # 3. the right model, reference logits perturbed by 2e-4 * max(1, max|b|) at one place
        def perturb(b):
            b = b.clone()
            b.view(-1)[b.numel() // 2] += 2e-4 * max(1.0, float(b.abs().max()))
            return b
        cases["perturbed logits"] = (resolve(inputs, target), perturb)
        for label, (d, override) in cases.items():
            m = dict(target, dir=d, relative_to="abs")
            m.pop("same_as", None)
            m["logits"] = os.path.join(inputs, target["logits"])
            rows, failures = check(inputs, loader, {"models": [m]}, log=lambda *_: None,
                                   ref_override={m["name"]: override} if override else None)
            ok = bool(failures)
            results.append((label, "PASS" if ok else "FAIL",
                            rows[0]["note"] if ok else "the broken input was NOT reported as a failure"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def write_safetensors(path, tensors, meta):
    names = {v: k for k, v in _ST_DTYPES.items()}
    header, blobs, off = {}, [], 0
    if meta:
        header["__metadata__"] = meta
    for k, t in tensors.items():
        t = t.contiguous().cpu()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[k] = {"dtype": names[str(t.dtype).replace("torch.", "")], "shape": list(t.shape),
                     "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--inputs", default=os.environ.get("GPU_CHECK_INPUTS", os.path.join(ROOT, "gpu-check-inputs")))
    ap.add_argument("--out", default=None, help="folder for transformers.md")
    ap.add_argument("--mode", choices=("auto", "transformers", "reference"), default="auto")
    ap.add_argument("--device", default="auto", help="auto (cuda when available), cpu, cuda, cuda:N")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if torch is None:
        print("check_transformers: PyTorch is not installed", file=sys.stderr)
        return 2
    manifest_path = os.path.join(args.inputs, "manifest.json")
    if not os.path.isfile(manifest_path):
        print(f"check_transformers: {manifest_path} not found: run cuda/prepare_gpu_check.sh (needs Java) and carry "
              f"the folder, or set GPU_CHECK_INPUTS", file=sys.stderr)
        return 2
    manifest = read_json(manifest_path)
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision("highest")
    mode = args.mode
    loader = None
    if mode in ("auto", "transformers"):
        try:
            loader = TransformersLoader(device)
        except ImportError as e:
            if mode == "transformers":
                print(f"check_transformers: transformers cannot be imported: {e}", file=sys.stderr)
                return 2
            print(f"check_transformers: transformers not available ({e}); reference mode", file=sys.stderr)
    if loader is None:
        loader = ReferenceLoader(device)
    print(f"check_transformers: {loader.name} {loader.version}, torch {torch.__version__}, device {device}, "
          f"inputs {args.inputs} (made at commit {manifest.get('commit')})")
    rows, failures = check(args.inputs, loader, manifest)
    lines = [f"## Pruned checkpoints in {loader.name} ({loader.version}), torch {torch.__version__}, {device}", "",
             f"Inputs made at commit {manifest.get('commit')} by {manifest.get('made_by')}; held-out documents: "
             f"{manifest.get('heldout')}. Relative error = max|a - b| / max(1, max|b|), b = cusprun's fp32 logits.",
             "", table(rows), ""]
    if loader.name == "reference":
        lines.insert(2, "**Reference mode: transformers was not used** (minimal Llama forward of this script); "
                        "this checks the inputs and the comparison, not loading in transformers.\n")
    if args.self_test:
        st = self_test(args.inputs, manifest, loader)
        lines += ["Self-test (broken copies must be reported as failures):", "", "| case | result | reported as |",
                  "|---|---|---|"]
        for label, res, note in st:
            lines.append(f"| {label} | {res} | {note.replace('|', '/')[:200]} |")
            print(f"  self-test {label}: {res}  {note[:160]}")
            if res != "PASS":
                failures.append(f"self-test {label}: {note}")
        lines.append("")
    lines.append(f"transformers check: {'PASS' if not failures else 'FAIL'} ({len(failures)} failure(s))")
    text = "\n".join(lines) + "\n"
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "transformers.md"), "w") as f:
            f.write(text)
    print(text)
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
