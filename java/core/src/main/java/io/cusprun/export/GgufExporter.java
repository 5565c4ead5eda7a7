package io.cusprun.export;

import io.cusprun.OutputPolicy;
import io.cusprun.Version;
import io.cusprun.model.Architecture;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.CheckpointLayout;
import io.cusprun.model.DType;
import io.cusprun.model.LayerSize;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.RopeScaling;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Exports a model directory cusprun reads (Llama 2/3, Mistral, Qwen2; unpruned, uniformly or
 * per-layer pruned) as one GGUF file that llama.cpp runs, doing what llama.cpp's
 * convert_hf_to_gguf.py does:
 *
 * <ul>
 * <li>architecture {@code llama} (Llama, Mistral) or {@code qwen2}; a per-layer pruned model
 *     becomes {@code deci} (llama.cpp's architecture for NAS-pruned Llama variants), whose
 *     feed_forward_length, head_count and head_count_kv are per-layer arrays;</li>
 * <li>Q and K rows permuted per head from HF's rotate-half layout to llama.cpp's interleaved
 *     one (not for qwen2, which llama.cpp runs with NEOX RoPE on the HF layout);</li>
 * <li>llama3 RoPE scaling as a {@code rope_freqs} tensor of per-dimension factors; linear scaling
 *     as rope.scaling.type/factor; tied embeddings without an output tensor;</li>
 * <li>1-D tensors (norms, biases, rope_freqs) always f32; 2-D weights in the chosen type (q8_0
 *     only where the row length is a multiple of 32, else f16, like the converter).</li>
 * </ul>
 *
 * Weights are read straight from the safetensors files (f32, f16 or bf16), a few rows at a time.
 * What llama.cpp could not run the same way is refused before anything is written, with a
 * one-line reason.
 */
public final class GgufExporter {
    /** The metadata key that marks a file cusprun wrote (llama.cpp ignores keys it does not know). */
    public static final String WRITER_KEY = "cusprun.writer";

    /** A GGUF output: {@code --force} replaces only a file this exporter wrote. */
    public static final OutputPolicy.Kind OUTPUT = OutputPolicy.Kind.file(
            "GGUF file",
            f -> Files.isRegularFile(f) && GgufReader.open(f).metadata().get(WRITER_KEY) != null);

    /** What was written. */
    public record Result(Path file, long bytes, String architecture, GgufType type, int tensors, List<String> notes) {
        /** One line for the user: what was written where. */
        public String describe(Path model) {
            return String.format(
                    java.util.Locale.ROOT,
                    "exported %s -> %s (%s, architecture %s, %d tensors, %.1f MB)",
                    model,
                    file,
                    type.optionName(),
                    architecture,
                    tensors,
                    bytes / 1e6);
        }
    }

    private static final long ROWS_BYTES = 16L << 20; // rows read per step, about this many f32 bytes

    private GgufExporter() {}

    /** Exports {@code modelDir} to {@code out}; every failure is an IOException whose message is one line naming a file. */
    public static Result export(Path modelDir, Path out, GgufType type) throws IOException {
        return export(modelDir, out, type, GgufWriter.Range.REFUSE);
    }

    /**
     * Exports {@code modelDir} to {@code out}; values the chosen type cannot hold are refused
     * naming the tensor, or with {@link GgufWriter.Range#CLAMP} clamped with a note per tensor.
     */
    public static Result export(Path modelDir, Path out, GgufType type, GgufWriter.Range range) throws IOException {
        ModelConfig config = ModelConfig.read(modelDir);
        try (Checkpoint ckpt = Checkpoint.open(modelDir)) {
            // the exporter reads the weights' bytes itself: refuse what loading would refuse
            CheckpointLayout.checkWithValues(config, ckpt);
            Plan plan;
            try {
                plan = plan(modelDir, config, ckpt, type);
            } catch (IllegalArgumentException e) {
                throw new IOException(out + ": cannot export " + modelDir + " to GGUF: " + e.getMessage());
            }
            long bytes = GgufWriter.write(out, plan.meta, plan.tensors, range, plan.notes::add);
            return new Result(out, bytes, plan.arch, type, plan.tensors.size(), plan.notes);
        }
    }

    private record Plan(String arch, GgufMetadata meta, List<GgufWriter.Tensor> tensors, List<String> notes) {}

    /** The GGUF architecture llama.cpp runs this config as; throws IllegalArgumentException when it cannot. */
    public static String architecture(ModelConfig c) {
        boolean qwen = c.architecture() == Architecture.QWEN2;
        boolean uniform = c.isUniform();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            LayerSize s = c.layer(i);
            if (s.intermediateSize() == 0 && s.numAttentionHeads() > 0) {
                throw new IllegalArgumentException("layer " + i + " keeps attention but no MLP; llama.cpp's deci"
                        + " architecture drops the attention output of a layer without MLP");
            }
            if (s.numAttentionHeads() == 0 && c.oBias()) {
                throw new IllegalArgumentException("layer " + i + " has no attention left but an o_proj bias;"
                        + " llama.cpp skips the bias of an attention-free layer");
            }
            if (s.intermediateSize() == 0 && c.mlpBias()) {
                throw new IllegalArgumentException("layer " + i + " has no MLP left but a down_proj bias;"
                        + " llama.cpp skips the bias of an MLP-free layer");
            }
        }
        if (c.layer(0).numAttentionHeads() == 0) {
            throw new IllegalArgumentException(
                    "layer 0 has no attention heads; llama.cpp takes the head size" + " from layer 0's head count");
        }
        boolean zero = c.layers().stream().anyMatch(s -> s.numAttentionHeads() == 0 || s.intermediateSize() == 0);
        if (!uniform || zero) {
            return "deci";
        }
        if (qwen) {
            if (c.ropeScaling().type().equals("llama3")) {
                throw new IllegalArgumentException("llama3 RoPE scaling on Qwen2: llama.cpp's qwen2 has no rope_freqs");
            }
            return "qwen2";
        }
        return "llama";
    }

    private static Plan plan(Path dir, ModelConfig c, Checkpoint ckpt, GgufType type) throws IOException {
        String arch = architecture(c);
        List<String> notes = new ArrayList<>();
        boolean permute = !arch.equals("qwen2");
        int hidden = c.hiddenSize();
        int d = c.headDim();
        GgufMetadata meta = new GgufMetadata();
        meta.putString("general.architecture", arch);
        meta.putString(
                "general.name", dir.toAbsolutePath().normalize().getFileName().toString());
        meta.putString(WRITER_KEY, "cusprun " + Version.VERSION);
        meta.putU32("general.alignment", GgufWriter.ALIGNMENT);
        meta.putU32("general.file_type", type.fileType());
        meta.putU32("general.quantization_version", 2);
        long context = c.maxPositionEmbeddings();
        int maxWindow = 0;
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            maxWindow = Math.max(maxWindow, c.slidingWindow(i));
        }
        if (maxWindow > 0 && maxWindow < context) {
            notes.add("sliding-window attention (" + maxWindow + " tokens) is not represented; context_length set to "
                    + maxWindow + ", within which llama.cpp's full attention is the same");
            context = maxWindow;
        }
        meta.putU32(arch + ".context_length", context);
        meta.putU32(arch + ".embedding_length", hidden);
        meta.putU32(arch + ".block_count", c.numHiddenLayers());
        if (arch.equals("deci")) {
            int n = c.numHiddenLayers();
            int[] ff = new int[n];
            int[] heads = new int[n];
            int[] kv = new int[n];
            for (int i = 0; i < n; i++) {
                ff[i] = c.layer(i).intermediateSize();
                heads[i] = c.layer(i).numAttentionHeads();
                kv[i] = c.layer(i).numKeyValueHeads();
            }
            meta.putInt32Array(arch + ".feed_forward_length", ff);
            meta.putInt32Array(arch + ".attention.head_count", heads);
            meta.putInt32Array(arch + ".attention.head_count_kv", kv);
        } else {
            meta.putU32(arch + ".feed_forward_length", c.intermediateSize());
            meta.putU32(arch + ".attention.head_count", c.numAttentionHeads());
            meta.putU32(arch + ".attention.head_count_kv", c.numKeyValueHeads());
        }
        meta.putF32(arch + ".rope.freq_base", c.ropeTheta());
        meta.putF32(arch + ".attention.layer_norm_rms_epsilon", c.rmsNormEps());
        meta.putU32(arch + ".rope.dimension_count", d);
        if (arch.equals("deci") || (long) d * c.numAttentionHeads() != hidden) {
            meta.putU32(arch + ".attention.key_length", d);
            meta.putU32(arch + ".attention.value_length", d);
        }
        meta.putU32(arch + ".vocab_size", c.vocabSize());
        RopeScaling rs = c.ropeScaling();
        if (rs.type().equals("linear")) {
            meta.putString(arch + ".rope.scaling.type", "linear");
            meta.putF32(arch + ".rope.scaling.factor", rs.factor());
        }
        GgufTokenizer.addTo(meta, dir, c);

        List<GgufWriter.Tensor> ts = new ArrayList<>();
        if (rs.type().equals("llama3")) {
            float[] f = ropeFreqs(c);
            ts.add(new GgufWriter.Tensor(
                    "rope_freqs.weight", new long[] {f.length}, GgufType.F32, sink -> sink.accept(f, f.length)));
        }
        ts.add(tensor(ckpt, "model.embed_tokens.weight", "token_embd.weight", type, 0));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            LayerSize s = c.layer(i);
            String p = "model.layers." + i + ".";
            String b = "blk." + i + ".";
            int qPerm = permute ? d : 0;
            if (s.numAttentionHeads() > 0) {
                ts.add(tensor(ckpt, p + "input_layernorm.weight", b + "attn_norm.weight", type, 0));
                ts.add(tensor(ckpt, p + "self_attn.q_proj.weight", b + "attn_q.weight", type, qPerm));
                ts.add(tensor(ckpt, p + "self_attn.k_proj.weight", b + "attn_k.weight", type, qPerm));
                ts.add(tensor(ckpt, p + "self_attn.v_proj.weight", b + "attn_v.weight", type, 0));
                if (c.qkvBias()) {
                    ts.add(tensor(ckpt, p + "self_attn.q_proj.bias", b + "attn_q.bias", type, qPerm));
                    ts.add(tensor(ckpt, p + "self_attn.k_proj.bias", b + "attn_k.bias", type, qPerm));
                    ts.add(tensor(ckpt, p + "self_attn.v_proj.bias", b + "attn_v.bias", type, 0));
                }
                ts.add(tensor(ckpt, p + "self_attn.o_proj.weight", b + "attn_output.weight", type, 0));
                if (c.oBias()) {
                    ts.add(tensor(ckpt, p + "self_attn.o_proj.bias", b + "attn_output.bias", type, 0));
                }
            }
            if (s.intermediateSize() > 0) {
                ts.add(tensor(ckpt, p + "post_attention_layernorm.weight", b + "ffn_norm.weight", type, 0));
                ts.add(tensor(ckpt, p + "mlp.gate_proj.weight", b + "ffn_gate.weight", type, 0));
                ts.add(tensor(ckpt, p + "mlp.up_proj.weight", b + "ffn_up.weight", type, 0));
                ts.add(tensor(ckpt, p + "mlp.down_proj.weight", b + "ffn_down.weight", type, 0));
                if (c.mlpBias()) {
                    ts.add(tensor(ckpt, p + "mlp.gate_proj.bias", b + "ffn_gate.bias", type, 0));
                    ts.add(tensor(ckpt, p + "mlp.up_proj.bias", b + "ffn_up.bias", type, 0));
                    ts.add(tensor(ckpt, p + "mlp.down_proj.bias", b + "ffn_down.bias", type, 0));
                }
            }
        }
        ts.add(tensor(ckpt, "model.norm.weight", "output_norm.weight", type, 0));
        if (!c.tieWordEmbeddings()) {
            ts.add(tensor(ckpt, "lm_head.weight", "output.weight", type, 0));
        }
        checkShapes(c, ts);
        return new Plan(arch, meta, ts, notes);
    }

    /** Every tensor has the shape config.json implies (so that llama.cpp, which checks them too, accepts the file). */
    private static void checkShapes(ModelConfig c, List<GgufWriter.Tensor> ts) {
        int h = c.hiddenSize();
        int d = c.headDim();
        for (GgufWriter.Tensor t : ts) {
            String n = t.name();
            long[] want;
            if (n.equals("token_embd.weight") || n.equals("output.weight")) {
                want = new long[] {h, c.vocabSize()};
            } else if (n.equals("rope_freqs.weight")) {
                want = new long[] {d / 2};
            } else if (n.endsWith("norm.weight")) {
                want = new long[] {h};
            } else {
                LayerSize s = c.layer(Integer.parseInt(n.split("\\.")[1]));
                long q = (long) s.numAttentionHeads() * d;
                long kv = (long) s.numKeyValueHeads() * d;
                long f = s.intermediateSize();
                String k = n.substring(n.indexOf('.', 4) + 1);
                want = switch (k) {
                    case "attn_q.weight" -> new long[] {h, q};
                    case "attn_k.weight", "attn_v.weight" -> new long[] {h, kv};
                    case "attn_q.bias" -> new long[] {q};
                    case "attn_k.bias", "attn_v.bias" -> new long[] {kv};
                    case "attn_output.weight" -> new long[] {q, h};
                    case "attn_output.bias", "ffn_down.bias" -> new long[] {h};
                    case "ffn_gate.weight", "ffn_up.weight" -> new long[] {h, f};
                    case "ffn_down.weight" -> new long[] {f, h};
                    case "ffn_gate.bias", "ffn_up.bias" -> new long[] {f};
                    default -> throw new IllegalStateException(n);
                };
            }
            if (!Arrays.equals(want, t.ne())) {
                throw new IllegalArgumentException(n + " has ggml shape " + Arrays.toString(t.ne())
                        + " but config.json implies " + Arrays.toString(want));
            }
        }
    }

    /**
     * llama3 RoPE scaling as llama.cpp's converter computes it: per frequency pair, the factor the
     * base frequency is divided by (1 for high frequencies, {@code factor} for low ones, a smooth
     * ramp between), in float32 like the converter's torch arithmetic.
     */
    public static float[] ropeFreqs(ModelConfig c) {
        RopeScaling rs = c.ropeScaling();
        int dim = c.headDim();
        float base = (float) c.ropeTheta();
        double old = rs.originalMaxPositionEmbeddings();
        double lowWavelen = old / rs.lowFreqFactor();
        double highWavelen = old / rs.highFreqFactor();
        float[] out = new float[dim / 2];
        for (int i = 0; i < dim / 2; i++) {
            float freq = 1.0f / (float) Math.pow(base, (float) (2 * i) / dim);
            float wavelen = (float) (2 * Math.PI / freq);
            if (wavelen < highWavelen) {
                out[i] = 1;
            } else if (wavelen > lowWavelen) {
                out[i] = (float) rs.factor();
            } else {
                double smooth = (old / wavelen - rs.lowFreqFactor()) / (rs.highFreqFactor() - rs.lowFreqFactor());
                out[i] = (float) (1 / ((1 - smooth) / rs.factor() + smooth));
            }
        }
        return out;
    }

    /**
     * The GGUF tensor of one checkpoint tensor: 1-D in f32, 2-D in {@code type} (q8_0 falls back
     * to f16 for rows not a multiple of 32). {@code permuteHead > 0}: rows (or bias entries) are
     * permuted within each block of that many rows from HF's rotate-half order to llama.cpp's
     * interleaved one: new row 2j + a = old row a * d/2 + j.
     */
    static GgufWriter.Tensor tensor(Checkpoint ckpt, String hfName, String name, GgufType type, int permuteHead)
            throws IOException {
        TensorInfo info = ckpt.info(hfName);
        SafetensorsFile file = ckpt.file(hfName);
        long[] shape = info.shape();
        if (shape.length != 1 && shape.length != 2) {
            throw new IllegalArgumentException(hfName + " has " + shape.length + " dimensions, expected 1 or 2");
        }
        if (info.dtype() != DType.F32 && info.dtype() != DType.F16 && info.dtype() != DType.BF16) {
            throw new IllegalArgumentException(
                    hfName + " is " + info.dtype() + "; GGUF export reads F32, F16 and BF16");
        }
        long rows = shape.length == 2 ? shape[0] : 1;
        long cols = shape.length == 2 ? shape[1] : shape[0];
        GgufType t = shape.length == 1
                ? GgufType.F32
                : type == GgufType.Q8_0 && cols % GgufType.QK8_0 != 0 ? GgufType.F16 : type;
        long[] ne = shape.length == 2 ? new long[] {cols, rows} : new long[] {cols};
        long start = file.header().dataStart() + info.begin();
        int esize = info.dtype().byteSize();
        Path path = file.path();
        GgufWriter.RowSource source = sink -> {
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
                if (shape.length == 1) {
                    float[] v = read(ch, path, hfName, info.dtype(), start, cols);
                    sink.accept(permuteHead > 0 ? permute(v, 1, permuteHead) : v, (int) cols);
                    return;
                }
                long step = Math.max(1, ROWS_BYTES / 4 / Math.max(1, cols));
                if (permuteHead > 0) {
                    step = Math.max(1, step / permuteHead) * permuteHead;
                }
                for (long r = 0; r < rows; r += step) {
                    long n = Math.min(step, rows - r);
                    float[] v = read(ch, path, hfName, info.dtype(), start + r * cols * esize, n * cols);
                    if (permuteHead > 0) {
                        v = permute(v, (int) cols, permuteHead);
                    }
                    sink.accept(v, (int) (n * cols));
                }
            }
        };
        if (permuteHead > 0 && rows * (shape.length == 2 ? 1 : cols) % permuteHead != 0) {
            throw new IllegalArgumentException(hfName + ": " + (shape.length == 2 ? rows : cols)
                    + " rows is not a multiple of the head size " + permuteHead);
        }
        return new GgufWriter.Tensor(name, ne, t, source);
    }

    /** Rows of {@code cols} values permuted within each block of {@code d} rows: new row 2j + a = old row a * d/2 + j. */
    public static float[] permute(float[] v, int cols, int d) {
        float[] out = new float[v.length];
        int rows = v.length / cols;
        int half = d / 2;
        for (int h = 0; h < rows; h += d) {
            for (int j = 0; j < half; j++) {
                for (int a = 0; a < 2; a++) {
                    System.arraycopy(v, (h + a * half + j) * cols, out, (h + 2 * j + a) * cols, cols);
                }
            }
        }
        return out;
    }

    private static float[] read(FileChannel ch, Path path, String name, DType dtype, long pos, long n)
            throws IOException {
        long bytes = n * dtype.byteSize();
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            if (ch.read(buf, pos + buf.position()) < 0) {
                throw new IOException(path + ": tensor " + name + " cut short");
            }
        }
        buf.flip();
        float[] out = new float[(int) n];
        switch (dtype) {
            case F32 -> buf.asFloatBuffer().get(out);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Encodings.halfToFloat(buf.getShort());
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Encodings.bf16ToFloat(buf.getShort());
                }
            }
            default -> throw new IllegalStateException(dtype.toString());
        }
        return out;
    }
}
