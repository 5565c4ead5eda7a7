# A per-layer pruned model with one layer emptied further, to check llama.cpp's deci architecture on
# layers cusprun's pruning rarely produces: without attention (heads 0), or without attention and MLP.
# usage: python3 zero_layers.py SRC_MODEL_DIR OUT_DIR LAYER DROP_MLP(0|1); then cusprun export / eval --ids
# and check.mjs on the result (run once for docs/formats.md: both agreed with cusprun).
import json, struct, sys, shutil, os
src, out, layer, drop_mlp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
os.makedirs(out, exist_ok=True)
for f in os.listdir(src):
    if f not in ("model.safetensors", "config.json"):
        p = os.path.join(src, f)
        if os.path.isfile(p): shutil.copy(p, out)
raw = open(os.path.join(src, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8+n]); data = raw[8+n:]
meta = hdr.pop("__metadata__", None)
p = f"model.layers.{layer}."
drop = {p+"self_attn.q_proj.weight": 0, p+"self_attn.k_proj.weight": 0, p+"self_attn.v_proj.weight": 0, p+"self_attn.o_proj.weight": 1}
if drop_mlp:
    drop.update({p+"mlp.gate_proj.weight": 0, p+"mlp.up_proj.weight": 0, p+"mlp.down_proj.weight": 1})
newhdr = {}; chunks = []; off = 0
for name, info in sorted(hdr.items(), key=lambda kv: kv[1]["data_offsets"][0]):
    b, e = info["data_offsets"]; buf = data[b:e]; shape = list(info["shape"])
    if name in drop:
        shape[drop[name]] = 0; buf = b""
    newhdr[name] = {"dtype": info["dtype"], "shape": shape, "data_offsets": [off, off + len(buf)]}
    chunks.append(buf); off += len(buf)
if meta: newhdr["__metadata__"] = meta
h = json.dumps(newhdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h); [f.write(c) for c in chunks]
cfg = json.load(open(os.path.join(src, "config.json")))
ls = cfg["cusprun_layer_sizes"][layer]
ls["num_attention_heads"] = 0; ls["num_key_value_heads"] = 0
if drop_mlp: ls["intermediate_size"] = 0
json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
print("wrote", out, cfg["cusprun_layer_sizes"])
