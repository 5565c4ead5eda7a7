package io.cusprun.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * One safetensors file, memory-mapped: tensors come out as LibTorch CPU tensors that view the
 * mapping (no copy, nothing on the Java heap). The whole file is mapped once by LibTorch
 * ({@code torch.from_file}, private and read-only in practice), so files over 2 GB work; the
 * mapping lives as long as any tensor taken from it.
 */
public final class SafetensorsFile implements AutoCloseable {

    private final SafetensorsHeader header;
    private Tensor mapping;

    private SafetensorsFile(SafetensorsHeader header) {
        this.header = header;
    }

    /** Opens and validates {@code file}; the mapping is made on the first tensor asked for. */
    public static SafetensorsFile open(Path file) throws IOException {
        return new SafetensorsFile(SafetensorsHeader.read(file));
    }

    public Path path() {
        return header.file();
    }

    public SafetensorsHeader header() {
        return header;
    }

    public TensorInfo info(String name) throws SafetensorsException {
        TensorInfo info = header.tensor(name);
        if (info == null) {
            throw new SafetensorsException(header.file(), name, "not in this file");
        }
        return info;
    }

    /**
     * The tensor as a CPU tensor of its stored dtype and shape, viewing the file mapping. Do not
     * write to it. Convert with {@code .to(...)} for another dtype or device.
     */
    public synchronized Tensor tensor(String name) throws SafetensorsException {
        TensorInfo info = info(name);
        if (mapping == null) {
            mapping = Tensors.keep(torch.from_file(
                    header.file().toString(),
                    new BoolOptional(false),
                    new LongOptional(header.fileSize()),
                    new TensorOptions(torch.ScalarType.Byte)));
        }
        Tensor bytes = mapping.narrow(0, header.dataStart() + info.begin(), info.byteSize());
        if ((header.dataStart() + info.begin()) % info.dtype().byteSize() != 0) {
            bytes = bytes.clone(); // unaligned data: a reinterpreting view is not allowed
        }
        return bytes.view(info.dtype().scalarType()).view(info.shape());
    }

    /**
     * Reads the tensor's bytes into {@code dst}, a contiguous CPU tensor of the stored dtype and
     * the tensor's element count (e.g. a row slice of a fused buffer), with positional reads: no
     * mapping, so a streamed run's resident memory is what it allocates, not the file's pages.
     */
    public void readInto(String name, Tensor dst) throws IOException {
        TensorInfo info = info(name);
        long bytes = info.byteSize();
        if (!dst.is_contiguous() || dst.is_cuda() || dst.numel() * dst.element_size() != bytes) {
            throw new IllegalArgumentException(
                    name + ": destination of " + dst.numel() * dst.element_size() + " bytes, the tensor has " + bytes);
        }
        try (FileChannel ch = FileChannel.open(header.file(), StandardOpenOption.READ)) {
            readFully(ch, header.dataStart() + info.begin(), new BytePointer(dst.data_ptr()), 0, bytes, name);
        }
    }

    /**
     * Reads the bytes of the tensor from {@code byteOffset} on into {@code dst} (a contiguous CPU
     * tensor; as many bytes as it holds).
     */
    public void readRange(String name, long byteOffset, Tensor dst) throws IOException {
        TensorInfo info = info(name);
        long bytes = dst.numel() * dst.element_size();
        if (!dst.is_contiguous() || byteOffset < 0 || byteOffset + bytes > info.byteSize()) {
            throw new IllegalArgumentException(name + ": bytes [" + byteOffset + ", " + (byteOffset + bytes)
                    + ") outside the tensor's " + info.byteSize());
        }
        try (FileChannel ch = FileChannel.open(header.file(), StandardOpenOption.READ)) {
            readFully(
                    ch,
                    header.dataStart() + info.begin() + byteOffset,
                    new BytePointer(dst.data_ptr()),
                    0,
                    bytes,
                    name);
        }
    }

    /**
     * Rows {@code rows} of a 2-D tensor as a new CPU tensor [rows.length, columns] of the stored
     * dtype, each row read on its own (an embedding lookup without reading the table).
     */
    public Tensor readRows(String name, long[] rows) throws IOException {
        TensorInfo info = info(name);
        if (info.shape().length != 2) {
            throw new SafetensorsException(header.file(), name, "rows of a " + info.shape().length + "-D tensor");
        }
        long rowBytes = info.shape()[1] * info.dtype().byteSize();
        Tensor out = Tensors.emptyCpu(info.dtype().scalarType(), rows.length, info.shape()[1]);
        BytePointer base = new BytePointer(out.data_ptr());
        try (FileChannel ch = FileChannel.open(header.file(), StandardOpenOption.READ)) {
            for (int r = 0; r < rows.length; r++) {
                if (rows[r] < 0 || rows[r] >= info.shape()[0]) {
                    throw new SafetensorsException(
                            header.file(), name, "row " + rows[r] + " outside [0, " + info.shape()[0] + ")");
                }
                readFully(
                        ch, header.dataStart() + info.begin() + rows[r] * rowBytes, base, r * rowBytes, rowBytes, name);
            }
        }
        return out;
    }

    /**
     * Reads {@code bytes} bytes at file offset {@code offset} into native memory at {@code dst}
     * + {@code at}, in pieces under 1 GB (one ByteBuffer each).
     */
    private void readFully(FileChannel ch, long offset, BytePointer dst, long at, long bytes, String name)
            throws IOException {
        final long piece = 1L << 30;
        for (long done = 0; done < bytes; ) {
            long len = Math.min(piece, bytes - done);
            BytePointer p = dst.getPointer(at + done); // its own address, position 0
            ByteBuffer buf = p.limit(len).asByteBuffer();
            while (buf.hasRemaining()) {
                int n = ch.read(buf, offset + done + buf.position());
                if (n < 0) {
                    throw new SafetensorsException(header.file(), name, "file ends inside the tensor's data");
                }
            }
            done += len;
        }
    }

    /** The tensor's raw bytes as a read-only little-endian mapping of just its range (tensors under 2 GB). */
    public ByteBuffer mapBytes(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.byteSize() > Integer.MAX_VALUE) {
            throw new SafetensorsException(header.file(), name, "over 2 GB; use tensor(name)");
        }
        try (FileChannel ch = FileChannel.open(header.file(), StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, header.dataStart() + info.begin(), info.byteSize())
                    .order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Releases this object's reference to the mapping; tensors already taken stay valid. */
    @Override
    public synchronized void close() {
        if (mapping != null) {
            Tensors.release(mapping);
            mapping = null;
        }
    }
}
