package io.cusprun.model;

import static io.cusprun.AtomicOutput.writeAll;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.AtomicOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Writes safetensors checkpoints, streaming: the caller lists the tensors (name, dtype, shape)
 * first, then the writer asks the {@link TensorSource} for each one in turn and writes it, so
 * only one tensor need exist at a time. Above {@code maxShardBytes} the tensors are split into
 * {@code model-0000i-of-0000n.safetensors} shards plus {@code model.safetensors.index.json};
 * otherwise one {@code model.safetensors}. Each header is padded with spaces to a multiple of 8
 * bytes; {@code __metadata__} is written into every file. Every file is written to a temporary
 * name in the target directory and renamed when complete.
 */
public final class SafetensorsWriter {

    /** Supplies the data of one tensor; it must have the spec's dtype and shape (any device, any strides). */
    @FunctionalInterface
    public interface TensorSource {
        Tensor tensor(TensorSpec spec) throws IOException;
    }

    /**
     * Supplies one tensor as raw little-endian bytes, for data that needs no Tensor on the way
     * (the pruner slices straight from the source file): {@code out} is positioned where the
     * tensor's data begins, and exactly {@code spec.byteSize()} bytes must be appended.
     */
    @FunctionalInterface
    public interface ByteSource {
        void writeTo(TensorSpec spec, FileChannel out) throws IOException;
    }

    public static final long DEFAULT_MAX_SHARD_BYTES = 5L * 1024 * 1024 * 1024;
    private static final int CHUNK = 64 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private long maxShardBytes = DEFAULT_MAX_SHARD_BYTES;
    private Map<String, String> metadata = Map.of();

    public SafetensorsWriter(Path dir) {
        this.dir = dir;
    }

