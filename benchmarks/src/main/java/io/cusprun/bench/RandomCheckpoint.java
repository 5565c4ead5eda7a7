package io.cusprun.bench;

import io.cusprun.model.Architecture;
import io.cusprun.model.DType;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Randomly initialised Llama checkpoints for the end-to-end benchmarks, streamed tensor by
 * tensor through the runtime's {@link SafetensorsWriter} (only one tensor exists at a time, so
 * the 1B shape needs no more memory than its embedding). Weights are N(0, 1/fan_in) (the
 * embedding N(0, 1)), norms 1 + N(0, 0.01), seeded per tensor name: the same preset always
 * gives the same bytes. No tokenizer: the benchmarks feed random token ids.
 *
 * <p>Presets: {@code small} (hidden 1024, 4 layers, 16 heads / 4 KV heads of 64, FFN 4096,
 * vocab 32000, tied, bf16: 94 M parameters, 0.19 GB) and {@code 1b} (the shape of Llama 3.2 1B:
 * hidden 2048, 16 layers, 32 / 8 heads of 64, FFN 8192, vocab 128256, tied, llama3 RoPE
 * scaling, bf16: 1.24 G parameters, 2.47 GB).
 *
 * <p>Usage: {@code RandomCheckpoint PRESET DIR} (skips the work when DIR/config.json exists).
 */
public final class RandomCheckpoint {

    /** A Llama shape. */
    public record Shape(
            String name,
            int vocab,
            int hidden,
            int layers,
            int heads,
            int kvHeads,
            int headDim,
            int ffn,
            boolean llama3Rope,
            boolean tied,
            DType dtype) {
        long params() {
            long layer =
                    2L * heads * headDim * hidden + 2L * kvHeads * headDim * hidden + 3L * ffn * hidden + 2L * hidden;
            return (long) vocab * hidden * (tied ? 1 : 2) + layers * layer + hidden;
        }
    }

    public static final Shape SMALL = new Shape("small", 32000, 1024, 4, 16, 4, 64, 4096, false, true, DType.BF16);
    public static final Shape ONE_B = new Shape("1b", 128256, 2048, 16, 32, 8, 64, 8192, true, true, DType.BF16);
    /** Llama-3-8B's shape (untied, no RoPE scaling), bf16: 8.03 G parameters, 16.1 GB. */
    public static final Shape EIGHT_B = new Shape("8b", 128256, 4096, 32, 32, 8, 128, 14336, false, false, DType.BF16);
    /** Deep and narrow, fp32: 32 layers of hidden 1024, FFN 4096, 16 / 4 heads of 64, vocab 32000: 2.08 GB. */
    public static final Shape DEEP32 = new Shape("deep32", 32000, 1024, 32, 16, 4, 64, 4096, false, true, DType.F32);
    /** Tiny (hidden 64, 2 layers): the process's own memory, to subtract from the others' peaks. */
    public static final Shape TINY = new Shape("tiny", 32000, 64, 2, 4, 2, 16, 128, false, true, DType.F32);

    private static final long BLOCK = 1L << 24;

    private RandomCheckpoint() {}

    public static Shape preset(String name) {
        return switch (name) {
            case "small" -> SMALL;
            case "1b" -> ONE_B;
            case "8b" -> EIGHT_B;
            case "deep32" -> DEEP32;
            case "tiny" -> TINY;
            default -> throw new IllegalArgumentException("unknown preset " + name + " (small, 1b, 8b, deep32, tiny)");
        };
    }

    public static void main(String[] args) throws IOException {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        if (args.length != 2) {
            System.err.println("usage: RandomCheckpoint small|1b|8b|deep32|tiny DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        long t0 = System.nanoTime();
        ensure(preset(args[0]), dir);
        System.out.printf(
                "%s: %s (%.2f GB) in %.1f s%n", args[0], dir, bytes(dir) / 1e9, (System.nanoTime() - t0) / 1e9);
    }

    /** Writes the checkpoint unless DIR/config.json already exists. */
    public static Path ensure(Shape s, Path dir) throws IOException {
        if (Files.exists(dir.resolve("config.json"))) return dir;
        Files.createDirectories(dir);
        Map<String, long[]> shapes = shapes(s);
        List<TensorSpec> specs = new ArrayList<>();
        shapes.forEach((n, shape) -> specs.add(new TensorSpec(n, s.dtype(), shape)));
        new SafetensorsWriter(dir)
                .metadata(Map.of("format", "pt"))
                .write(
                        specs,
                        spec -> weight(spec.name(), spec.shape()).to(s.dtype().scalarType()));
        // config last: its presence marks a complete checkpoint
        config(s).write(dir.resolve(ModelConfig.FILE_NAME));
        return dir;
    }

    static long bytes(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.mapToLong(p -> p.toFile().length()).sum();
        }
    }

    static Map<String, long[]> shapes(Shape s) {
        Map<String, long[]> m = new LinkedHashMap<>();
        int d = s.hidden();
        m.put("model.embed_tokens.weight", new long[] {s.vocab(), d});
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            long q = (long) s.heads() * s.headDim(), kv = (long) s.kvHeads() * s.headDim();
            m.put(p + "input_layernorm.weight", new long[] {d});
            m.put(p + "self_attn.q_proj.weight", new long[] {q, d});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, d});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, d});
            m.put(p + "self_attn.o_proj.weight", new long[] {d, q});
            m.put(p + "post_attention_layernorm.weight", new long[] {d});
            m.put(p + "mlp.gate_proj.weight", new long[] {s.ffn(), d});
            m.put(p + "mlp.up_proj.weight", new long[] {s.ffn(), d});
            m.put(p + "mlp.down_proj.weight", new long[] {d, s.ffn()});
        }
        m.put("model.norm.weight", new long[] {d});
        if (!s.tied()) m.put("lm_head.weight", new long[] {s.vocab(), d});
        return m;
    }

    static Tensor weight(String name, long[] shape) {
        torch.manual_seed(name.hashCode() & 0xffffffffL);
        long n = 1;
        for (long x : shape) n *= x;
        // large tensors repeat a random block of 2^24 values: the same statistics, far less
        // generation work for the 8B shape (its values matter to no measurement)
        Tensor g = n <= BLOCK
                ? torch.randn(shape, new TensorOptions(torch.ScalarType.Float))
                : torch.randn(new long[] {BLOCK}, new TensorOptions(torch.ScalarType.Float))
                        .repeat((n + BLOCK - 1) / BLOCK)
                        .narrow(0, 0, n)
                        .view(shape);
        if (name.endsWith("norm.weight")) {
            g.mul_(new Scalar(0.01)).add_(new Scalar(1.0));
        } else if (!name.equals("model.embed_tokens.weight")) {
            g.mul_(new Scalar(1.0 / Math.sqrt(shape[1])));
        }
        return g;
    }

    static ModelConfig.Builder config(Shape s) {
        ModelConfig.Builder c = ModelConfig.builder(
                        Architecture.LLAMA, s.vocab(), s.hidden(), s.ffn(), s.layers(), s.heads(), s.kvHeads())
                .headDim(s.headDim())
                .hiddenAct("silu")
                .maxPositionEmbeddings(131072)
                .rmsNormEps(1e-5)
                .ropeTheta(500000.0);
        if (s.llama3Rope()) {
            c.llama3RopeScaling(32.0, 1.0, 4.0, 8192);
        }
        return c.tieWordEmbeddings(s.tied())
                .attentionBias(false)
                .mlpBias(false)
                .torchDtype(s.dtype())
                .bosTokenId(1)
                .eosTokenIds(2);
    }
}
