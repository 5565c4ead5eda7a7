package io.cusprun.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * The weights of a model directory: a single {@code model.safetensors}, or the shards named by
 * {@code model.safetensors.index.json} ({"metadata": {...}, "weight_map": {tensor: file}}).
 * Every file is validated on open; tensors come out memory-mapped (see {@link SafetensorsFile}).
 */
public final class Checkpoint implements AutoCloseable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path location;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byTensor;
    private final Set<String> finiteChecked = ConcurrentHashMap.newKeySet();

    private Checkpoint(Path location, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.location = location;
        this.files = List.copyOf(files);
        this.byTensor = Collections.unmodifiableMap(byTensor);
    }

    /** Opens a model directory, an index file, or one .safetensors file. */
    public static Checkpoint open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            // exists, not isRegularFile: a FIFO or device there is refused by name when it is read
            if (Files.exists(index)) {
                return openIndex(index);
            }
            Path single = path.resolve(SINGLE_FILE);
            if (Files.exists(single)) {
                return openFiles(path, List.of(single));
            }
            throw new IOException(path + ": no " + SINGLE_FILE + " or " + INDEX_FILE);
        }
        if (path.getFileName().toString().endsWith(".json")) {
            return openIndex(path);
        }
        return openFiles(path, List.of(path));
    }

    private static Checkpoint openFiles(Path location, List<Path> paths) throws IOException {
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        for (Path p : paths) {
            SafetensorsFile f = SafetensorsFile.open(p);
            files.add(f);
            for (String name : f.header().tensors().keySet()) {
                SafetensorsFile prev = byTensor.put(name, f);
                if (prev != null) {
                    throw new SafetensorsException(
                            p, name, "also in " + prev.path().getFileName());
                }
            }
        }
        return new Checkpoint(location, files, byTensor);
    }

    private static final ObjectMapper STRICT_JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * Opens the shards an index names. Every weight_map value must be a plain file name in the
     * index's directory (no separator, no "..", not absolute, and its real path inside the
     * directory); every tensor of a shard must be listed for that shard, and every listed tensor
     * must be in it.
     */
    private static Checkpoint openIndex(Path index) throws IOException {
        io.cusprun.Inputs.regularFile(index);
        JsonNode root;
        try {
            root = STRICT_JSON.readTree(index.toFile());
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(index, Json.invalid(e));
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new SafetensorsException(index, "no \"weight_map\" object");
        }
        if (map.isEmpty()) {
            throw new SafetensorsException(index, "\"weight_map\" lists no tensors");
        }
        Path dir = index.toAbsolutePath().getParent();
        Path realDir = dir.toRealPath();
        Map<String, Path> shardPaths = new LinkedHashMap<>();
        Map<String, String> listed = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new SafetensorsException(index, e.getKey(), "weight_map value is not a file name");
            }
            String shard = e.getValue().asText();
            if (!shardPaths.containsKey(shard)) {
                shardPaths.put(shard, shardPath(index, realDir, e.getKey(), shard));
            }
            listed.put(e.getKey(), shard);
        }
        List<SafetensorsFile> files = new ArrayList<>();
        Map<String, SafetensorsFile> byShard = new LinkedHashMap<>();
        for (Map.Entry<String, Path> s : shardPaths.entrySet()) {
            SafetensorsFile f = SafetensorsFile.open(s.getValue());
            files.add(f);
            byShard.put(s.getKey(), f);
            for (String name : f.header().tensors().keySet()) {
                String where = listed.get(name);
                if (where == null) {
                    throw new SafetensorsException(index, name, "in shard " + s.getKey() + " but not in weight_map");
                }
                if (!where.equals(s.getKey())) {
                    throw new SafetensorsException(
                            index, name, "in shard " + s.getKey() + " but weight_map says " + where);
                }
            }
        }
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : listed.entrySet()) {
            SafetensorsFile f = byShard.get(e.getValue());
            if (f.header().tensor(e.getKey()) == null) {
                throw new SafetensorsException(
                        index, e.getKey(), "listed in weight_map but missing from " + e.getValue());
            }
            byTensor.put(e.getKey(), f);
        }
        return new Checkpoint(index, files, byTensor);
    }

    /** A weight_map file name as a path: a plain name of an existing regular file whose real path is in {@code realDir}. */
    private static Path shardPath(Path index, Path realDir, String tensor, String shard) throws IOException {
        String problem = null;
        if (shard.isEmpty()
                || shard.equals(".")
                || shard.equals("..")
                || shard.indexOf('/') >= 0
                || shard.indexOf('\\') >= 0
                || shard.indexOf('\0') >= 0
                || shard.chars().anyMatch(Character::isISOControl)) {
            problem = "is not a plain file name in the model directory";
        }
        if (problem == null) {
            Path p;
            try {
                p = realDir.resolve(shard);
            } catch (InvalidPathException ex) {
                throw new SafetensorsException(index, tensor, "shard name is not a valid file name");
            }
            if (p.isAbsolute() && !p.getParent().equals(realDir)) {
                problem = "is not a plain file name in the model directory";
            } else if (!Files.isRegularFile(p)) {
                throw new SafetensorsException(index, tensor, "shard " + printable(shard) + " does not exist");
            } else {
                Path real = p.toRealPath();
                if (!real.startsWith(realDir) || !real.getParent().equals(realDir)) {
                    problem = "leads outside the model directory";
                } else {
                    return real;
                }
            }
        }
        throw new SafetensorsException(index, tensor, "shard name " + printable(shard) + " " + problem);
    }

    /** A name for an error message: quoted, control characters escaped, at most 80 characters. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder("'");
        s.codePoints().limit(80).forEach(c -> {
            if (Character.isISOControl(c)) {
                b.append(String.format("\\u%04x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append(s.codePointCount(0, s.length()) > 80 ? "...'" : "'").toString();
    }

    /** Where it was opened from (directory, index or file). */
    public Path location() {
        return location;
    }

    public List<SafetensorsFile> files() {
        return files;
    }

    public Set<String> tensorNames() {
        return byTensor.keySet();
    }

    public boolean has(String name) {
        return byTensor.containsKey(name);
    }

    public TensorInfo info(String name) throws SafetensorsException {
        return file(name).info(name);
    }

    /** The file holding {@code name}. */
    public SafetensorsFile file(String name) throws SafetensorsException {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new SafetensorsException(location, name, "missing from the checkpoint");
        }
        return f;
    }

    /**
     * The stored tensor as a CPU view of the mapping (see {@link SafetensorsFile#tensor}). A
     * floating-point tensor is checked for NaN and infinite values the first time it is taken
     * (one pass over its data; an error names the file, the tensor and the first bad element).
     */
    public Tensor tensor(String name) throws SafetensorsException {
        SafetensorsFile f = file(name);
        Tensor t = f.tensor(name);
        if (!finiteChecked.contains(name)) {
            Tensors.checkFinite(t, f.path(), name);
            finiteChecked.add(name);
        }
        return t;
    }

    /**
     * Reads the stored tensor into {@code dst} (a contiguous CPU tensor of its dtype and size)
     * without mapping the file; checked for NaN and infinity the first time, as {@link #tensor}.
     */
    public void readInto(String name, Tensor dst) throws IOException {
        SafetensorsFile f = file(name);
        f.readInto(name, dst);
        if (!finiteChecked.contains(name)) {
            Tensors.checkFinite(dst, f.path(), name);
            finiteChecked.add(name);
        }
    }

    /** The stored tensor as a new CPU tensor read from the file (not a view of a mapping). */
    public Tensor read(String name) throws IOException {
        TensorInfo info = info(name);
        Tensor out = Tensors.emptyCpu(info.dtype().scalarType(), info.shape());
        readInto(name, out);
        return out;
    }

    /** Rows of a 2-D stored tensor (see {@link SafetensorsFile#readRows}), each checked for NaN and infinity. */
    public Tensor readRows(String name, long[] rows) throws IOException {
        SafetensorsFile f = file(name);
        Tensor out = f.readRows(name, rows);
        Tensors.checkFinite(out, f.path(), name);
        return out;
    }

    /**
     * Checks that a floating-point tensor holds no NaN or infinity (once per tensor), reading it
     * in pieces of 16 MB with positional reads: checking a whole checkpoint (prune, export) keeps
     * no file pages resident and needs one piece of memory, whatever the model's size.
     */
    public void checkFinite(String name) throws IOException {
        if (finiteChecked.contains(name)) return;
        TensorInfo info = info(name);
        if (info.dtype().isFloatingPoint() && info.byteSize() > 0) {
            int size = info.dtype().byteSize();
            long total = info.byteSize() / size;
            long piece = Math.min(total, (16L << 20) / size);
            SafetensorsFile f = file(name);
            try (PointerScope scope = new PointerScope()) {
                Tensor buffer = Tensors.emptyCpu(info.dtype().scalarType(), piece);
                for (long at = 0; at < total; at += piece) {
                    long n = Math.min(piece, total - at);
                    Tensor part = buffer.narrow(0, 0, n);
                    f.readRange(name, at * size, part);
                    long bad = Tensors.firstNonFiniteIndex(part);
                    if (bad >= 0) {
                        throw new SafetensorsException(
                                f.path(),
                                name,
                                "non-finite value: "
                                        + Tensors.describeNonFinite(
                                                part.get(bad).item_double(),
                                                at + bad,
                                                java.util.Arrays.toString(info.shape())));
                    }
                }
            }
        }
        finiteChecked.add(name);
    }

    /** The __metadata__ of all files merged (first file wins). */
    public Map<String, String> metadata() {
        Map<String, String> out = new LinkedHashMap<>();
        for (SafetensorsFile f : files) {
            f.header().metadata().forEach(out::putIfAbsent);
        }
        return out;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
