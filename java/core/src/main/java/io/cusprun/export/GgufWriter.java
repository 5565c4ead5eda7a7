package io.cusprun.export;

import io.cusprun.AtomicOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Writes a GGUF version 3 file, streaming: the header (metadata and tensor infos, with every
 * offset computed up front) first, then each tensor's data in turn as its {@link RowSource}
 * supplies rows of floats, encoded to the tensor's type and padded to the alignment. The file is
 * written through {@link AtomicOutput}, like every output: on any failure or interruption nothing is
 * left at the target.
 */
public final class GgufWriter {

    public static final int MAGIC = 0x46554747; // "GGUF" little-endian
    public static final int VERSION = 3;
    public static final int ALIGNMENT = 32;
    private static final int CHUNK = 8 << 20;

    /** Supplies a tensor's values, whole rows (of {@code ne[0]} values) at a time, in order. */
    @FunctionalInterface
    public interface RowSource {
        void supply(RowSink sink) throws IOException;
    }

    @FunctionalInterface
    public interface RowSink {
        /** Takes {@code n} values (whole rows) from {@code values[0..n)}. */
        void accept(float[] values, int n) throws IOException;
    }

    /**
     * One tensor to write.
     *
     * @param ne ggml dimensions, innermost first (the reverse of the torch shape)
     */
    public record Tensor(String name, long[] ne, GgufType type, RowSource source) {

        public long numel() {
            long n = 1;
            for (long d : ne) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }

        public long bytes() {
            return type.bytes(numel());
        }
    }

    private GgufWriter() {}

    /** Writes {@code file}, refusing values its types cannot hold; returns its size in bytes. */
    public static long write(Path file, GgufMetadata metadata, List<Tensor> tensors) throws IOException {
        return write(file, metadata, tensors, Range.REFUSE, null);
    }

