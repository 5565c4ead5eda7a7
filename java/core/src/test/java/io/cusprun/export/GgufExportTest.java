package io.cusprun.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.model.DType;
import io.cusprun.model.LayerSize;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GgufExportTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    // ---- encodings ----

    @Test
    void halfRoundTripsEveryFiniteValueAndMatchesLibTorch() {
        for (int b = 0; b < 0x10000; b++) {
            short h = (short) b;
            float f = Encodings.halfToFloat(h);
            if (!Float.isNaN(f)) {
                assertEquals(h, Encodings.floatToHalf(f), "half " + Integer.toHexString(b));
            }
        }
        Random r = new Random(1);
        float[] x = new float[20000];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextGaussian() * Math.pow(2, r.nextInt(40) - 28));
        }
        x[0] = 65520f; // rounds to infinity
        x[1] = 65519f;
        x[2] = 0x1p-25f; // tie to zero
        x[3] = 0x1.8p-25f;
        try (PointerScope scope = new PointerScope()) {
            Tensor t = Tensors.ofFloats(x, x.length);
            float[] half = Tensors.toFloats(t.to(torch.ScalarType.Half).to(torch.ScalarType.Float));
            float[] bf = Tensors.toFloats(t.to(torch.ScalarType.BFloat16).to(torch.ScalarType.Float));
            for (int i = 0; i < x.length; i++) {
                assertEquals(half[i], Encodings.halfToFloat(Encodings.floatToHalf(x[i])), "f16 of " + x[i]);
                assertEquals(bf[i], Encodings.bf16ToFloat(Encodings.floatToBf16(x[i])), "bf16 of " + x[i]);
            }
        }
    }

    @Test
    void q8_0BlocksFollowGgml() {
        float[] x = new float[64];
        for (int i = 0; i < 32; i++) {
            x[i] = (i - 16) * 0.25f; // max |x| = 4 -> d = 4/127
        }
        x[40] = 1e-3f;
        ByteBuffer buf = ByteBuffer.allocate(68).order(ByteOrder.LITTLE_ENDIAN);
        Encodings.quantizeQ8_0(x, 0, 64, buf);
        assertEquals(68, buf.position());
        buf.flip();
        assertEquals(Encodings.floatToHalf(4f / 127f), buf.getShort(0));
        assertEquals(-127, buf.get(2)); // -4 / d
        assertEquals(0, buf.get(2 + 16));
        assertEquals(Encodings.floatToHalf(1e-3f / 127f), buf.getShort(34));
        assertEquals(127, buf.get(34 + 2 + 8));
        float[] back = new float[64];
        Encodings.decode(GgufType.Q8_0, buf, back, 0, 64);
        for (int i = 0; i < 64; i++) {
            float amax = i < 32 ? 4f : 1e-3f;
            assertTrue(Math.abs(back[i] - x[i]) <= amax / 127f * 0.5f + amax * 1e-3f, "q8_0 value " + i);
        }
        float[] zeros = new float[32];
        ByteBuffer z = ByteBuffer.allocate(34).order(ByteOrder.LITTLE_ENDIAN);
        Encodings.quantizeQ8_0(zeros, 0, 32, z);
        z.flip();
        float[] zb = new float[32];
        Encodings.decode(GgufType.Q8_0, z, zb, 0, 32);
        assertArrayEquals(zeros, zb);
        assertEquals(3f, Encodings.roundf(2.5f));
        assertEquals(-3f, Encodings.roundf(-2.5f));
    }

    @Test
    void permutationMatchesTheConvertersReshapeSwapaxes() {
        int heads = 3;
        int d = 8;
        int in = 5;
        float[] w = new float[heads * d * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = i;
        }
        try (PointerScope scope = new PointerScope()) {
            // LlamaModel.permute: reshape(n_head, 2, d/2, in).swapaxes(1, 2).reshape(shape)
            Tensor ref = Tensors.ofFloats(w, heads * d, in)
                    .reshape(heads, 2, d / 2, in)
                    .transpose(1, 2)
                    .contiguous();
            assertArrayEquals(Tensors.toFloats(ref), GgufExporter.permute(w, in, d));
            float[] bias = java.util.Arrays.copyOf(w, heads * d);
            Tensor refBias = Tensors.ofFloats(bias, heads * d)
                    .reshape(heads, 2, d / 2)
                    .transpose(1, 2)
                    .contiguous();
            assertArrayEquals(Tensors.toFloats(refBias), GgufExporter.permute(bias, 1, d));
        }
    }

    // ---- whole exports ----

    static Stream<Arguments> exports() {
        List<Arguments> out = new ArrayList<>();
        for (Family f : Family.values()) {
            for (GgufType t : GgufType.values()) {
                out.add(Arguments.of(f, t));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("exports")
    void exportRoundTrips(Family family, GgufType type) throws IOException {
        Fixtures.Spec spec = spec(family);
        Path dir = Fixtures.write(tmp, spec);
        writeTokenizer(dir, family, spec.vocabSize());
        ModelConfig config = ModelConfig.read(dir);
        Path out = tmp.resolve(family + "-" + type.optionName() + ".gguf");
        GgufExporter.Result result = GgufExporter.export(dir, out, type);
        assertEquals(Files.size(out), result.bytes());
        try (Stream<Path> s = Files.list(tmp)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary file left");
        }
        GgufReader g = GgufReader.open(out);
        assertEquals(3, g.version());
        GgufMetadata m = g.metadata();
        String arch = switch (family) {
            case QWEN2 -> "qwen2";
            case LLAMA_PRUNED -> "deci";
            default -> "llama";
        };
        assertEquals(arch, m.get("general.architecture").asString());
        assertEquals(32, m.get("general.alignment").asLong());
        assertEquals(type.fileType(), m.get("general.file_type").asLong());
        assertEquals(spec.hiddenSize(), m.get(arch + ".embedding_length").asLong());
        assertEquals(spec.numLayers(), m.get(arch + ".block_count").asLong());
        assertEquals(spec.headDim(), m.get(arch + ".rope.dimension_count").asLong());
        assertEquals((float) config.ropeTheta(), m.get(arch + ".rope.freq_base").value());
        assertEquals(
                (float) config.rmsNormEps(),
                m.get(arch + ".attention.layer_norm_rms_epsilon").value());
        assertEquals(
                family == Family.MISTRAL ? 6 : 256,
                m.get(arch + ".context_length").asLong());
        if (family == Family.LLAMA_PRUNED) {
            assertEquals(List.of(40L, 24L), m.get(arch + ".feed_forward_length").list());
            assertEquals(List.of(4L, 2L), m.get(arch + ".attention.head_count").list());
            assertEquals(
                    List.of(2L, 1L), m.get(arch + ".attention.head_count_kv").list());
            assertEquals(
                    GgufMetadata.INT32, m.get(arch + ".attention.head_count").elementType());
            assertEquals("linear", m.get(arch + ".rope.scaling.type").asString());
            assertEquals(2f, m.get(arch + ".rope.scaling.factor").value());
        } else {
            assertEquals(
                    spec.intermediateSize(),
                    m.get(arch + ".feed_forward_length").asLong());
            assertEquals(spec.numHeads(), m.get(arch + ".attention.head_count").asLong());
            assertEquals(
                    spec.numKvHeads(), m.get(arch + ".attention.head_count_kv").asLong());
        }
        boolean explicitHead = family == Family.LLAMA_PRUNED || spec.headDim() * spec.numHeads() != spec.hiddenSize();
        assertEquals(explicitHead, m.get(arch + ".attention.key_length") != null);
        if (explicitHead) {
            assertEquals(spec.headDim(), m.get(arch + ".attention.key_length").asLong());
            assertEquals(spec.headDim(), m.get(arch + ".attention.value_length").asLong());
        }
        checkTokenizer(m, family, spec.vocabSize());

        // tensors: names, shapes, types and values
        Map<String, GgufReader.TensorInfo> ts = g.tensors();
        assertEquals(result.tensors(), ts.size());
        assertEquals(spec.tied(), !ts.containsKey("output.weight"));
        assertEquals(family == Family.LLAMA3, ts.containsKey("rope_freqs.weight"));
        boolean permute = family != Family.QWEN2;
        int d = spec.headDim();
        for (Map.Entry<String, long[]> e : Fixtures.shapes(spec).entrySet()) {
            String hf = e.getKey();
            if (hf.equals("lm_head.weight") && spec.tied()) {
                continue;
            }
            String name = ggufName(hf);
            GgufReader.TensorInfo info = g.tensor(name);
            assertArrayEquals(e.getValue(), info.shape(), name);
            long[] shape = e.getValue();
            GgufType expected = shape.length == 1
                    ? GgufType.F32
                    : type == GgufType.Q8_0 && shape[1] % 32 != 0 ? GgufType.F16 : type;
            assertEquals(expected, info.type(), name + " type");
            float[] want = values(spec, hf, shape);
            if (permute && (hf.contains("q_proj") || hf.contains("k_proj"))) {
                want = GgufExporter.permute(want, shape.length == 2 ? (int) shape[1] : 1, d);
            }
            float[] got = g.floats(name);
            assertEquals(want.length, got.length, name);
            int cols = shape.length == 2 ? (int) shape[1] : want.length;
            for (int i = 0; i < want.length; i++) {
                double tol = switch (info.type()) {
                    case F32 -> 0;
                    case F16 -> Math.abs(want[i]) * 0x1p-11 + 0x1p-25;
                    case BF16 -> Math.abs(want[i]) * 0x1p-8;
                    case Q8_0 ->
                        blockMax(want, i) / 127 * (0.5 + 127 * 0x1p-11) * 1.001 + 1e-7; // rounding plus the fp16 scale
                };
                if (Math.abs(got[i] - want[i]) > tol) {
                    throw new AssertionError(name + "[" + (i / cols) + "," + (i % cols) + "]: " + got[i] + " vs "
                            + want[i] + " (" + info.type() + ")");
                }
            }
        }
        if (family == Family.LLAMA3) {
            float[] f = g.floats("rope_freqs.weight");
            double[] inv = new double[d / 2];
            for (int i = 0; i < inv.length; i++) {
                inv[i] = Math.pow(config.ropeTheta(), -2.0 * i / d);
            }
            double[] scaled = config.ropeScaling().apply(inv);
            assertEquals(d / 2, f.length);
            for (int i = 0; i < f.length; i++) {
                assertEquals(inv[i] / scaled[i], f[i], 1e-5 * f[i], "rope factor " + i);
            }
        }
    }

    private static float blockMax(float[] v, int i) {
        int b = i / 32 * 32;
        float m = 0;
        for (int j = b; j < b + 32 && j < v.length; j++) {
            m = Math.max(m, Math.abs(v[j]));
        }
        return m;
    }

    /** The fixture's values as its stored dtype holds them. */
    private static float[] values(Fixtures.Spec spec, String name, long[] shape) {
        try (PointerScope scope = new PointerScope()) {
            return Tensors.toFloats(Fixtures.weight(spec, name, shape).to(torch.ScalarType.Float));
        }
    }

    static String ggufName(String hf) {
        return switch (hf) {
            case "model.embed_tokens.weight" -> "token_embd.weight";
            case "model.norm.weight" -> "output_norm.weight";
            case "lm_head.weight" -> "output.weight";
            default -> {
                String[] p = hf.split("\\.");
                String rest = String.join(".", java.util.Arrays.copyOfRange(p, 3, p.length));
                String mapped = switch (rest) {
                    case "input_layernorm.weight" -> "attn_norm.weight";
                    case "post_attention_layernorm.weight" -> "ffn_norm.weight";
                    case "self_attn.q_proj.weight" -> "attn_q.weight";
                    case "self_attn.k_proj.weight" -> "attn_k.weight";
                    case "self_attn.v_proj.weight" -> "attn_v.weight";
                    case "self_attn.q_proj.bias" -> "attn_q.bias";
                    case "self_attn.k_proj.bias" -> "attn_k.bias";
                    case "self_attn.v_proj.bias" -> "attn_v.bias";
                    case "self_attn.o_proj.weight" -> "attn_output.weight";
                    case "self_attn.o_proj.bias" -> "attn_output.bias";
                    case "mlp.gate_proj.weight" -> "ffn_gate.weight";
                    case "mlp.up_proj.weight" -> "ffn_up.weight";
                    case "mlp.down_proj.weight" -> "ffn_down.weight";
                    case "mlp.gate_proj.bias" -> "ffn_gate.bias";
                    case "mlp.up_proj.bias" -> "ffn_up.bias";
                    case "mlp.down_proj.bias" -> "ffn_down.bias";
                    default -> throw new IllegalArgumentException(hf);
                };
                yield "blk." + p[2] + "." + mapped;
            }
        };
    }

    /**
     * The family's default fixture spec; SentencePiece-style families get 320 tokens, room for the
     * 256 byte tokens llama.cpp needs (the default has 64).
     */
    static Fixtures.Spec spec(Family f) {
        Fixtures.Spec s = Fixtures.spec(f, f == Family.LLAMA3 || f == Family.QWEN2 ? DType.BF16 : DType.F32);
        return byteLevel(f)
                ? s
                : new Fixtures.Spec(
                        f,
                        s.dtype(),
                        320,
                        s.hiddenSize(),
                        s.numLayers(),
                        s.intermediateSize(),
                        s.numHeads(),
                        s.numKvHeads(),
                        s.headDim(),
                        s.tied(),
                        s.seed(),
                        s.layerSizes());
    }

    static boolean byteLevel(Family f) {
        return f == Family.LLAMA3 || f == Family.QWEN2;
    }

    private static void checkTokenizer(GgufMetadata m, Family family, int vocab) {
        boolean byteLevel = family == Family.LLAMA3 || family == Family.QWEN2;
        assertEquals(byteLevel ? "gpt2" : "llama", m.get("tokenizer.ggml.model").asString());
        List<Object> tokens = m.get("tokenizer.ggml.tokens").list();
        List<Object> types = m.get("tokenizer.ggml.token_type").list();
        assertEquals(vocab, tokens.size());
        assertEquals(vocab, types.size());
        List<String> specials = Fixtures.specials(family);
        for (int i = 0; i < 3; i++) {
            assertEquals(specials.get(i), tokens.get(i));
            assertEquals((long) GgufTokenizer.CONTROL, types.get(i));
        }
        assertEquals("[PAD" + (vocab - 1) + "]", tokens.get(vocab - 1));
        assertEquals((long) GgufTokenizer.UNUSED, types.get(vocab - 1));
        if (byteLevel) {
            assertEquals(
                    family == Family.LLAMA3 ? "llama-bpe" : "qwen2",
                    m.get("tokenizer.ggml.pre").asString());
            assertEquals("a b", m.get("tokenizer.ggml.merges").list().get(0));
            assertNull(m.get("tokenizer.ggml.scores"));
        } else {
            List<Object> scores = m.get("tokenizer.ggml.scores").list();
            assertEquals(vocab, scores.size());
            assertEquals(-1f, scores.get(tokens.indexOf("ab")));
            assertEquals((long) GgufTokenizer.BYTE, types.get(tokens.indexOf("<0x0A>")));
            assertNull(m.get("tokenizer.ggml.merges"));
        }
        assertEquals(
                family == Family.QWEN2 ? 2L : 1L,
                m.get("tokenizer.ggml.bos_token_id").asLong());
        assertEquals(2L, m.get("tokenizer.ggml.eos_token_id").asLong());
        assertEquals(
                family != Family.QWEN2, m.get("tokenizer.ggml.add_bos_token").value());
        assertEquals(false, m.get("tokenizer.ggml.add_eos_token").value());
    }

    /**
     * Replaces the fixture's WordLevel tokenizer (which llama.cpp has no equivalent of) with a small
     * BPE one of the family's kind: byte-level (Llama 3 split regex, Qwen2 split regex) or
     * SentencePiece-style with byte fallback and all 256 byte tokens. Ids 0..2 stay the specials,
     * the last id stays undefined.
     */
    static void writeTokenizer(Path dir, Family family, int vocabSize) throws IOException {
        ObjectNode t = Fixtures.tokenizer(family);
        t.putNull("normalizer");
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        boolean byteLevel = family == Family.LLAMA3 || family == Family.QWEN2;
        model.put("byte_fallback", !byteLevel);
        ObjectNode vocab = model.putObject("vocab");
        List<String> specials = Fixtures.specials(family);
        for (int i = 0; i < 3; i++) {
            vocab.put(specials.get(i), i);
        }
        int id = 3;
        if (!byteLevel) {
            for (int b = 0; b < 256; b++) {
                vocab.put(String.format("<0x%02X>", b), id++);
            }
            vocab.put("▁", id++);
        } else {
            vocab.put("Ġ", id++);
            vocab.put("Ċ", id++);
        }
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.put(String.valueOf(c), id++);
        }
        ArrayNode merges = model.putArray("merges");
        String letters = "abcdefghijklmnopqrstuvwxyz";
        for (int i = 0; id < vocabSize - 1; i++) {
            String a = String.valueOf(letters.charAt(i % 26));
            String b = String.valueOf(letters.charAt((i + 1 + i / 26) % 26));
            vocab.put(a + b, id++);
            merges.addArray().add(a).add(b);
        }
        if (byteLevel) {
            ObjectNode pre = t.putObject("pre_tokenizer");
            pre.put("type", "Sequence");
            ArrayNode ps = pre.putArray("pretokenizers");
            ObjectNode split = ps.addObject();
            split.put("type", "Split");
            split.putObject("pattern")
                    .put("Regex", family == Family.LLAMA3 ? GgufTokenizer.LLAMA3_REGEX : GgufTokenizer.QWEN2_REGEX);
            split.put("behavior", "Isolated").put("invert", false);
            ps.addObject()
                    .put("type", "ByteLevel")
                    .put("add_prefix_space", false)
                    .put("trim_offsets", true)
                    .put("use_regex", false);
        } else {
            t.putNull("pre_tokenizer");
            model.put("unk_token", specials.get(0));
        }
        Fixtures.writeJson(dir.resolve("tokenizer.json"), t);
    }

    // ---- refusals ----

    /** Sets the first {@code n} elements of an F32 checkpoint tensor to {@code value}. */
    static void setFirst(Path model, String tensor, int n, float value) throws IOException {
        Path file = model.resolve("model.safetensors");
        io.cusprun.model.SafetensorsHeader h = io.cusprun.model.SafetensorsHeader.read(file);
        io.cusprun.model.TensorInfo t = h.tensor(tensor);
        assertEquals(DType.F32, t.dtype());
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(value);
        }
        try (java.nio.channels.FileChannel ch =
                java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(b.flip(), h.dataStart() + t.begin());
        }
    }

    /**
     * Finite weights the chosen type cannot hold are refused per tensor, naming it (f16 beyond
     * 65504, a q8_0 block whose f16 scale overflows, bf16 beyond its largest value), and nothing is
     * written; with CLAMP they are clamped to the type's largest value, with a note naming the
     * tensor and the count, and every other value is what a plain export writes.
     */
    @Test
    void valuesTheTypeCannotHoldAreRefusedOrClampedPerTensor() throws IOException {
        Fixtures.Spec spec = spec(Family.LLAMA2);
        Path plain = tmp.resolve("plain.gguf");
        Path out = tmp.resolve("big.gguf");
        Object[][] cases = {
            {GgufType.F16, 1e6f, 65504f},
            {GgufType.F16, 3e38f, 65504f},
            {GgufType.Q8_0, 1e7f, Encodings.Q8_0_MAX},
            {GgufType.BF16, Float.MAX_VALUE, Encodings.BF16_MAX}
        };
        String hf = "model.layers.1.mlp.up_proj.weight";
        for (Object[] c : cases) {
            GgufType type = (GgufType) c[0];
            Path model = fresh(spec, "m-" + type.optionName() + "-" + c[1]);
            GgufExporter.export(model, plain, type); // before the edit: fine
            float[] before = GgufReader.open(plain).floats("blk.1.ffn_up.weight");
            setFirst(model, hf, 32, (float) c[1]);
            Files.deleteIfExists(out);
            IOException e = assertThrows(IOException.class, () -> GgufExporter.export(model, out, type), type + "");
            String m = e.getMessage();
            assertTrue(
                    m.contains("blk.1.ffn_up.weight")
                            && m.contains("32 values beyond")
                            && m.contains(type.optionName()),
                    m);
            assertFalse(m.contains("\n"), m);
            assertFalse(Files.exists(out));
            assertEquals(List.of(), leftovers(tmp), "no temporary left");

            GgufExporter.Result r = GgufExporter.export(model, out, type, GgufWriter.Range.CLAMP);
            assertTrue(
                    r.notes().stream().anyMatch(n -> n.contains("blk.1.ffn_up.weight: clamped 32 values")),
                    r.notes() + "");
            float[] after = GgufReader.open(out).floats("blk.1.ffn_up.weight");
            for (int i = 0; i < after.length; i++) {
                assertTrue(Float.isFinite(after[i]), type + " element " + i);
            }
            // the clamped elements are the largest value (q8_0: the block's scale is the largest f16)
            assertEquals((float) c[2], after[0], (float) c[2] * 0.01f, type + "");
            if (type != GgufType.Q8_0) {
                for (int i = 32; i < after.length; i++) {
                    assertEquals(before[i], after[i], type + " element " + i);
                }
            }
        }
        // f32 holds every finite value
        Path model = fresh(spec, "m-f32");
        setFirst(model, hf, 32, 3e38f);
        assertTrue(
                GgufExporter.export(model, out, GgufType.F32).notes().stream().noneMatch(n -> n.contains("clamped")));
    }

    static List<String> leftovers(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("."))
                    .toList();
        }
    }

    /** A new copy of the fixture model with its tokenizer, in its own folder. */
    private Path fresh(Fixtures.Spec spec, String name) throws IOException {
        Path model = Fixtures.write(tmp.resolve(name), spec);
        writeTokenizer(model, spec.family(), spec.vocabSize());
        return model;
    }

    @Test
    void aWordLevelTokenizerIsRefusedWithOneLineAndNoFile() throws IOException {
        Path dir = Fixtures.write(tmp, Fixtures.spec(Family.LLAMA2, DType.F32));
        Path out = tmp.resolve("x.gguf");
        IOException e = assertThrows(IOException.class, () -> GgufExporter.export(dir, out, GgufType.F16));
        assertTrue(e.getMessage().startsWith(out.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("WordLevel"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertFalse(Files.exists(out));
    }

    @Test
    void aSentencePieceVocabularyWithoutByteTokensIsRefused() throws IOException {
        Fixtures.Spec spec = spec(Family.LLAMA2);
        Path dir = Fixtures.write(tmp, spec);
        writeTokenizer(dir, Family.LLAMA2, spec.vocabSize());
        ObjectNode tok =
                (ObjectNode) JSON.readTree(dir.resolve("tokenizer.json").toFile());
        ((ObjectNode) tok.path("model").path("vocab")).remove("<0x41>");
        Fixtures.writeJson(dir.resolve("tokenizer.json"), tok);
        Path out = tmp.resolve("z.gguf");
        IOException e = assertThrows(IOException.class, () -> GgufExporter.export(dir, out, GgufType.F32));
        assertTrue(e.getMessage().contains("without the byte token"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void layersLlamaCppCannotRunAreRefused() throws IOException {
        Fixtures.Spec base = Fixtures.spec(Family.LLAMA_PRUNED, DType.F32);
        Fixtures.Spec attnOnly = new Fixtures.Spec(
                Family.LLAMA_PRUNED,
                DType.F32,
                320,
                32,
                2,
                48,
                4,
                2,
                8,
                false,
                15,
                List.of(new LayerSize(40, 4, 2), new LayerSize(0, 2, 1)));
        Path dir = Fixtures.write(tmp.resolve("a"), attnOnly);
        writeTokenizer(dir, Family.LLAMA_PRUNED, 320);
        Path out = tmp.resolve("y.gguf");
        IOException e = assertThrows(IOException.class, () -> GgufExporter.export(dir, out, GgufType.F32));
        assertTrue(e.getMessage().contains("layer 1 keeps attention but no MLP"), e.getMessage());
        assertFalse(Files.exists(out));
        assertEquals("deci", GgufExporter.architecture(ModelConfig.read(Fixtures.write(tmp.resolve("b"), base))));
    }

    @Test
    void theDemoTokenizerIsGpt2PreTokenized() throws IOException {
        Path demo = Fixtures.repositoryRoot().resolve("data/demo-model");
        GgufMetadata m = new GgufMetadata();
        GgufTokenizer.addTo(m, demo, ModelConfig.read(demo));
        assertEquals("gpt2", m.get("tokenizer.ggml.model").asString());
        assertEquals("gpt-2", m.get("tokenizer.ggml.pre").asString());
        assertEquals(
                ModelConfig.read(demo).vocabSize(),
                m.get("tokenizer.ggml.tokens").list().size());
        assertEquals(6144, m.get("tokenizer.ggml.tokens").list().size());
        assertEquals(0L, m.get("tokenizer.ggml.bos_token_id").asLong());
        assertEquals(true, m.get("tokenizer.ggml.add_bos_token").value());
    }
}
