package io.cusprun.model;

import java.io.IOException;
import java.util.Arrays;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Takes a model's tensors by their HF names from a {@link Source} (a checkpoint, or fresh
 * initial values), fuses q/k/v and gate/up, and converts them to the compute dtype and device.
 * Checkpoint tensors are checked against the shapes config.json implies (per-layer sizes
 * included); every error names the file and the tensor.
 */
final class WeightLoader {

    /** Supplies the tensor of an HF name with the shape the config implies (any dtype, on the CPU). */
    @FunctionalInterface
    interface Source {
        Tensor tensor(String name, long[] shape) throws IOException;
    }

    private final Source source;
    private final Checkpoint reader;
    private final ModelConfig config;
    private final Device device;
    private final torch.ScalarType dtype;
    /** Reused buffer of the stored dtype for layers read into existing tensors (streamed, CPU). */
    private Tensor staging;

    private DType stagingType;

    /** Tensors as views of the checkpoint's mapping (converted where the dtype or device differs). */
    WeightLoader(Checkpoint checkpoint, ModelConfig config, LoadOptions options) {
        this(checked(checkpoint, false), null, config, options);
    }

    WeightLoader(Source source, ModelConfig config, LoadOptions options) {
        this(source, null, config, options);
    }

    private WeightLoader(Source source, Checkpoint reader, ModelConfig config, LoadOptions options) {
        this.source = source;
        this.reader = reader;
        this.config = config;
        this.device = new Device(options.device());
        this.dtype = options.storage().scalarType(); // compute dtype when they agree
    }

    /**
     * Tensors read from the files with positional reads instead of mapped (a streamed run: the
     * process holds only what it allocated); fused q/k/v and gate/up are read straight into one
     * buffer of the stored dtype and converted once, so a layer's load peaks at its converted
     * size plus its largest fused tensor in the stored dtype.
     */
    static WeightLoader reading(Checkpoint checkpoint, ModelConfig config, LoadOptions options) {
        return new WeightLoader(checked(checkpoint, true), checkpoint, config, options);
    }

    /**
     * HF's initialisation of a Llama model (PreTrainedModel._init_weights): matrices and
     * embeddings from N(0, std^2), RMSNorm weights 1, biases 0; drawn from LibTorch's default
     * generator in load order, so {@code torch.manual_seed} makes them reproducible.
     */
    static Source initializer(double std) {
        return (name, shape) -> {
            if (name.endsWith("norm.weight")) {
                return torch.ones(shape);
            }
            if (name.endsWith(".bias")) {
                return torch.zeros(shape);
            }
            return torch.randn(shape).mul_(new org.bytedeco.pytorch.Scalar(std));
        };
    }

    Device device() {
        return device;
    }

    Tensor embedding() throws IOException {
        return load("model.embed_tokens.weight", config.vocabSize(), config.hiddenSize());
    }

    Tensor finalNorm() throws IOException {
        return load("model.norm.weight", config.hiddenSize());
    }

    /** lm_head.weight (untied models only). */
    Tensor lmHead() throws IOException {
        return load("lm_head.weight", config.vocabSize(), config.hiddenSize());
    }

    /** Layer i; the HF names are those {@link LayerWeights#exportTo} writes back. */
    LayerWeights layer(int i) throws IOException {
        return layer(i, null);
    }

