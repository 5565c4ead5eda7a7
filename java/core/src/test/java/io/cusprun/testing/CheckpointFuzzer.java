package io.cusprun.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.CheckpointLayout;
import io.cusprun.model.DType;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.TensorInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Seeded mutations of small model directories (the {@link Fixtures} families, single-file and
 * sharded): bit flips, truncations, appended bytes, header-length changes, header JSON edits
 * (offset shifts, dtype relabels, shape edits, removed / added / renamed / duplicated entries,
 * junk after the JSON, bad metadata), index edits (paths leading outside, missing shards,
 * duplicate and missing entries) and config.json edits. {@link #check} reads a case as loading
 * does and says whether it was refused or loaded, and if loaded whether the tensors are those of
 * the original. Used by the suite's fuzz test, the CLI fuzz test and the long run.
 */
public final class CheckpointFuzzer {

    public enum Outcome {
        REFUSED,
        UNCHANGED,
        CHANGED
    }

    /**
     * One mutated model.
     *
     * @param mayChange the mutation can make a valid checkpoint with other values (data bytes, a
     *                  relabelled half dtype, swapped equal-size tensors, a config value): loading
     *                  it is not a wrong answer
     */
    public record Case(int index, String base, String mutation, boolean mayChange, Path dir) {
        @Override
        public String toString() {
            return "case " + index + " (" + base + ": " + mutation + ")";
        }
    }

    /** An original model: its files and, per tensor, dtype, shape and bytes. */
    private record Base(String name, Path dir, boolean sharded, Map<String, Original> tensors) {}

    private record Original(DType dtype, long[] shape, byte[] bytes) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_CHARS = "{}[]\",:0123456789-+.eE \\tnulfasrF";
    private static final List<String> DTYPES =
            List.of("F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "f32", "", "X");
    private static final List<String> CONFIG_KEYS = List.of(
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "num_key_value_heads",
            "head_dim",
            "vocab_size",
            "rope_theta",
            "rms_norm_eps",
            "max_position_embeddings",
            "tie_word_embeddings",
            "rope_scaling",
            "torch_dtype",
            "bos_token_id",
            "eos_token_id",
            "architectures",
            "cusprun_layer_sizes",
            "attention_bias",
            "mlp_bias",
            "sliding_window");

    private final List<Base> bases = new ArrayList<>();
    private final Random rnd;
    private int next;

    /** Writes the original models under {@code work}. */
    public CheckpointFuzzer(Path work, long seed) throws IOException {
        this.rnd = new Random(seed);
        addBase(work, "llama2-f32", Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32), Long.MAX_VALUE);
        addBase(work, "llama3-bf16", Fixtures.spec(Fixtures.Family.LLAMA3, DType.BF16), Long.MAX_VALUE);
        addBase(work, "pruned-f32", Fixtures.spec(Fixtures.Family.LLAMA_PRUNED, DType.F32), Long.MAX_VALUE);
        addBase(work, "qwen2-f32-sharded", Fixtures.spec(Fixtures.Family.QWEN2, DType.F32), 30_000);
    }

    private void addBase(Path work, String name, Fixtures.Spec spec, long maxShard) throws IOException {
        Path dir = Fixtures.write(work.resolve("base-" + name), spec, maxShard);
        Map<String, Original> tensors = new TreeMap<>();
        try (Checkpoint cp = Checkpoint.open(dir)) {
            for (String t : cp.tensorNames()) {
                tensors.put(t, new Original(cp.info(t).dtype(), cp.info(t).shape(), bytes(cp.file(t), t)));
            }
        }
        bases.add(new Base(name, dir, Files.exists(dir.resolve(Checkpoint.INDEX_FILE)), tensors));
    }

    private static byte[] bytes(SafetensorsFile f, String name) throws IOException {
        ByteBuffer b = f.mapBytes(name);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** The base directories (unmutated). */
    public List<Path> baseDirs() {
        return bases.stream().map(Base::dir).toList();
    }

    /** Writes the next mutated model into {@code dir} (emptied first). */
    public Case next(Path dir) throws IOException {
        int index = next++;
        Base base = bases.get(rnd.nextInt(bases.size()));
        if (Files.exists(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
        try (Stream<Path> s = Files.list(base.dir())) {
            for (Path p : s.toList()) {
                Files.createLink(dir.resolve(p.getFileName()), p); // a mutated file is replaced, never written through
            }
        }
        int pick = rnd.nextInt(100);
        String[] mutation = new String[1];
        boolean mayChange;
        if (pick < 8) {
            mayChange = mutateConfig(dir, mutation);
        } else if (base.sharded() && pick < 30) {
            mayChange = mutateIndex(dir, mutation);
        } else {
            List<Path> files = new ArrayList<>();
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.toString().endsWith(".safetensors")).sorted().forEach(files::add);
            }
            Path file = files.get(rnd.nextInt(files.size()));
            mayChange = mutateFile(file, mutation);
            mutation[0] = file.getFileName() + ": " + mutation[0];
        }
        return new Case(index, base.name(), mutation[0], mayChange, dir);
    }

    // ------------------------------------------------------------------ safetensors files

    private boolean mutateFile(Path file, String[] what) throws IOException {
        byte[] b = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        int headerEnd = (int) (8 + n);
        int kind = rnd.nextInt(12);
        switch (kind) {
            case 0 -> {
                int bit = rnd.nextInt(64);
                b[bit / 8] ^= (byte) (1 << (bit % 8));
                what[0] = "header length bit " + bit + " flipped";
            }
            case 1 -> {
                long[] deltas = {-1, 1, -2, 2, -8, 8, -3, 5, -(n - 1), 1L << 32, -n - 5, Long.MIN_VALUE + 1};
                long d = deltas[rnd.nextInt(deltas.length)];
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n + d);
                what[0] = "header length " + (d > 0 ? "+" : "") + d;
            }
            case 2 -> {
                int pos = 8 + rnd.nextInt((int) n);
                int bit = rnd.nextInt(8);
                b[pos] ^= (byte) (1 << bit);
                what[0] = "header byte " + pos + " bit " + bit + " flipped";
            }
            case 3 -> {
                int pos = 8 + rnd.nextInt((int) n);
                b[pos] = (byte) JSON_CHARS.charAt(rnd.nextInt(JSON_CHARS.length()));
                what[0] = "header byte " + pos + " set to '" + (char) b[pos] + "'";
            }
            case 4 -> {
                int len = rnd.nextBoolean() ? rnd.nextInt(Math.min(b.length, headerEnd + 16)) : rnd.nextInt(b.length);
                b = Arrays.copyOf(b, len);
                what[0] = "truncated to " + len + " bytes";
            }
            case 5 -> {
                int extra = 1 + rnd.nextInt(64);
                byte[] c = Arrays.copyOf(b, b.length + extra);
                boolean spaces = rnd.nextBoolean();
                for (int i = b.length; i < c.length; i++) {
                    c[i] = spaces ? (byte) ' ' : (byte) rnd.nextInt(256);
                }
                b = c;
                what[0] = extra + (spaces ? " spaces" : " random bytes") + " appended";
            }
            case 6 -> {
                int pos = headerEnd + rnd.nextInt(b.length - headerEnd);
                int bit = rnd.nextInt(8);
                b[pos] ^= (byte) (1 << bit);
                what[0] = "data byte " + pos + " bit " + bit + " flipped";
                replace(file, b);
                return true;
            }
            default -> {
                String header = new String(b, 8, (int) n, StandardCharsets.UTF_8);
                byte[] data = Arrays.copyOfRange(b, headerEnd, b.length);
                boolean[] mayChange = {false};
                String edited = editHeader(header, what, mayChange);
                byte[] h = edited.getBytes(StandardCharsets.UTF_8);
                long len = h.length;
                if (rnd.nextInt(8) == 0) {
                    long d = rnd.nextBoolean() ? -1 : 1;
                    len += d;
                    what[0] += ", header length " + (d > 0 ? "+1" : "-1");
                }
                ByteBuffer out = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
                out.putLong(len).put(h).put(data);
                replace(file, out.array());
                return mayChange[0];
            }
        }
        replace(file, b);
        return false;
    }

    /** A header JSON edit; sets mayChange[0] when the result may validly hold other values. */
    private String editHeader(String header, String[] what, boolean[] mayChange) throws IOException {
        ObjectNode root = (ObjectNode) JSON.readTree(header);
        List<String> names = new ArrayList<>();
        root.fieldNames().forEachRemaining(k -> {
            if (!k.equals("__metadata__")) {
                names.add(k);
            }
        });
        String t = names.get(rnd.nextInt(names.size()));
        ObjectNode e = (ObjectNode) root.get(t);
        ArrayNode off = (ArrayNode) e.get("data_offsets");
        ArrayNode shape = (ArrayNode) e.get("shape");
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        int kind = rnd.nextInt(17);
        String text = null;
        switch (kind) {
            case 0 -> {
                long d = pickShift();
                off.set(0, begin + d);
                off.set(1, end + d);
                what[0] = t + " offsets shifted by " + d;
            }
            case 1 -> {
                long d = pickShift();
                off.set(rnd.nextInt(2), rnd.nextBoolean() ? begin + d : end + d);
                what[0] = t + " one offset moved by " + d;
            }
            case 2 -> {
                String dt = DTYPES.get(rnd.nextInt(DTYPES.size()));
                String old = e.get("dtype").asText();
                e.put("dtype", dt);
                mayChange[0] = (old.equals("BF16") || old.equals("F16")) && (dt.equals("BF16") || dt.equals("F16"));
                what[0] = t + " dtype " + old + " -> '" + dt + "'";
            }
            case 3 -> {
                if (shape.isEmpty()) {
                    shape.add(1);
                } else {
                    int i = rnd.nextInt(shape.size());
                    long[] vals = {
                        shape.get(i).asLong() + 1,
                        shape.get(i).asLong() - 1,
                        shape.get(i).asLong() * 2,
                        0,
                        -1,
                        1L << 40,
                        Long.MAX_VALUE
                    };
                    shape.set(i, vals[rnd.nextInt(vals.length)]);
                }
                what[0] = t + " shape -> " + shape;
            }
            case 4 -> {
                if (shape.size() == 2) {
                    JsonNode a = shape.get(0);
                    shape.set(0, shape.get(1));
                    shape.set(1, a);
                } else {
                    shape.add(1);
                }
                what[0] = t + " shape -> " + shape;
            }
            case 5 -> {
                root.remove(t);
                what[0] = t + " entry removed";
            }
            case 6 -> {
                String other = names.get(rnd.nextInt(names.size()));
                root.set(other.replace("weight", "extra") + (rnd.nextBoolean() ? "" : ".x"), e.deepCopy());
                what[0] = "copy of " + t + " added";
            }
            case 7 -> {
                String other = names.get(rnd.nextInt(names.size()));
                text = root.toString()
                        .replaceFirst(
                                "\"" + java.util.regex.Pattern.quote(t) + "\"",
                                java.util.regex.Matcher.quoteReplacement("\"" + other + "\""));
                what[0] = t + " renamed to " + other;
            }
            case 8 -> {
                ObjectNode m = root.has("__metadata__")
                        ? (ObjectNode) root.get("__metadata__")
                        : root.putObject("__metadata__");
                switch (rnd.nextInt(4)) {
                    case 0 -> m.put("format", 7);
                    case 1 -> m.putArray("format");
                    case 2 -> root.put("__metadata__", "pt");
                    default -> root.remove("__metadata__");
                }
                what[0] = "metadata edited: " + root.get("__metadata__");
            }
            case 9 -> {
                String other = names.get(rnd.nextInt(names.size()));
                ObjectNode o = (ObjectNode) root.get(other);
                long size = end - begin;
                long osize = o.get("data_offsets").get(1).asLong()
                        - o.get("data_offsets").get(0).asLong();
                JsonNode tmp = e.get("data_offsets");
                e.set("data_offsets", o.get("data_offsets"));
                o.set("data_offsets", tmp);
                mayChange[0] = size == osize;
                what[0] = "offsets of " + t + " and " + other + " swapped";
            }
            case 10 -> {
                ObjectNode shuffled = JsonNodeFactory.instance.objectNode();
                List<String> keys = new ArrayList<>();
                root.fieldNames().forEachRemaining(keys::add);
                java.util.Collections.shuffle(keys, rnd);
                for (String k : keys) {
                    shuffled.set(k, root.get(k));
                }
                root = shuffled;
                what[0] = "entries reordered";
            }
            case 11 -> {
                e.put(rnd.nextBoolean() ? "extra" : "dtype2", 1);
                what[0] = t + " unknown key added";
            }
            case 12 -> {
                switch (rnd.nextInt(5)) {
                    case 0 -> shape.set(0, 2.0);
                    case 1 -> shape.set(0, "32");
                    case 2 -> shape.set(0, new java.math.BigInteger("100000000000000000000000"));
                    case 3 -> e.put("shape", 5);
                    default -> e.putNull("shape");
                }
                what[0] = t + " shape value -> " + e.get("shape");
            }
            case 13 -> {
                switch (rnd.nextInt(4)) {
                    case 0 -> off.add(end);
                    case 1 -> e.put("data_offsets", "0");
                    case 2 -> off.set(0, (double) begin);
                    default -> off.remove(1);
                }
                what[0] = t + " data_offsets -> " + e.get("data_offsets");
            }
            case 14 -> {
                text = root.toString();
                int close = text.lastIndexOf('}');
                String[] junk = {"x", "}", "{}", "\0", ",", "  \n", "\t", "0"};
                String j = junk[rnd.nextInt(junk.length)];
                text = text.substring(0, close + 1) + j;
                what[0] = "junk " + JSON.writeValueAsString(j) + " after the JSON";
            }
            case 15 -> {
                text = "{\"" + t + "\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                        + root.toString().substring(1);
                what[0] = t + " given twice";
            }
            default -> {
                text = root.toString() + " ".repeat(rnd.nextInt(16));
                what[0] = "rewritten with space padding";
            }
        }
        return text != null ? text : root.toString();
    }

    private long pickShift() {
        long[] shifts = {1, -1, 2, -2, 4, -4, 8, -8, 16, 64, -64, 1 << 20};
        return shifts[rnd.nextInt(shifts.length)];
    }

    // ------------------------------------------------------------------ index

    private boolean mutateIndex(Path dir, String[] what) throws IOException {
        Path index = dir.resolve(Checkpoint.INDEX_FILE);
        String text = Files.readString(index);
        ObjectNode root = (ObjectNode) JSON.readTree(text);
        ObjectNode map = (ObjectNode) root.get("weight_map");
        List<String> names = new ArrayList<>();
        map.fieldNames().forEachRemaining(names::add);
        String t = names.get(rnd.nextInt(names.size()));
        String out = null;
        switch (rnd.nextInt(9)) {
            case 0 -> {
                String[] bad = {
                    "../../../../etc/passwd",
                    "/etc/passwd",
                    "../" + dir.getFileName() + "/" + map.get(t).asText(),
                    "sub/x.safetensors",
                    "..",
                    ".",
                    "",
                    "nope.safetensors",
                    Checkpoint.INDEX_FILE,
                    "config.json",
                    dir.resolve(map.get(t).asText()).toString(),
                    "a\u0000b"
                };
                String s = bad[rnd.nextInt(bad.length)];
                map.put(t, s);
                what[0] = "index: " + t + " -> " + JSON.writeValueAsString(s);
            }
            case 1 -> {
                Map<String, String> shards = new LinkedHashMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    shards.put(e.getValue().asText(), e.getValue().asText());
                }
                List<String> list = new ArrayList<>(shards.keySet());
                String s = list.get(rnd.nextInt(list.size()));
                boolean same = s.equals(map.get(t).asText());
                map.put(t, s);
                what[0] = "index: " + t + " -> other shard " + s + (same ? " (same)" : "");
            }
            case 2 -> {
                map.remove(t);
                what[0] = "index: " + t + " removed";
            }
            case 3 -> {
                map.put(t.replace("weight", "bias2"), map.get(t).asText());
                what[0] = "index: entry for a tensor no shard has";
            }
            case 4 -> {
                out = text.replaceFirst(
                        "\"weight_map\"\\s*:\\s*\\{",
                        "\"weight_map\" : { \"" + java.util.regex.Matcher.quoteReplacement(t)
                                + "\" : \"x.safetensors\",");
                what[0] = "index: " + t + " listed twice";
            }
            case 5 -> {
                byte[] b = text.getBytes(StandardCharsets.UTF_8);
                int pos = rnd.nextInt(b.length);
                b[pos] ^= (byte) (1 << rnd.nextInt(8));
                replace(index, b);
                what[0] = "index: byte " + pos + " flipped";
                return false;
            }
            case 6 -> {
                root.putArray("weight_map").add(t);
                what[0] = "index: weight_map is an array";
            }
            case 7 -> {
                out = text.substring(0, rnd.nextInt(text.length()));
                what[0] = "index: truncated";
            }
            default -> {
                map.put(t, 5);
                what[0] = "index: " + t + " -> 5";
            }
        }
        replace(index, out != null ? out : root.toPrettyString());
        return false;
    }

    // ------------------------------------------------------------------ config.json

    private boolean mutateConfig(Path dir, String[] what) throws IOException {
        Path cfg = dir.resolve(ModelConfig.FILE_NAME);
        ObjectNode c = (ObjectNode) JSON.readTree(cfg.toFile());
        String key = CONFIG_KEYS.get(rnd.nextInt(CONFIG_KEYS.size()));
        Object[] values = {
            0,
            -1,
            1,
            3,
            7,
            64,
            1e308,
            -0.0,
            1.5,
            "x",
            null,
            true,
            Integer.MAX_VALUE,
            Long.MAX_VALUE,
            new java.math.BigInteger("99999999999999999999"),
            List.of(),
            Map.of(),
            Double.NaN,
            "Infinity"
        };
        Object v = values[rnd.nextInt(values.length)];
        if (v instanceof Double d && d.isNaN()) {
            String text = c.toString().replaceFirst("^\\{", "{\"" + key + "\":NaN,");
            replace(cfg, text);
            what[0] = "config: " + key + " = NaN (non-standard JSON)";
            return true;
        }
        c.set(key, JSON.valueToTree(v));
        replace(cfg, c.toPrettyString());
        what[0] = "config: " + key + " = " + c.get(key);
        return true;
    }

    /** Writes a file of the case anew (its old name may be a link to a base file). */
    private static void replace(Path file, byte[] bytes) throws IOException {
        Files.deleteIfExists(file);
        Files.write(file, bytes);
    }

    private static void replace(Path file, String text) throws IOException {
        replace(file, text.getBytes(StandardCharsets.UTF_8));
    }

    // ------------------------------------------------------------------ checking

    /**
     * Reads the case as loading does (config.json, every file and index, config against
     * checkpoint, every tensor's values, finiteness included); with {@code fullLoad} also builds
     * the model. Returns whether the tensors equal the original's; any exception propagates.
     */
    public Outcome check(Case c, boolean fullLoad) throws IOException {
        Base base = bases.stream()
                .filter(b -> b.name().equals(c.base()))
                .findFirst()
                .orElseThrow();
        ModelConfig config = ModelConfig.read(c.dir());
        boolean same = true;
        try (Checkpoint cp = Checkpoint.open(c.dir())) {
            CheckpointLayout.check(config, cp);
            if (!cp.tensorNames().equals(base.tensors().keySet())) {
                same = false;
            }
            for (String t : cp.tensorNames()) {
                cp.checkFinite(t);
                Original o = base.tensors().get(t);
                TensorInfo info = cp.info(t);
                if (o == null
                        || o.dtype() != info.dtype()
                        || !Arrays.equals(o.shape(), info.shape())
                        || !Arrays.equals(o.bytes(), bytes(cp.file(t), t))) {
                    same = false;
                }
            }
        }
        if (fullLoad) {
            try (LlamaModel m = LlamaModel.load(c.dir())) {
                if (m.numLayers() != config.numHiddenLayers()) {
                    throw new IllegalStateException("loaded " + m.numLayers() + " layers");
                }
            }
        }
        return same ? Outcome.UNCHANGED : Outcome.CHANGED;
    }

    /**
     * Null when {@code e} is a clean error for a case in {@code dir}: an IOException or
     * IllegalArgumentException (or subclass) with a one-line message naming a file of the case;
     * else what is wrong with it.
     */
    public static String cleanErrorProblem(Throwable e, Path dir) {
        Throwable t = e instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : e;
        if (!(t instanceof IOException) && !(t instanceof IllegalArgumentException)) {
            return "not a clean error type: " + t;
        }
        String m = t.getMessage();
        if (m == null || m.isBlank() || m.contains("\n") || m.contains("\r")) {
            return "message not one line: " + m;
        }
        if (!m.contains(dir.toString())) {
            return "message names no file of the case: " + m;
        }
        return null;
    }
}