    /** Shard when the tensors exceed this many bytes (a tensor larger than this gets a shard of its own). */
    public SafetensorsWriter maxShardBytes(long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive");
        }
        this.maxShardBytes = bytes;
        return this;
    }

    public SafetensorsWriter metadata(Map<String, String> metadata) {
        this.metadata = new LinkedHashMap<>(metadata);
        return this;
    }

    /** Writes all tensors in the given order; returns the files written (the index last, if any). */
    public List<Path> write(List<TensorSpec> specs, TensorSource source) throws IOException {
        return writeBytes(specs, (spec, out) -> {
            try (PointerScope scope = new PointerScope()) {
                writeTensor(out, spec, source.tensor(spec));
            }
        });
    }

    /** {@link #write(List, TensorSource)} with the data given as bytes. */
    public List<Path> writeBytes(List<TensorSpec> specs, ByteSource source) throws IOException {
        checkUnique(specs);
        AtomicOutput.createDirectories(dir);
        List<List<TensorSpec>> shards = split(specs);
        List<Path> written = new ArrayList<>();
        if (shards.size() == 1) {
            Path file = dir.resolve(Checkpoint.SINGLE_FILE);
            writeFile(file, shards.get(0), source);
            written.add(file);
            Files.deleteIfExists(dir.resolve(Checkpoint.INDEX_FILE));
            return written;
        }
        Map<String, String> weightMap = new TreeMap<>();
        long total = 0;
        for (int i = 0; i < shards.size(); i++) {
            String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
            Path file = dir.resolve(name);
            writeFile(file, shards.get(i), source);
            written.add(file);
            for (TensorSpec s : shards.get(i)) {
                weightMap.put(s.name(), name);
                total += s.byteSize();
            }
        }
        Path index = dir.resolve(Checkpoint.INDEX_FILE);
        writeIndex(index, total, weightMap);
        written.add(index);
        Files.deleteIfExists(dir.resolve(Checkpoint.SINGLE_FILE));
        return written;
    }

    /** Writes one file holding the given tensors (no sharding). */
    public static void writeFile(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        List<TensorSpec> specs = new ArrayList<>();
        tensors.forEach((name, t) -> specs.add(new TensorSpec(name, DType.of(t.scalar_type()), Tensors.shape(t))));
        checkUnique(specs);
        SafetensorsWriter w = new SafetensorsWriter(file.toAbsolutePath().getParent()).metadata(metadata);
        w.writeFile(file, specs, (spec, out) -> writeTensor(out, spec, tensors.get(spec.name())));
    }

    private static void checkUnique(List<TensorSpec> specs) {
        Set<String> seen = new HashSet<>();
        for (TensorSpec s : specs) {
            if (!seen.add(s.name())) {
                throw new IllegalArgumentException("tensor '" + s.name() + "' listed twice");
            }
        }
    }

    private List<List<TensorSpec>> split(List<TensorSpec> specs) {
        List<List<TensorSpec>> shards = new ArrayList<>();
        List<TensorSpec> current = new ArrayList<>();
        long size = 0;
        for (TensorSpec s : specs) {
            if (!current.isEmpty() && size + s.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(s);
            size += s.byteSize();
        }
        shards.add(current);
        return shards;
    }

    private void writeFile(Path file, List<TensorSpec> specs, ByteSource source) throws IOException {
        byte[] header = header(specs);
        AtomicOutput.writeFile(file, ch -> {
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeAll(ch, len);
            writeAll(ch, ByteBuffer.wrap(header));
            for (TensorSpec spec : specs) {
                long start = ch.position();
                try {
                    source.writeTo(spec, ch);
                } catch (DataProblem e) {
                    throw new SafetensorsException(file, spec.name(), e.getMessage());
                }
                if (ch.position() - start != spec.byteSize()) {
                    throw new SafetensorsException(
                            file,
                            spec.name(),
                            (ch.position() - start) + " bytes supplied, " + spec.byteSize() + " declared");
                }
            }
        });
    }

    private byte[] header(List<TensorSpec> specs) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (TensorSpec s : specs) {
            ObjectNode e = root.putObject(s.name());
            e.put("dtype", s.dtype().safetensorsName());
            ArrayNode shape = e.putArray("shape");
            for (long d : s.shape()) {
                shape.add(d);
            }
            ArrayNode off = e.putArray("data_offsets");
            off.add(offset);
            offset += s.byteSize();
            off.add(offset);
        }
        byte[] json = JSON.writeValueAsBytes(root);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Data that does not match its spec; writeFile rethrows it naming the file and tensor. */
    private static final class DataProblem extends IOException {
        DataProblem(String message) {
            super(message);
        }
    }

    private static void writeTensor(FileChannel ch, TensorSpec spec, Tensor t) throws IOException {
        if (t == null) {
            throw new DataProblem("no data supplied");
        }
        DType dtype = DType.of(t.scalar_type());
        long[] shape = Tensors.shape(t);
        if (dtype != spec.dtype() || !Arrays.equals(shape, spec.shape())) {
            throw new DataProblem("data is " + dtype + Arrays.toString(shape) + " but was declared " + spec.dtype()
                    + Arrays.toString(spec.shape()));
        }
        if (spec.byteSize() == 0) {
            return;
        }
        Tensor c = t.is_cuda() ? t.cpu().contiguous() : t.contiguous();
        BytePointer p = new BytePointer(c.data_ptr()).capacity(spec.byteSize());
        for (long pos = 0; pos < spec.byteSize(); pos += CHUNK) {
            long n = Math.min(CHUNK, spec.byteSize() - pos);
            ByteBuffer buf = new BytePointer(p).position(pos).limit(pos + n).asByteBuffer();
            writeAll(ch, buf);
        }
    }

    private static void writeIndex(Path index, long totalSize, Map<String, String> weightMap) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.putObject("metadata").put("total_size", totalSize);
        ObjectNode map = root.putObject("weight_map");
        weightMap.forEach(map::put);
        AtomicOutput.writeString(index, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }
}
