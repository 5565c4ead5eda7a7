package io.cusprun.export;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a GGUF file (version 2 or 3): metadata, tensor infos, and the values of tensors of the
 * types cusprun writes (f32, f16, bf16, q8_0) decoded to floats. Used to check exports; every
 * malformed input is an IOException naming the file.
 */
public final class GgufReader {

    /** One tensor: ggml dimensions innermost first, its type id, and its offset in the data region. */
    public record TensorInfo(String name, long[] ne, int ggmlType, long offset) {

        public long numel() {
            long n = 1;
            for (long d : ne) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        /** The torch-order shape (the reverse of ne). */
        public long[] shape() {
            long[] s = new long[ne.length];
            for (int i = 0; i < ne.length; i++) {
                s[i] = ne[ne.length - 1 - i];
            }
            return s;
        }

        public GgufType type() {
            return GgufType.ofGgmlId(ggmlType);
        }
    }

    private final Path file;
    private final int version;
    private final GgufMetadata metadata;
    private final Map<String, TensorInfo> tensors;
    private final long dataStart;

    private GgufReader(Path file, int version, GgufMetadata metadata, Map<String, TensorInfo> tensors, long dataStart) {
        this.file = file;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.dataStart = dataStart;
    }

    public static GgufReader open(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            In in = new In(ch, file);
            if (in.getInt() != GgufWriter.MAGIC) {
                throw new IOException(file + ": not a GGUF file (bad magic)");
            }
            int version = in.getInt();
            if (version != 2 && version != 3) {
                throw new IOException(file + ": unsupported GGUF version " + version);
            }
            long nTensors = in.getLong();
            long nKv = in.getLong();
            GgufMetadata meta = new GgufMetadata();
            for (long i = 0; i < nKv; i++) {
                String key = in.getString();
                int type = in.getInt();
                if (type == GgufMetadata.ARRAY) {
                    int et = in.getInt();
                    long n = in.getLong();
                    List<Object> items = new ArrayList<>();
                    for (long j = 0; j < n; j++) {
                        items.add(scalar(in, et));
                    }
                    meta.put(key, new GgufMetadata.Value(type, et, items));
                } else {
                    meta.put(key, new GgufMetadata.Value(type, -1, scalar(in, type)));
                }
            }
            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (long i = 0; i < nTensors; i++) {
                String name = in.getString();
                int nd = in.getInt();
                long[] ne = new long[nd];
                for (int d = 0; d < nd; d++) {
                    ne[d] = in.getLong();
                }
                int type = in.getInt();
                long offset = in.getLong();
                if (tensors.put(name, new TensorInfo(name, ne, type, offset)) != null) {
                    throw new IOException(file + ": tensor " + name + " listed twice");
                }
            }
            GgufMetadata.Value al = meta.get("general.alignment");
            long alignment = al == null ? GgufWriter.ALIGNMENT : al.asLong();
            long pos = in.position();
            long dataStart = (pos + alignment - 1) / alignment * alignment;
            for (TensorInfo t : tensors.values()) {
                if (t.offset() % alignment != 0) {
                    throw new IOException(file + ": tensor " + t.name() + " is not aligned to " + alignment);
                }
                GgufType gt = t.type();
                if (gt != null && dataStart + t.offset() + gt.bytes(t.numel()) > ch.size()) {
                    throw new IOException(file + ": tensor " + t.name() + " extends past the end of the file");
                }
            }
            return new GgufReader(file, version, meta, tensors, dataStart);
        }
    }

    private static Object scalar(In in, int type) throws IOException {
        return switch (type) {
            case GgufMetadata.UINT8 -> (long) (in.get() & 0xff);
            case GgufMetadata.INT8 -> (long) in.get();
            case GgufMetadata.UINT16 -> (long) (in.getShort() & 0xffff);
            case GgufMetadata.INT16 -> (long) in.getShort();
            case GgufMetadata.UINT32 -> in.getInt() & 0xffffffffL;
            case GgufMetadata.INT32 -> (long) in.getInt();
            case GgufMetadata.UINT64, GgufMetadata.INT64 -> in.getLong();
            case GgufMetadata.FLOAT32 -> in.getFloat();
            case GgufMetadata.FLOAT64 -> in.getDouble();
            case GgufMetadata.BOOL -> in.get() != 0;
            case GgufMetadata.STRING -> in.getString();
            default -> throw new IOException(in.file + ": unknown GGUF value type " + type);
        };
    }

    public Path file() {
        return file;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public TensorInfo tensor(String name) throws IOException {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new IOException(file + ": no tensor " + name);
        }
        return t;
    }

    /** Where tensor data begins (after the header, aligned). */
    public long dataStart() {
        return dataStart;
    }

    /** All values of a tensor (under 2^31 values), decoded to floats, in row-major torch order. */
    public float[] floats(String name) throws IOException {
        TensorInfo t = tensor(name);
        GgufType type = t.type();
        if (type == null) {
            throw new IOException(
                    file + ": tensor " + name + " has ggml type " + t.ggmlType() + ", not one cusprun reads");
        }
        long bytes = type.bytes(t.numel());
        if (t.numel() > Integer.MAX_VALUE || bytes > Integer.MAX_VALUE) {
            throw new IOException(file + ": tensor " + name + " is too large to read at once");
        }
        ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long pos = dataStart + t.offset();
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos + buf.position());
                if (n < 0) {
                    throw new IOException(file + ": tensor " + name + " cut short");
                }
            }
        }
        buf.flip();
        float[] out = new float[(int) t.numel()];
        Encodings.decode(type, buf, out, 0, out.length);
        return out;
    }

    /** A little-endian reader over the start of a file. */
    private static final class In {
        private final FileChannel ch;
        private final Path file;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        private long bufStart;

        In(FileChannel ch, Path file) {
            this.ch = ch;
            this.file = file;
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        private void need(int n) throws IOException {
            if (buf.remaining() >= n) {
                return;
            }
            long pos = position();
            buf.compact();
            bufStart = pos;
            while (buf.position() < n) {
                int r = ch.read(buf, bufStart + buf.position());
                if (r < 0) {
                    throw new IOException(file + ": truncated GGUF header");
                }
            }
            buf.flip();
        }

        byte get() throws IOException {
            need(1);
            return buf.get();
        }

        short getShort() throws IOException {
            need(2);
            return buf.getShort();
        }

        int getInt() throws IOException {
            need(4);
            return buf.getInt();
        }

        long getLong() throws IOException {
            need(8);
            return buf.getLong();
        }

        float getFloat() throws IOException {
            need(4);
            return buf.getFloat();
        }

        double getDouble() throws IOException {
            need(8);
            return buf.getDouble();
        }

        String getString() throws IOException {
            long n = getLong();
            if (n < 0 || n > (1 << 24)) {
                throw new IOException(file + ": implausible string length " + n);
            }
            byte[] b = new byte[(int) n];
            int off = 0;
            while (off < n) {
                need(1);
                int m = Math.min(buf.remaining(), (int) n - off);
                buf.get(b, off, m);
                off += m;
            }
            return new String(b, StandardCharsets.UTF_8);
        }
    }
}
