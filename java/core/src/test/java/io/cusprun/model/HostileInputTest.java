package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.NonFiniteException;
import io.cusprun.eval.Perplexity;
import io.cusprun.export.GgufExporter;
import io.cusprun.export.GgufType;
import io.cusprun.prune.BaselineStatistics;
import io.cusprun.prune.CheckpointPruner;
import io.cusprun.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile inputs on the reading side: every one is a one-line error naming the file, never a wrong number. */
class HostileInputTest {

    @TempDir
    Path tmp;

    private static final ObjectMapper JSON = new ObjectMapper();

    private Path model(Fixtures.Family family) throws IOException {
        return Fixtures.write(tmp, Fixtures.spec(family, DType.F32));
    }

    private static <T extends Throwable> T oneLine(
            Class<T> type, Path file, org.junit.jupiter.api.function.Executable run, String... fragments) {
        T e = assertThrows(type, run);
        String msg = e.getMessage();
        assertFalse(msg.contains("\n"), "one line: " + msg);
        if (file != null) {
            assertTrue(msg.contains(file.getFileName().toString()), "names " + file.getFileName() + ": " + msg);
        }
        for (String f : fragments) {
            assertTrue(msg.contains(f), "'" + f + "' missing from: " + msg);
        }
        return e;
    }