    /**
     * Layer i; when reading on the CPU and {@code into} is a layer of the same size, its tensors
     * are overwritten with layer i's values and {@code into} itself is returned, so that a
     * streamed run allocates nothing per layer: fresh buffers for every layer cost more in page
     * faults than the reading itself (benchmarks/README.md, "Models larger than memory").
     */
    LayerWeights layer(int i, LayerWeights into) throws IOException {
        LayerSize s = config.layer(i);
        LayerWeights reuse = into != null
                        && reader != null
                        && !device.is_cuda()
                        && into.size().equals(s)
                ? into
                : null;
        int d = config.headDim();
        int hidden = config.hiddenSize();
        String p = "model.layers." + i + ".";
        String a = p + "self_attn.";
        String m = p + "mlp.";
        long qRows = (long) s.numAttentionHeads() * d;
        long kvRows = (long) s.numKeyValueHeads() * d;
        Tensor qkv = fused(
                reuse == null ? null : reuse.qkv(),
                new String[] {a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"},
                new long[] {qRows, kvRows, kvRows},
                hidden);
        Tensor qkvBias = config.qkvBias()
                ? fused(
                        reuse == null ? null : reuse.qkvBias(),
                        new String[] {a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias"},
                        new long[] {qRows, kvRows, kvRows})
                : null;
        Tensor o = load(reuse == null ? null : reuse.o(), a + "o_proj.weight", hidden, qRows);
        Tensor oBias = config.oBias() ? load(reuse == null ? null : reuse.oBias(), a + "o_proj.bias", hidden) : null;
        int f = s.intermediateSize();
        Tensor gateUp = fused(
                reuse == null ? null : reuse.gateUp(),
                new String[] {m + "gate_proj.weight", m + "up_proj.weight"},
                new long[] {f, f},
                hidden);
        Tensor gateUpBias = config.mlpBias()
                ? fused(
                        reuse == null ? null : reuse.gateUpBias(),
                        new String[] {m + "gate_proj.bias", m + "up_proj.bias"},
                        new long[] {f, f})
                : null;
        Tensor down = load(reuse == null ? null : reuse.down(), m + "down_proj.weight", hidden, f);
        Tensor downBias =
                config.mlpBias() ? load(reuse == null ? null : reuse.downBias(), m + "down_proj.bias", hidden) : null;
        Tensor inputNorm = load(reuse == null ? null : reuse.inputNorm(), p + "input_layernorm.weight", hidden);
        Tensor postNorm = load(reuse == null ? null : reuse.postNorm(), p + "post_attention_layernorm.weight", hidden);
        if (reuse != null) return reuse; // every tensor above was read into reuse's own
        return new LayerWeights(
                s,
                d,
                keep(inputNorm),
                keep(qkv),
                keep(qkvBias),
                keep(o),
                keep(oBias),
                keep(postNorm),
                keep(gateUp),
                keep(gateUpBias),
                keep(down),
                keep(downBias));
    }

    private static Tensor keep(Tensor t) {
        return Tensors.keep(t);
    }

    /**
     * The named tensors (rows[i] rows each, and {@code columns} columns when given) joined
     * row-wise, in storage dtype on the device: read into one buffer when reading, else each
     * loaded and concatenated. Both give the same values.
     */
    private Tensor fused(Tensor into, String[] names, long[] rows, long... columns) throws IOException {
        if (into != null && readFusedInto(names, rows, columns, into)) return into;
        Tensor read = reader == null ? null : readFused(names, rows, columns);
        if (read != null) return read;
        Tensor[] parts = new Tensor[names.length];
        for (int i = 0; i < names.length; i++) parts[i] = load(names[i], shape(rows[i], columns));
        Tensor joined = torch.cat(new TensorVector(parts), 0);
        return into == null ? joined : into.copy_(joined);
    }

    /**
     * Reads the tensors row-wise into {@code into} (a CPU tensor of the joined shape): straight
     * into it when the stored dtype is the compute dtype, else through the reused staging buffer
     * and one converting copy. False when their stored dtypes differ (rare; the caller joins).
     */
    private boolean readFusedInto(String[] names, long[] rows, long[] columns, Tensor into) throws IOException {
        DType stored = commonStoredDtype(names, rows, columns);
        if (stored == null) return false;
        boolean direct = stored.scalarType() == dtype;
        Tensor target = direct ? into : staging(stored, shape(totalRows(rows), columns));
        readRowWise(names, rows, target);
        if (!direct) into.copy_(target);
        return true;
    }

    /** The stored dtype the named tensors share (each shape-checked), or null when they differ. */
    private DType commonStoredDtype(String[] names, long[] rows, long[] columns) throws IOException {
        DType stored = null;
        for (int i = 0; i < names.length; i++) {
            DType t = check(reader, names[i], shape(rows[i], columns)).dtype();
            if (stored == null) stored = t;
            else if (stored != t) return null;
        }
        return stored;
    }

    /** Reads the named tensors one after the other into consecutive rows of {@code target}. */
    private void readRowWise(String[] names, long[] rows, Tensor target) throws IOException {
        long at = 0;
        for (int i = 0; i < names.length; i++) {
            reader.readInto(names[i], target.narrow(0, at, rows[i]));
            at += rows[i];
        }
    }

    private static long totalRows(long[] rows) {
        long total = 0;
        for (long r : rows) total += r;
        return total;
    }

    /** A view [shape] of the staging buffer in the stored dtype, grown when too small. */
    private Tensor staging(DType type, long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        if (staging == null || stagingType != type || staging.numel() < n) {
            Tensors.release(staging);
            try (PointerScope scope = new PointerScope()) {
                staging = Tensors.keep(Tensors.emptyCpu(type.scalarType(), n));
            }
            stagingType = type;
        }
        return staging.narrow(0, 0, n).view(shape);
    }

    /** Frees the staging buffer of layers read into existing tensors. */
    void close() {
        Tensors.release(staging);
        staging = null;
    }

    /** The tensors read straight into one buffer of their stored dtype, converted once; null when their dtypes differ (rare). */
    private Tensor readFused(String[] names, long[] rows, long[] columns) throws IOException {
        DType stored = commonStoredDtype(names, rows, columns);
        if (stored == null) return null;
        Tensor buffer = Tensors.emptyCpu(stored.scalarType(), shape(totalRows(rows), columns));
        readRowWise(names, rows, buffer);
        return buffer.to(device, dtype);
    }

    private static long[] shape(long rows, long[] columns) {
        return columns.length == 0 ? new long[] {rows} : new long[] {rows, columns[0]};
    }

    /** The named tensor read into {@code into} when it is given (see {@link #layer(int, LayerWeights)}), else {@link #load(String, long...)}. */
    private Tensor load(Tensor into, String name, long... expected) throws IOException {
        return into == null
                ? load(name, expected)
                : fused(into, new String[] {name}, new long[] {expected[0]}, tail(expected));
    }

    private static long[] tail(long[] shape) {
        return Arrays.copyOfRange(shape, 1, shape.length);
    }

    /** The named tensor, shape-checked, in storage dtype on the device (a view of the mapping when that is the stored dtype on the CPU). */
    Tensor load(String name, long... expected) throws IOException {
        return source.tensor(name, expected).to(device, dtype);
    }

    /** A checkpoint's tensors, shape- and dtype-checked: CPU views of the mapping, or read from the file. */
    private static Source checked(Checkpoint checkpoint, boolean read) {
        return (name, expected) -> {
            check(checkpoint, name, expected);
            return read ? checkpoint.read(name) : checkpoint.tensor(name);
        };
    }

    /** The tensor's entry, after checking that it has the shape config.json implies and a floating-point dtype. */
    private static TensorInfo check(Checkpoint checkpoint, String name, long[] expected) throws IOException {
        TensorInfo info = checkpoint.info(name);
        if (!Arrays.equals(info.shape(), expected)) {
            throw new SafetensorsException(
                    checkpoint.file(name).path(),
                    name,
                    "shape " + Arrays.toString(info.shape()) + " but config.json implies " + Arrays.toString(expected));
        }
        if (!info.dtype().isFloatingPoint()) {
            throw new SafetensorsException(
                    checkpoint.file(name).path(),
                    name,
                    "dtype " + info.dtype() + " is not a floating-point weight type");
        }
        return info;
    }
}