    /**
     * Writes {@code file} through {@link AtomicOutput} (the temporary {@code .NAME.tmp-PID},
     * deleted on failure or on SIGTERM/SIGINT); returns its size in bytes. Finite values a
     * tensor's type cannot hold (f16 beyond ±65504, a q8_0 block whose f16 scale would overflow,
     * bf16 beyond its largest finite value) are refused naming the tensor, or with {@link
     * Range#CLAMP} clamped to the largest value the type holds, one note per clamped tensor to
     * {@code notes}. Non-finite values are always refused.
     */
    public static long write(
            Path file, GgufMetadata metadata, List<Tensor> tensors, Range range, Consumer<String> notes)
            throws IOException {
        Set<String> names = new HashSet<>();
        for (Tensor t : tensors) {
            if (!names.add(t.name())) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' listed twice");
            }
            if (t.ne().length == 0 || t.ne()[0] % t.type().blockSize() != 0) {
                throw new IllegalArgumentException(t.name() + ": row length is not a multiple of the "
                        + t.type().optionName() + " block size " + t.type().blockSize());
            }
        }
        Path abs = file.toAbsolutePath().normalize();
        AtomicOutput.createDirectories(abs.getParent());
        AtomicOutput.writeFile(abs, ch -> {
            Out out = new Out(ch);
            out.putInt(MAGIC);
            out.putInt(VERSION);
            out.putLong(tensors.size());
            out.putLong(metadata.values().size());
            for (Map.Entry<String, GgufMetadata.Value> e : metadata.values().entrySet()) {
                out.putString(e.getKey());
                out.putInt(e.getValue().type());
                writeValue(
                        out,
                        e.getValue().type(),
                        e.getValue().elementType(),
                        e.getValue().value());
            }
            long offset = 0;
            for (Tensor t : tensors) {
                out.putString(t.name());
                out.putInt(t.ne().length);
                for (long d : t.ne()) {
                    out.putLong(d);
                }
                out.putInt(t.type().ggmlId());
                out.putLong(offset);
                offset = align(offset + t.bytes());
            }
            out.pad();
            for (Tensor t : tensors) {
                long start = out.position();
                long[] count = {0};
                Encodings.RangeCheck check = new Encodings.RangeCheck(t.type());
                t.source().supply((values, n) -> {
                    if (n % t.ne()[0] != 0) {
                        throw new IOException(t.name() + ": " + n + " values is not a whole number of rows");
                    }
                    if (count[0] + n > t.numel()) {
                        throw new IOException(t.name() + ": more values supplied than its " + t.numel());
                    }
                    check.scan(values, n, count[0], range == Range.CLAMP);
                    if (check.nonFinite() > 0 || (range == Range.REFUSE && check.outOfRange() > 0)) {
                        throw new IOException(t.name() + ": " + check.describe()
                                + (check.nonFinite() > 0 ? "" : "; not written (export --clamp clamps them)"));
                    }
                    count[0] += n;
                    out.encode(t.type(), values, n);
                });
                if (count[0] != t.numel()) {
                    throw new IOException(t.name() + ": " + count[0] + " values supplied, " + t.numel() + " declared");
                }
                if (out.position() - start != t.bytes()) {
                    throw new IllegalStateException(
                            t.name() + ": wrote " + (out.position() - start) + " bytes, not " + t.bytes());
                }
                if (check.outOfRange() > 0 && notes != null) {
                    notes.accept(t.name() + ": clamped " + check.describe());
                }
                out.pad();
            }
            out.flush();
        });
        return Files.size(abs);
    }

    /** What to do with finite values a tensor's type cannot hold. */
    public enum Range {
        /** Refuse the export, naming the tensor (the default). */
        REFUSE,
        /** Clamp them to the largest value the type holds, and say so. */
        CLAMP
    }

    static long align(long n) {
        return (n + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void writeValue(Out out, int type, int elementType, Object v) throws IOException {
        switch (type) {
            case GgufMetadata.UINT8, GgufMetadata.INT8 -> out.put((byte) ((Number) v).longValue());
            case GgufMetadata.UINT16, GgufMetadata.INT16 -> out.putShort((short) ((Number) v).longValue());
            case GgufMetadata.UINT32, GgufMetadata.INT32 -> out.putInt((int) ((Number) v).longValue());
            case GgufMetadata.UINT64, GgufMetadata.INT64 -> out.putLong(((Number) v).longValue());
            case GgufMetadata.FLOAT32 -> out.putFloat(((Number) v).floatValue());
            case GgufMetadata.FLOAT64 -> out.putDouble(((Number) v).doubleValue());
            case GgufMetadata.BOOL -> out.put((byte) (((Boolean) v) ? 1 : 0));
            case GgufMetadata.STRING -> out.putString((String) v);
            case GgufMetadata.ARRAY -> {
                List<?> items = (List<?>) v;
                out.putInt(elementType);
                out.putLong(items.size());
                for (Object item : items) {
                    writeValue(out, elementType, -1, item);
                }
            }
            default -> throw new IllegalArgumentException("unknown GGUF value type " + type);
        }
    }

    /** A buffered little-endian writer over the channel that knows its position. */
    private static final class Out {
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        private long flushed;

        Out(FileChannel ch) {
            this.ch = ch;
        }

        long position() {
            return flushed + buf.position();
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                flush();
            }
        }

        void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                flushed += ch.write(buf);
            }
            buf.clear();
        }

        void put(byte b) throws IOException {
            room(1);
            buf.put(b);
        }

        void putShort(short v) throws IOException {
            room(2);
            buf.putShort(v);
        }

        void putInt(int v) throws IOException {
            room(4);
            buf.putInt(v);
        }

        void putLong(long v) throws IOException {
            room(8);
            buf.putLong(v);
        }

        void putFloat(float v) throws IOException {
            room(4);
            buf.putFloat(v);
        }

        void putDouble(double v) throws IOException {
            room(8);
            buf.putDouble(v);
        }

        void putString(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            putLong(b.length);
            for (int i = 0; i < b.length; i += CHUNK / 2) {
                int n = Math.min(CHUNK / 2, b.length - i);
                room(n);
                buf.put(b, i, n);
            }
        }

        void pad() throws IOException {
            long p = position();
            for (long i = p; i < align(p); i++) {
                put((byte) 0);
            }
        }

        /** Encodes values in pieces that fit the buffer (whole Q8_0 blocks). */
        void encode(GgufType type, float[] values, int n) throws IOException {
            int step = 1 << 20; // values per piece, a multiple of 32; at most 4 MiB encoded
            for (int i = 0; i < n; i += step) {
                int m = Math.min(step, n - i);
                room((int) type.bytes(m));
                Encodings.encode(type, values, i, m, buf);
            }
        }
    }
}