    private static long headerLength(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(b, 0);
            return b.getLong(0);
        }
    }

    private static void putHeaderLength(Path file, long n) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n), 0);
        }
    }

    /** Overwrites every element of an F32 tensor with {@code value}. */
    static void fill(Path file, String tensor, float value) throws IOException {
        SafetensorsHeader h = SafetensorsHeader.read(file);
        TensorInfo t = h.tensor(tensor);
        ByteBuffer b = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            b.putFloat(value);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(b.flip(), h.dataStart() + t.begin());
        }
    }

    // ------------------------------------------------------------------ safetensors headers

    @Test
    void headerLengthOneShortOrLongIsRefused() throws IOException {
        Path file = model(Fixtures.Family.LLAMA2).resolve("model.safetensors");
        long n = headerLength(file);
        putHeaderLength(file, n - 1);
        oneLine(SafetensorsException.class, file, () -> SafetensorsHeader.read(file));
        putHeaderLength(file, n + 1);
        oneLine(SafetensorsException.class, file, () -> SafetensorsHeader.read(file));
        putHeaderLength(file, n);
        assertEquals(n + 8, SafetensorsHeader.read(file).dataStart());
    }

    @Test
    void junkAfterTheHeaderIsRefusedSpacesAreNot() throws IOException {
        String entry = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
        oneLine(
                SafetensorsException.class,
                null,
                () -> SafetensorsHeader.read(raw("junk", entry + "xy", 2)),
                "after the header's JSON object");
        oneLine(
                SafetensorsException.class,
                null,
                () -> SafetensorsHeader.read(raw("two", entry + entry, 2)),
                "after the header's JSON object");
        assertEquals(
                2,
                SafetensorsHeader.read(raw("pad", entry + "      ", 2))
                        .tensor("a")
                        .byteSize());
        oneLine(SafetensorsException.class, null, () -> SafetensorsHeader.read(raw("arr", "[1, 2]", 0)), "JSON object");
        oneLine(
                SafetensorsException.class,
                null,
                () -> SafetensorsHeader.read(
                        raw("key", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2],\"x\":1}}", 2)),
                "unexpected key 'x'");
        oneLine(
                SafetensorsException.class,
                null,
                () -> SafetensorsHeader.read(
                        raw("neg", "{\"a\":{\"dtype\":\"U8\",\"shape\":[-2],\"data_offsets\":[0,2]}}", 2)),
                "bad shape");
        oneLine(
                SafetensorsException.class,
                null,
                () -> SafetensorsHeader.read(
                        raw("nl", "{\"a\\nb\\r\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2)),
                "a\\u000ab\\u000d",
                "size mismatch");
        oneLine(
                SafetensorsException.class,
                null,
                () -> SafetensorsHeader.read(
                        raw("start", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}", 3)),
                "hole");
    }

    @Test
    void invalidUtf8HeaderIsRefused() throws IOException {
        byte[] h = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"__metadata__\":{\"k\":\"\u00e9\"}}"
                .getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < h.length; i++) {
            if (h[i] == (byte) 0xc3) {
                h[i] = (byte) 0xff;
            }
        }
        Path p = tmp.resolve("utf8.safetensors");
        Files.write(
                p,
                ByteBuffer.allocate(8 + h.length + 2)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(h.length)
                        .put(h)
                        .array());
        oneLine(SafetensorsException.class, p, () -> SafetensorsHeader.read(p), "UTF-8");
    }

    private Path raw(String name, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path p = tmp.resolve(name + ".safetensors");
        Files.write(
                p,
                ByteBuffer.allocate(8 + h.length + dataBytes)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(h.length)
                        .put(h)
                        .array());
        return p;
    }

    // ------------------------------------------------------------------ sharded index

    private Path sharded() throws IOException {
        return Fixtures.write(tmp.resolve("sharded"), Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32), 20_000);
    }

    private static void editIndex(Path dir, String from, String to) throws IOException {
        Path index = dir.resolve(Checkpoint.INDEX_FILE);
        String json = Files.readString(index);
        String edited = json.replaceFirst(from, to);
        assertFalse(json.equals(edited), "edit applies: " + from);
        Files.writeString(index, edited);
    }

    @Test
    void indexEntriesMustBePlainNamesInTheDirectory() throws IOException {
        Path dir = sharded();
        String json = Files.readString(dir.resolve(Checkpoint.INDEX_FILE));
        for (String bad : List.of("../../../../etc/passwd", "/etc/passwd", "sub/model.safetensors", "..", ".", "")) {
            Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), json);
            editIndex(dir, "\"model.norm.weight\" : \"[^\"]+\"", "\"model.norm.weight\" : \"" + bad + "\"");
            IOException e = oneLine(
                    IOException.class,
                    dir.resolve(Checkpoint.INDEX_FILE),
                    () -> Checkpoint.open(dir),
                    "model.norm.weight");
            assertFalse(e.getMessage().contains("header length"), "nothing of the file is read: " + e.getMessage());
        }
    }

    @Test
    void indexSymlinkLeadingOutsideIsRefused() throws IOException {
        Path dir = sharded();
        Path outside = Fixtures.write(tmp.resolve("other"), Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32))
                .resolve("model.safetensors");
        Files.createSymbolicLink(dir.resolve("link.safetensors"), outside);
        editIndex(dir, "\"model.norm.weight\" : \"[^\"]+\"", "\"model.norm.weight\" : \"link.safetensors\"");
        oneLine(
                IOException.class,
                dir.resolve(Checkpoint.INDEX_FILE),
                () -> Checkpoint.open(dir),
                "outside the model directory");
    }

    @Test
    void indexDuplicateKeysAndUnlistedTensorsAreRefused() throws IOException {
        Path dir = sharded();
        String json = Files.readString(dir.resolve(Checkpoint.INDEX_FILE));
        editIndex(dir, "\"weight_map\" : \\{", "\"weight_map\" : { \"model.norm.weight\" : \"x.safetensors\",");
        oneLine(IOException.class, dir.resolve(Checkpoint.INDEX_FILE), () -> Checkpoint.open(dir), "Duplicate");
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), json);
        ObjectNode index = (ObjectNode) JSON.readTree(json);
        ((ObjectNode) index.get("weight_map")).remove("model.norm.weight");
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), index.toString());
        oneLine(
                IOException.class,
                dir.resolve(Checkpoint.INDEX_FILE),
                () -> Checkpoint.open(dir),
                "model.norm.weight",
                "not in weight_map");
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), json);
        try (Checkpoint cp = Checkpoint.open(dir)) {
            assertTrue(cp.files().size() > 1);
        }
    }

    // ------------------------------------------------------------------ config.json

    private static final List<Object[]> BAD_CONFIG = List.of(
            new Object[] {"hidden_size", 0},
            new Object[] {"intermediate_size", -1},
            new Object[] {"num_attention_heads", 0},
            new Object[] {"num_key_value_heads", 3},
            new Object[] {"num_key_value_heads", 0},
            new Object[] {"num_hidden_layers", 0},
            new Object[] {"vocab_size", 0},
            new Object[] {"head_dim", 7},
            new Object[] {"head_dim", 0},
            new Object[] {"rope_theta", 0},
            new Object[] {"rope_theta", -1.5},
            new Object[] {"rope_theta", "big"},
            new Object[] {"rms_norm_eps", 0},
            new Object[] {"rms_norm_eps", -1e-6},
            new Object[] {"rms_norm_eps", "1e-6"},
            new Object[] {"max_position_embeddings", 0},
            new Object[] {"max_position_embeddings", 1.5},
            new Object[] {"tie_word_embeddings", "yes"},
            new Object[] {"bos_token_id", 64},
            new Object[] {"eos_token_id", -1},
            new Object[] {"torch_dtype", 3},
            new Object[] {"hidden_size", 1e40},
            new Object[] {"rope_scaling", "linear"});

    @Test
    void configValuesOutOfRangeNameTheFileAndKey() throws IOException {
        Path dir = model(Fixtures.Family.LLAMA2);
        Path cfg = dir.resolve("config.json");
        ObjectNode good = (ObjectNode) JSON.readTree(cfg.toFile());
        for (Object[] bad : BAD_CONFIG) {
            ObjectNode c = good.deepCopy();
            c.set((String) bad[0], JSON.valueToTree(bad[1]));
            Files.writeString(cfg, c.toString());
            IOException e = oneLine(IOException.class, cfg, () -> ModelConfig.read(dir));
            assertTrue(e.getMessage().contains((String) bad[0]), bad[0] + "=" + bad[1] + ": " + e.getMessage());
        }
    }

    @Test
    void configFieldsCusprunDoesNotImplementAreRefusedByName() throws IOException {
        Path dir = model(Fixtures.Family.LLAMA2);
        Path cfg = dir.resolve("config.json");
        ObjectNode good = (ObjectNode) JSON.readTree(cfg.toFile());
        ModelConfig plain = ModelConfig.read(dir);
        for (Object[] bad : io.cusprun.testing.HostileConfigs.UNSUPPORTED) {
            ObjectNode c = good.deepCopy();
            c.set((String) bad[0], JSON.valueToTree(bad[1]));
            Files.writeString(cfg, c.toString());
            IOException e = oneLine(IOException.class, cfg, () -> ModelConfig.read(dir));
            assertTrue(e.getMessage().contains((String) bad[0]), bad[0] + "=" + bad[1] + ": " + e.getMessage());
        }
        for (Object[] ok : io.cusprun.testing.HostileConfigs.NEUTRAL) {
            ObjectNode c = good.deepCopy();
            c.set((String) ok[0], JSON.valueToTree(ok[1]));
            Files.writeString(cfg, c.toString());
            ModelConfig read = ModelConfig.read(dir);
            assertEquals(plain.layers(), read.layers(), ok[0] + "=" + ok[1]);
            assertEquals(plain.ropeScaling(), read.ropeScaling(), ok[0] + "=" + ok[1]);
        }
        Files.writeString(cfg, good.toString());
    }

    @Test
    void ropeScalingFactorsAreChecked() throws IOException {
        Path dir = Fixtures.write(tmp, Fixtures.spec(Fixtures.Family.LLAMA3, DType.F32));
        Path cfg = dir.resolve("config.json");
        ObjectNode good = (ObjectNode) JSON.readTree(cfg.toFile());
        for (Object[] bad : List.of(
                new Object[] {"factor", 0},
                new Object[] {"factor", -8},
                new Object[] {"low_freq_factor", 0},
                new Object[] {"high_freq_factor", 0.5},
                new Object[] {"original_max_position_embeddings", 0},
                new Object[] {"factor", "x"})) {
            ObjectNode c = good.deepCopy();
            ((ObjectNode) c.get("rope_scaling")).set((String) bad[0], JSON.valueToTree(bad[1]));
            Files.writeString(cfg, c.toString());
            oneLine(IOException.class, cfg, () -> ModelConfig.read(dir), "rope_scaling");
        }
        ObjectNode c = good.deepCopy();
        c.putArray(ModelConfig.LAYER_SIZES_KEY).add(1).add(2);
        Files.writeString(cfg, c.toString());
        oneLine(IOException.class, cfg, () -> ModelConfig.read(dir), ModelConfig.LAYER_SIZES_KEY);
    }

    // ------------------------------------------------------------------ config and checkpoint agree

    @Test
    void configWithFewerLayersThanTheCheckpointIsRefused() throws IOException {
        Path dir = model(Fixtures.Family.LLAMA2);
        Path cfg = dir.resolve("config.json");
        ObjectNode c = (ObjectNode) JSON.readTree(cfg.toFile());
        c.put("num_hidden_layers", 1);
        Files.writeString(cfg, c.toString());
        oneLine(
                IOException.class,
                dir.resolve("model.safetensors"),
                () -> LlamaModel.load(dir),
                "model.layers.1.",
                "config.json has 1 layers");
        c.put("num_hidden_layers", 3);
        Files.writeString(cfg, c.toString());
        oneLine(IOException.class, dir, () -> LlamaModel.load(dir), "model.layers.2.", "missing");
        oneLine(IOException.class, dir, () -> CheckpointPruner.shapeOf(dir), "model.layers.2.", "missing");
    }

    @Test
    void tiedLmHeadAndInvFreqBuffersAreAccepted() throws IOException {
        Fixtures.Spec spec = Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32);
        Path dir = tmp.resolve("extra");
        Fixtures.write(dir, spec, SafetensorsWriter.DEFAULT_MAX_SHARD_BYTES);
        ModelConfig config = ModelConfig.read(dir);
        Map<String, long[]> shapes = Fixtures.shapes(spec);
        shapes.put("model.layers.0.self_attn.rotary_emb.inv_freq", new long[] {4});
        List<TensorSpec> specs = new java.util.ArrayList<>();
        shapes.forEach((n, s) -> specs.add(new TensorSpec(n, DType.F32, s)));
        Files.delete(dir.resolve("model.safetensors"));
        new SafetensorsWriter(dir).write(specs, t -> Fixtures.weight(spec, t.name(), t.shape()));
        try (Checkpoint cp = Checkpoint.open(dir)) {
            CheckpointLayout.check(config, cp);
        }
    }

    // ------------------------------------------------------------------ non-finite values

    @Test
    void nanOrInfiniteWeightsAreRefusedNamingTheTensor() throws IOException {
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
            Path dir = Fixtures.write(tmp.resolve("nan" + bad), Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32));
            fill(dir.resolve("model.safetensors"), "model.layers.1.mlp.down_proj.weight", bad);
            oneLine(
                    SafetensorsException.class,
                    dir.resolve("model.safetensors"),
                    () -> LlamaModel.load(dir),
                    "model.layers.1.mlp.down_proj.weight",
                    "non-finite");
            Path gguf = tmp.resolve("nan" + bad + ".gguf");
            oneLine(
                    SafetensorsException.class,
                    dir.resolve("model.safetensors"),
                    () -> GgufExporter.export(dir, gguf, GgufType.F16),
                    "model.layers.1.mlp.down_proj.weight",
                    "non-finite");
            assertFalse(Files.exists(gguf), "no GGUF written");
            try (Checkpoint cp = Checkpoint.open(dir)) {
                var shape = CheckpointPruner.shapeOf(dir);
                oneLine(
                        IOException.class,
                        dir.resolve("model.safetensors"),
                        () -> BaselineStatistics.magnitude(cp, shape),
                        "model.layers.1.mlp.down_proj.weight");
            }
        }
    }

    @Test
    void overflowingActivationsStopEvalNamingTheDocument() throws IOException {
        Path dir = model(Fixtures.Family.LLAMA2);
        fill(
                dir.resolve("model.safetensors"),
                "model.layers.0.mlp.down_proj.weight",
                3e38f); // the MLP output overflows
        try (LlamaModel m = LlamaModel.load(dir)) {
            NonFiniteException e = assertThrows(
                    NonFiniteException.class,
                    () -> new Perplexity(m, 16, 16, 64).evaluate(Fixtures.randomDocs(1, 10, 12)));
            assertTrue(e.getMessage().startsWith("document 1: "), e.getMessage());
        }
    }
}
