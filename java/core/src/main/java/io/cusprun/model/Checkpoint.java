package io.cusprun.model;

import io.cusprun.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
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

    private Checkpoint(Path location, List<SafetensorsFile> files, Map<String, SafetensorsFile> byTensor) {
        this.location = location;
        this.files = List.copyOf(files);
        this.byTensor = Collections.unmodifiableMap(byTensor);
    }

    /** Opens a model directory, an index file, or one .safetensors file. */
    public static Checkpoint open(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            Path index = path.resolve(INDEX_FILE);
            if (Files.isRegularFile(index)) {
                return openIndex(index);
            }
            Path single = path.resolve(SINGLE_FILE);
            if (Files.isRegularFile(single)) {
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
                    throw new SafetensorsException(p, name, "also in " + prev.path().getFileName());
                }
            }
        }
        return new Checkpoint(location, files, byTensor);
    }

    private static Checkpoint openIndex(Path index) throws IOException {
        JsonNode root = Json.read(index);
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new SafetensorsException(index, "no \"weight_map\" object");
        }
        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafetensorsFile> opened = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String shard = e.getValue().asText();
            SafetensorsFile f = opened.get(shard);
            if (f == null) {
                Path p = dir.resolve(shard);
                if (!Files.isRegularFile(p)) {
                    throw new SafetensorsException(index, e.getKey(), "shard " + shard + " does not exist");
                }
                f = SafetensorsFile.open(p);
                opened.put(shard, f);
            }
            if (f.header().tensor(e.getKey()) == null) {
                throw new SafetensorsException(index, e.getKey(), "listed in weight_map but missing from " + shard);
            }
            byTensor.put(e.getKey(), f);
        }
        return new Checkpoint(index, new ArrayList<>(opened.values()), byTensor);
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

    /** The stored tensor as a CPU view of the mapping (see {@link SafetensorsFile#tensor}). */
    public Tensor tensor(String name) throws SafetensorsException {
        return file(name).tensor(name);
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
