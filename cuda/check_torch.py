#!/usr/bin/env python3
"""cusprun's CUDA kernels called from PyTorch (ctypes on libcusprun_cuda.so), against PyTorch eager.

On torch CUDA tensors (pointers passed as tensor.data_ptr(), work queued on torch's current
stream), at realistic shapes:
  * ffn_swiglu (a = silu(gate) * up, written, + per-document sum of a^2) vs a device-to-device
    copy of the same bytes (read + write) and vs eager PyTorch
    (a = F.silu(gate) * up; acc += per-document sums of a.float()**2, as a loop over documents
    and as one index_add_); bf16 and f32; targets: >= 70 % of copy bandwidth, >= 2x eager;
  * head_gram vs eager einsum and bmm (fp32, TF32 off);
  * qk_neuron vs the materialising formulation (H x units x t x t per document), timed in fp32
    and checked against the same formulation in float64.
Every variant's result is checked against eager (tolerances by dtype). CUDA events, warm-up,
median of several runs. Prints a Markdown table; --out DIR writes DIR/torch.md.

  python3 cuda/check_torch.py --lib build-gpu/lib/libcusprun_cuda.so --out results/
  python3 cuda/check_torch.py --quick        # small shapes (a smoke test)
Exit: 0 all checks and targets met, 1 a check failed or a target missed, 2 no GPU / no library.
"""
import argparse
import ctypes
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DT = {"f32": 0, "bf16": 1, "f16": 2, "f64": 3}
FFN_COPY_TARGET = 0.70
FFN_EAGER_TARGET = 2.0


def load_lib(path):
    lib = ctypes.CDLL(path)
    i64, vp, c = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    lib.cusprun_cuda_last_error.restype = ctypes.c_char_p
    lib.cusprun_cuda_device_count_impl.restype = c
    lib.cusprun_cuda_variant_count.argtypes = [ctypes.c_char_p]
    lib.cusprun_cuda_variant_name.argtypes = [ctypes.c_char_p, c]
    lib.cusprun_cuda_variant_name.restype = ctypes.c_char_p
    lib.cusprun_cuda_variant_default.argtypes = [ctypes.c_char_p]
    lib.cusprun_cuda_ffn_swiglu.argtypes = [c, c, vp, c, vp, vp, i64, vp, i64, i64, vp, i64, c, vp]
    lib.cusprun_cuda_head_gram.argtypes = [c, c, vp, c, vp, i64, i64, i64, i64, vp, i64, c, vp]
    lib.cusprun_cuda_qk_neuron.argtypes = [c, c, vp, c, vp, vp, i64, i64, i64, i64, ctypes.c_float, c, vp, i64,
                                           c, vp]
    for f in ("ffn_swiglu", "head_gram", "qk_neuron"):
        getattr(lib, "cusprun_cuda_" + f).restype = c
    return lib


def load_cpu_lib(path):
    """libcusprun.so's CPU back end (device -1) behind the same names: tests this script without a GPU."""
    lib = ctypes.CDLL(path)
    i64, vp, c = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    lib.cusprun_last_error.restype = ctypes.c_char_p
    lib.cusprun_variant_count.argtypes = [c, ctypes.c_char_p]
    lib.cusprun_variant_name.argtypes = [c, ctypes.c_char_p, c]
    lib.cusprun_variant_name.restype = ctypes.c_char_p
    lib.cusprun_variant_default.argtypes = [c, ctypes.c_char_p]
    lib.cusprun_ffn_swiglu.argtypes = [c, c, vp, c, vp, vp, i64, vp, i64, i64, vp, i64, c, vp]
    lib.cusprun_head_gram.argtypes = [c, c, vp, c, vp, i64, i64, i64, i64, vp, i64, c, vp]
    lib.cusprun_qk_neuron.argtypes = [c, c, vp, c, vp, vp, i64, i64, i64, i64, ctypes.c_float, c, vp, i64, c, vp]
    ns = type("CpuLib", (), {})()
    ns.cusprun_cuda_last_error = lib.cusprun_last_error
    ns.cusprun_cuda_variant_count = lambda k: lib.cusprun_variant_count(0, k)
    ns.cusprun_cuda_variant_name = lambda k, i: lib.cusprun_variant_name(0, k, i)
    ns.cusprun_cuda_variant_default = lambda k: lib.cusprun_variant_default(0, k)
    for f in ("ffn_swiglu", "head_gram", "qk_neuron"):
        fn = getattr(lib, "cusprun_" + f)
        setattr(ns, "cusprun_cuda_" + f, lambda dev, *a, _fn=fn: _fn(-1, *a))
    return ns


class _CpuEvent:
    def __init__(self, enable_timing=True):
        self.t = None

    def record(self, stream=None):
        self.t = time.perf_counter()

    def synchronize(self):
        pass

    def elapsed_time(self, other):
        return (other.t - self.t) * 1e3


class Check:
    def __init__(self, lib, torch, device, reps, quick):
        self.lib, self.torch, self.dev, self.reps, self.quick = lib, torch, device, reps, quick
        self.rows, self.failures, self.notes = [], [], []
        if device == "cpu":  # --cpu: the script's own test, CPU back end, wall-clock timing
            self.stream = type("S", (), {"cuda_stream": None})()
            torch.cuda.Event = _CpuEvent
            torch.cuda.synchronize = lambda *a: None
            torch.cuda.empty_cache = lambda: None
            torch.cuda.max_memory_allocated = lambda *a: 0
        else:
            self.stream = torch.cuda.current_stream(device)

    # -------------------------------------------------------------- helpers
    def variants(self, kernel):
        k = kernel.encode()
        n = self.lib.cusprun_cuda_variant_count(k)
        return [(i, self.lib.cusprun_cuda_variant_name(k, i).decode()) for i in range(n)], \
            self.lib.cusprun_cuda_variant_default(k)

    def call(self, fn, *args):
        rc = getattr(self.lib, "cusprun_cuda_" + fn)(*args)
        if rc != 0:
            raise RuntimeError(f"{fn}: status {rc}: {self.lib.cusprun_cuda_last_error().decode()}")

    def time_ms(self, fn, reps=None, warmup=2):
        torch = self.torch
        reps = reps or self.reps
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(reps):
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record(self.stream)
            fn()
            b.record(self.stream)
            b.synchronize()
            times.append(a.elapsed_time(b))
        return statistics.median(times)

    def copy_ms(self, nbytes):
        """A device-to-device copy moving nbytes (read + write): copies nbytes / 2."""
        half = int(nbytes // 2)
        src = self.torch.empty(half, dtype=self.torch.uint8, device=self.dev)
        dst = self.torch.empty_like(src)
        ms = self.time_ms(lambda: dst.copy_(src))
        del src, dst
        return ms

    def rel(self, x, y):
        y = y.double()
        d = float((x.double() - y).abs().max())
        if d != d:  # NaN
            return float("inf")
        return d / max(float(y.abs().max()), 1e-30)

    def add(self, kernel, variant, shape, ms, gbps=None, copy_gbps=None, vs_eager=None, err=None, tol=None,
            note=""):
        ok = err is None or err <= tol
        self.rows.append(dict(kernel=kernel, variant=variant, shape=shape, ms=ms, gbps=gbps, copy=copy_gbps,
                              vs_eager=vs_eager, err=err, tol=tol, ok=ok, note=note))
        if not ok:
            self.failures.append(f"{kernel} {variant} {shape}: error {err:.2e} > {tol:.0e}")
        print(f"  {kernel:10s} {variant:22s} {shape:34s} {ms:9.4f} ms"
              + (f" {gbps:8.1f} GB/s" if gbps else "") + (f"  x{vs_eager:.2f} vs eager" if vs_eager else "")
              + (f"  err {err:.1e} ({'ok' if ok else 'FAIL'})" if err is not None else "") + f" {note}", flush=True)

    def docs(self, T, n):
        """n documents of uneven length covering T rows: offsets on the device and as a list."""
        w = [1.0 + 0.5 * ((i * 7) % 5) for i in range(n)]
        cut = [0]
        for i in range(1, n):
            cut.append(int(round(T * sum(w[:i]) / sum(w))))
        cut.append(T)
        return self.torch.tensor(cut, dtype=self.torch.int64, device=self.dev), cut

    # -------------------------------------------------------------- ffn_swiglu
    def ffn(self, T, F, dtype_name, n_docs):
        torch = self.torch
        tdt = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[dtype_name]
        esz = torch.empty((), dtype=tdt).element_size()
        g = torch.Generator(device=self.dev)
        g.manual_seed(1)
        gate = torch.randn(T, F, device=self.dev, dtype=torch.float32, generator=g).mul_(2).to(tdt)
        up = torch.randn(T, F, device=self.dev, dtype=torch.float32, generator=g).to(tdt)
        off_d, off = self.docs(T, n_docs)
        doc_id = torch.repeat_interleave(torch.arange(n_docs, device=self.dev),
                                         torch.tensor([off[i + 1] - off[i] for i in range(n_docs)], device=self.dev))
        shape = f"T={T} F={F} {dtype_name} docs={n_docs}"
        nbytes = 3.0 * T * F * esz + 2.0 * n_docs * F * 4
        copy_ms = self.copy_ms(nbytes)
        copy_gbps = nbytes / (copy_ms * 1e6)
        self.add("ffn_swiglu", "d2d copy (same bytes)", shape, copy_ms, copy_gbps, copy_gbps)

        act_e = torch.empty(T, F, device=self.dev, dtype=tdt)
        acc_e = torch.zeros(n_docs, F, device=self.dev, dtype=torch.float32)

        def eager_loop():
            a = torch.nn.functional.silu(gate) * up
            a32 = a.float() ** 2
            for i in range(n_docs):
                acc_e[i] += a32[off[i]:off[i + 1]].sum(0)
            return a

        def eager_index_add():
            a = torch.nn.functional.silu(gate) * up
            acc_e.index_add_(0, doc_id, a.float() ** 2)
            return a

        acc_e.zero_()
        a_ref = eager_loop()
        acc_ref = acc_e.clone()
        ms_loop = self.time_ms(eager_loop)
        self.add("ffn_swiglu", "eager (loop over docs)", shape, ms_loop, nbytes / (ms_loop * 1e6), copy_gbps)
        acc_e.zero_()
        eager_index_add()
        err_ia = self.rel(acc_e, acc_ref)
        ms_ia = self.time_ms(eager_index_add)
        self.add("ffn_swiglu", "eager (index_add_)", shape, ms_ia, nbytes / (ms_ia * 1e6), copy_gbps, err=err_ia,
                 tol=1e-5, note="acc vs loop")
        eager_best = min(ms_loop, ms_ia)
        # tolerances vs eager: eager rounds silu(gate) to the dtype before the product (two
        # roundings), the kernel rounds once: one ulp of the activation dtype
        tol = {"bf16": 1.6e-2, "f16": 2e-3, "f32": 1e-5}[dtype_name]
        variants, default = self.variants("ffn_swiglu")
        act = torch.empty(T, F, device=self.dev, dtype=tdt)
        acc = torch.zeros(n_docs, F, device=self.dev, dtype=torch.float32)
        s = self.stream.cuda_stream
        for vi, vname in variants:
            def run():
                self.call("ffn_swiglu", self.dev, vi, s, DT[dtype_name], gate.data_ptr(), up.data_ptr(), F,
                          act.data_ptr(), T, F, off_d.data_ptr(), n_docs, DT["f32"], acc.data_ptr())
            act.fill_(float("nan"))
            acc.zero_()
            run()
            torch.cuda.synchronize(self.dev)
            err = max(self.rel(act, a_ref), self.rel(acc, acc_ref))
            ms = self.time_ms(run, reps=self.reps if "naive" not in vname else max(3, self.reps // 4))
            gbps = nbytes / (ms * 1e6)
            tag = " (default)" if vi == default else ""
            self.add("ffn_swiglu", vname + tag, shape, ms, gbps, copy_gbps, eager_best / ms, err, tol)
            if vi == default:
                frac, speed = gbps / copy_gbps, eager_best / ms
                self.notes.append(f"FFN {vname} {shape}: {100 * frac:.1f}% of copy bandwidth (target >= "
                                  f"{100 * FFN_COPY_TARGET:.0f}%), {speed:.2f}x faster than the faster eager form "
                                  f"(target >= {FFN_EAGER_TARGET:.0f}x)")
                if not self.quick and (frac < FFN_COPY_TARGET or speed < FFN_EAGER_TARGET):
                    self.failures.append("target missed: " + self.notes[-1])
        del gate, up, act, acc, act_e, acc_e, a_ref
        torch.cuda.empty_cache()

    # -------------------------------------------------------------- head_gram
    def head_gram(self, T, H, d, gs, dtype_name, n_docs):
        torch = self.torch
        tdt = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[dtype_name]
        G, M = H // gs, gs * d
        z = torch.randn(T, H, d, device=self.dev, dtype=torch.float32).to(tdt)
        off_d, off = self.docs(T, n_docs)
        shape = f"T={T} H={H} d={d} g={gs} {dtype_name} docs={n_docs}"
        gram_e = torch.zeros(n_docs, G, M, M, device=self.dev, dtype=torch.float32)

        def eager_einsum():
            for i in range(n_docs):
                y = z[off[i]:off[i + 1]].float().reshape(-1, G, M)
                gram_e[i] += torch.einsum("tga,tgb->gab", y, y)

        def eager_bmm():
            for i in range(n_docs):
                y = z[off[i]:off[i + 1]].float().reshape(-1, G, M).permute(1, 0, 2)  # G, t, M
                gram_e[i] += torch.bmm(y.transpose(1, 2), y)

        eager_einsum()
        ref = gram_e.clone()
        ms_es = self.time_ms(eager_einsum)
        self.add("head_gram", "eager einsum (f32)", shape, ms_es)
        gram_e.zero_()
        eager_bmm()
        err = self.rel(gram_e, ref)
        ms_bmm = self.time_ms(eager_bmm)
        self.add("head_gram", "eager bmm (f32)", shape, ms_bmm, err=err, tol=1e-5, note="vs einsum")
        best = min(ms_es, ms_bmm)
        variants, default = self.variants("head_gram")
        gram = torch.zeros_like(gram_e)
        s = self.stream.cuda_stream
        for vi, vname in variants:
            def run():
                self.call("head_gram", self.dev, vi, s, DT[dtype_name], z.data_ptr(), T, H, d, gs,
                          off_d.data_ptr(), n_docs, DT["f32"], gram.data_ptr())
            gram.zero_()
            run()
            torch.cuda.synchronize(self.dev)
            err = self.rel(gram, ref)
            ms = self.time_ms(run, reps=self.reps if "naive" not in vname else 3, warmup=1)
            tag = " (default)" if vi == default else ""
            self.add("head_gram", vname + tag, shape, ms, vs_eager=best / ms, err=err, tol=1e-4)
        del z, gram, gram_e, ref
        torch.cuda.empty_cache()

    # -------------------------------------------------------------- qk_neuron
    def qk_neuron(self, T, H, Hkv, d, dtype_name, n_docs):
        torch = self.torch
        tdt = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[dtype_name]
        q = torch.randn(T, H, d, device=self.dev, dtype=torch.float32).to(tdt)
        k = torch.randn(T, Hkv, d, device=self.dev, dtype=torch.float32).to(tdt)
        off_d, off = self.docs(T, n_docs)
        U, scale = d // 2, 1.0 / d ** 0.5
        shape = f"T={T} H={H} Hkv={Hkv} d={d} {dtype_name} docs={n_docs}"
        acc_e = torch.zeros(n_docs, H, U, device=self.dev, dtype=torch.float64)

        def eager(cdt):
            for i in range(n_docs):
                qs = q[off[i]:off[i + 1]].to(cdt).transpose(0, 1)  # H, t, d
                ks = k[off[i]:off[i + 1]].to(cdt).transpose(0, 1).repeat_interleave(H // Hkv, 0)
                t = qs.shape[1]
                causal = torch.ones(t, t, dtype=torch.bool, device=self.dev).tril()
                A = (qs @ ks.transpose(1, 2)) * scale  # H, t, t
                # D_u = scale * (q_j k_j^T + q_{j+d/2} k_{j+d/2}^T), all units at once: H, U, t, t
                qa, ka = qs.reshape(H, t, 2, U), ks.reshape(H, t, 2, U)
                D = torch.einsum("hsru,htru->hust", qa, ka) * scale
                P = torch.softmax(A.masked_fill(~causal, float("-inf")), -1)
                P2 = torch.softmax((A[:, None] - D).masked_fill(~causal, float("-inf")), -1)
                acc_e[i] += ((P[:, None] - P2) ** 2).sum((-1, -2)).to(acc_e.dtype)
                del A, D, P, P2

        acc_e.zero_()
        eager(torch.float64)
        ref = acc_e.clone()
        torch.cuda.synchronize(self.dev)
        acc_e.zero_()
        eager(torch.float32)
        err32 = self.rel(acc_e, ref)
        ms_e = self.time_ms(lambda: eager(torch.float32), reps=max(3, self.reps // 4), warmup=1)
        peak = torch.cuda.max_memory_allocated(self.dev) / 2 ** 30
        self.add("qk_neuron", "eager materialising (f32)", shape, ms_e,
                 note=f"error vs float64 {err32:.1e} (not checked); peak {peak:.1f} GiB")
        variants, default = self.variants("qk_neuron")
        acc = torch.zeros(n_docs, H, U, device=self.dev, dtype=torch.float32)
        s = self.stream.cuda_stream
        for vi, vname in variants:
            def run():
                self.call("qk_neuron", self.dev, vi, s, DT[dtype_name], q.data_ptr(), k.data_ptr(), T, H, Hkv, d,
                          scale, 1, off_d.data_ptr(), n_docs, DT["f32"], acc.data_ptr())
            acc.zero_()
            t0 = time.time()
            run()
            torch.cuda.synchronize(self.dev)
            first = time.time() - t0
            err = self.rel(acc, ref)
            if "naive" in vname and first > 2.0:
                ms, note = first * 1e3, "one run (slow)"
            else:
                ms, note = self.time_ms(run, reps=self.reps if "naive" not in vname else 3, warmup=1), ""
            tag = " (default)" if vi == default else ""
            self.add("qk_neuron", vname + tag, shape, ms, vs_eager=ms_e / ms, err=err, tol=1e-4,
                     note=note + " error vs float64 materialising")
        del q, k, acc, acc_e, ref
        torch.cuda.empty_cache()

    def table(self):
        out = ["| kernel | variant | shape | time (ms) | GB/s | % of copy | x vs eager | max rel. error | result |",
               "|---|---|---|---:|---:|---:|---:|---:|---|"]
        for r in self.rows:
            f = lambda v, p: "" if v is None else format(v, p)  # noqa: E731
            pct = "" if not (r["gbps"] and r["copy"]) else f"{100 * r['gbps'] / r['copy']:.1f}"
            res = "" if r["err"] is None else ("ok" if r["ok"] else "FAIL") + f" (<= {r['tol']:.0e})"
            out.append(f"| {r['kernel']} | {r['variant']} | {r['shape']} | {r['ms']:.4f} | {f(r['gbps'], '.1f')} | "
                       f"{pct} | {f(r['vs_eager'], '.2f')} | {f(r['err'], '.1e')} | {res} {r['note']} |")
        return "\n".join(out)


def find_lib(arg):
    cands = [arg] if arg else []
    b = os.environ.get("BUILD", os.path.join(ROOT, "build-gpu"))
    cands += [os.path.join(b, "lib", "libcusprun_cuda.so"), os.path.join(ROOT, "build-gpu", "lib", "libcusprun_cuda.so")]
    for c in cands:
        if c and os.path.isfile(c):
            return c
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lib", default=None, help="libcusprun_cuda.so (default $BUILD/lib, build-gpu/lib)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--device", type=int, default=0)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="small shapes, no targets")
    ap.add_argument("--cpu", metavar="LIBCUSPRUN", default=None,
                    help="test this script without a GPU: libcusprun.so's CPU kernels (device -1) on CPU tensors, "
                         "--quick shapes")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("check_torch: PyTorch is not installed", file=sys.stderr)
        return 2
    if args.cpu:
        args.quick = True
        lib, dev, name, path = load_cpu_lib(args.cpu), "cpu", "CPU back end (script self-test)", args.cpu
        return run(args, torch, lib, dev, name, path)
    if not torch.cuda.is_available():
        print("check_torch: no CUDA device visible to PyTorch", file=sys.stderr)
        return 2
    path = find_lib(args.lib)
    if path is None:
        print("check_torch: libcusprun_cuda.so not found (build cmake/ first, or pass --lib)", file=sys.stderr)
        return 2
    lib = load_lib(path)
    if lib.cusprun_cuda_device_count_impl() <= args.device:
        print(f"check_torch: the library sees {lib.cusprun_cuda_device_count_impl()} device(s)", file=sys.stderr)
        return 2
    torch.cuda.set_device(args.device)
    return run(args, torch, lib, args.device, torch.cuda.get_device_name(args.device), path)


def run(args, torch, lib, dev, name, path):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    print(f"check_torch: {path} on {name}, torch {torch.__version__}", flush=True)
    c = Check(lib, torch, dev, args.reps, args.quick)
    started = time.time()
    steps = []
    if args.quick:
        steps = [lambda: c.ffn(256, 1000, "bf16", 3), lambda: c.ffn(256, 1000, "f32", 3),
                 lambda: c.head_gram(256, 8, 64, 4, "bf16", 3), lambda: c.qk_neuron(128, 8, 4, 64, "bf16", 2)]
    else:
        steps = [lambda: c.ffn(4096, 14336, "bf16", 8), lambda: c.ffn(4096, 14336, "f32", 8),
                 lambda: c.head_gram(4096, 32, 128, 4, "bf16", 8), lambda: c.head_gram(4096, 32, 128, 4, "f32", 8),
                 lambda: c.qk_neuron(1024, 32, 8, 128, "bf16", 2)]
    for st in steps:
        try:
            st()
        except Exception as e:  # noqa: BLE001 - report and go on with the next kernel
            c.failures.append(f"{type(e).__name__}: {e}")
            print(f"  ERROR {type(e).__name__}: {e}", flush=True)
            torch.cuda.empty_cache()
    text = "\n".join([f"## cusprun CUDA kernels from PyTorch ({name}, torch {torch.__version__})", "",
                      "Times: CUDA events on torch's stream, median of runs after warm-up. Errors: max |x - ref| / "
                      "max |ref| against eager (ffn, head_gram) or the float64 materialising formulation "
                      "(qk_neuron). % of copy: bytes read + written vs a device-to-device copy moving as many.",
                      "", c.table(), ""] + [f"- {n}" for n in c.notes] +
                     ["", f"torch check: {'PASS' if not c.failures else 'FAIL'} ({len(c.failures)} failure(s)), "
                          f"{time.time() - started:.0f} s", ""])
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "torch.md"), "w") as f:
            f.write(text)
    print(text)
    for f in c.failures:
        print("FAIL " + f, file=sys.stderr)
    return 0 if not c.failures else 1


if __name__ == "__main__":
    sys.exit(main())
