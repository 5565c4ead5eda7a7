package io.cusprun.prune;

import io.cusprun.model.Checkpoint;
import io.cusprun.model.SafetensorsException;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.TensorInfo;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/**
 * Writes a source tensor's bytes, cut by a {@link SliceRule}, from the source safetensors file
 * straight to the output file, with no Tensor in between: whole tensors and runs of kept rows go
 * through {@link FileChannel#transferTo} (a copy inside the kernel, the plain file copy's speed),
 * kept columns are gathered from blocks of source rows (read with pread) into one reused buffer. Zeroed indices
 * (masked output, neuron granularity) are written as zeros. The bytes are the source's, so
 * every dtype is handled alike.
 */
final class TensorSlicer implements AutoCloseable {
    private static final int BUFFER = 8 << 20;

    private final Checkpoint source;
    private final Map<Path, FileChannel> channels = new HashMap<>();
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER); // output being assembled
    private final ByteBuffer input = ByteBuffer.allocateDirect(BUFFER); // source rows, for column cuts
    private short[] inShorts = new short[0], outShorts = new short[0];

    TensorSlicer(Checkpoint source) {
        this.source = source;
    }

    /** Appends tensor {@code name} to {@code out}: whole when rule is null, else cut (or, masked, zeroed) by it. */
    void write(String name, SliceRule rule, boolean masked, FileChannel out) throws IOException {
        SafetensorsFile file = source.file(name);
        try {
            cut(file, name, rule, masked, out);
        } catch (SourceProblem e) {
            throw new SafetensorsException(file.path(), name, e.getMessage());
        }
    }

    /**
     * Appends a refitted tensor to {@code out} in place of the source's cut: {@code keptColumns}
     * ([rows, |kept|], the source dtype, on the CPU) are the kept columns the rule names; masked, they
     * go to their source positions of a full-size tensor of {@code columns} columns, the others zero.
     */
    void writeRefit(Tensor keptColumns, SliceRule rule, long columns, boolean masked, FileChannel out)
            throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Tensor t = keptColumns;
            if (masked) {
                t = torch.zeros(
                        new long[] {keptColumns.size(0), columns}, new TensorOptions(keptColumns.scalar_type()));
                t.index_copy_(1, Tensors.ofLongs(rule.kept()), keptColumns);
            }
            t = t.contiguous();
            long bytes = t.numel() * t.element_size();
            ByteBuffer b = new BytePointer(t.data_ptr()).capacity(bytes).asByteBuffer();
            while (b.hasRemaining()) out.write(b);
        }
    }

    /** A source tensor that cannot be cut; {@link #write} rethrows it naming the file and tensor. */
    private static final class SourceProblem extends IOException {
        SourceProblem(String message) {
            super(message);
        }
    }

    private void cut(SafetensorsFile file, String name, SliceRule rule, boolean masked, FileChannel out)
            throws IOException {
        TensorInfo info = file.info(name);
        FileChannel in = channel(file.path());
        long begin = file.header().dataStart() + info.begin();
        if (rule == null) {
            transfer(in, begin, info.byteSize(), out);
            return;
        }
        long[] shape = info.shape();
        int d = rule.dim();
        long outer = 1, unit = info.dtype().byteSize();
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.length; i++) unit *= shape[i];
        long[] from = sourceIndices(rule, masked, shape[d]);
        if (outer == 1) {
            writeRows(in, begin, unit, from, out);
        } else {
            writeColumns(in, begin, outer, shape[d] * unit, unit, from, out);
        }
    }

    /**
     * For each output index along the cut dimension, the source index it copies, or -1 for
     * zeros: the kept indices in order (or, masked, every index with the dropped ones -1), then
     * the rule's extra zeros, which are output indices.
     */
    static long[] sourceIndices(SliceRule rule, boolean masked, long size) {
        long[] from;
        if (masked) {
            from = new long[Math.toIntExact(size)];
            java.util.Arrays.fill(from, -1);
            for (long k : rule.kept()) from[(int) k] = k;
        } else {
            from = rule.kept().clone();
        }
        for (long z : rule.extraZero()) from[(int) z] = -1;
        return from;
    }

    /** Rows of {@code unit} bytes: each run of consecutive source rows in one transfer. */
    private void writeRows(FileChannel in, long begin, long unit, long[] from, FileChannel out) throws IOException {
        for (int j = 0; j < from.length; ) {
            int end = j + 1;
            if (from[j] < 0) {
                while (end < from.length && from[end] < 0) end++;
                zeros((end - j) * unit, out);
            } else {
                while (end < from.length && from[end] == from[end - 1] + 1) end++;
                transfer(in, begin + from[j] * unit, (end - j) * unit, out);
            }
            j = end;
        }
    }

    /**
     * {@code outer} rows of {@code rowBytes}, each cut into the units {@code from} names: blocks
     * of whole rows read with pread into one buffer (no page faults on a mapping), gathered into
     * the output buffer.
     */
    private void writeColumns(
            FileChannel in, long begin, long outer, long rowBytes, long unit, long[] from, FileChannel out)
            throws IOException {
        if (rowBytes > BUFFER || unit * from.length > BUFFER) {
            throw new SourceProblem("a row of " + rowBytes + " bytes is too long to slice");
        }
        int[] offsets = new int[from.length];
        for (int j = 0; j < from.length; j++) offsets[j] = from[j] < 0 ? -1 : (int) (from[j] * unit);
        int u = (int) unit, row = (int) rowBytes;
        long rowsPerBlock = BUFFER / rowBytes;
        buffer.clear();
        for (long r0 = 0; r0 < outer; r0 += rowsPerBlock) {
            int rows = (int) Math.min(rowsPerBlock, outer - r0);
            input.clear().limit(rows * row);
            for (long pos = begin + r0 * rowBytes; input.hasRemaining(); ) {
                int n = in.read(input, pos);
                if (n < 0) throw new SourceProblem("source ended early at byte " + pos);
                pos += n;
            }
            if (u == 2) {
                gatherShorts(rows, row / 2, offsets, out); // bf16 / f16, the usual case
                continue;
            }
            for (int r = 0; r < rows; r++) {
                if (buffer.remaining() < (long) u * from.length) flush(out);
                gatherRow(input, r * row, offsets, u);
            }
        }
        flush(out);
    }

    /**
     * The 2-byte case through plain arrays, which the JIT turns into a tight loop (per-element
     * ByteBuffer access was slower; benchmarks/README.md, item 6): the block of rows in, the cut rows out.
     */
    private void gatherShorts(int rows, int rowElems, int[] byteOffsets, FileChannel out) throws IOException {
        int n = byteOffsets.length;
        if (inShorts.length < rows * rowElems) inShorts = new short[rows * rowElems];
        if (outShorts.length < rows * n) outShorts = new short[rows * n];
        input.flip();
        input.asShortBuffer().get(inShorts, 0, rows * rowElems);
        short[] src = inShorts, dst = outShorts;
        int k = 0;
        for (int r = 0, base = 0; r < rows; r++, base += rowElems) {
            for (int o : byteOffsets) dst[k++] = o < 0 ? 0 : src[base + (o >> 1)];
        }
        flush(out);
        buffer.limit(k * 2);
        buffer.asShortBuffer().put(dst, 0, k);
        buffer.position(k * 2);
        flush(out);
    }

    /** Units other than 2 bytes (those go through {@link #gatherShorts}). */
    private void gatherRow(ByteBuffer src, int row, int[] offsets, int unit) {
        ByteBuffer b = buffer;
        switch (unit) {
            case 4 -> {
                for (int o : offsets) b.putInt(o < 0 ? 0 : src.getInt(row + o));
            }
            case 1 -> {
                for (int o : offsets) b.put(o < 0 ? 0 : src.get(row + o));
            }
            case 8 -> {
                for (int o : offsets) b.putLong(o < 0 ? 0 : src.getLong(row + o));
            }
            default -> {
                for (int o : offsets) {
                    if (o < 0) {
                        for (int i = 0; i < unit; i++) b.put((byte) 0);
                    } else {
                        b.put(src.slice(row + o, unit));
                    }
                }
            }
        }
    }

    private void zeros(long bytes, FileChannel out) throws IOException {
        flush(out);
        while (bytes > 0) {
            int n = (int) Math.min(bytes, BUFFER);
            buffer.clear().limit(n);
            while (buffer.hasRemaining()) buffer.put((byte) 0);
            buffer.flip();
            while (buffer.hasRemaining()) out.write(buffer);
            bytes -= n;
        }
        buffer.clear();
    }

    private void flush(FileChannel out) throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) out.write(buffer);
        buffer.clear();
    }

    private static void transfer(FileChannel in, long position, long count, FileChannel out) throws IOException {
        for (long done = 0; done < count; ) {
            long n = in.transferTo(position + done, count - done, out);
            if (n <= 0) {
                throw new SourceProblem("source ended early while copying " + count + " bytes at " + position);
            }
            done += n;
        }
    }

    private FileChannel channel(Path file) throws IOException {
        FileChannel ch = channels.get(file);
        if (ch == null) {
            ch = FileChannel.open(file, StandardOpenOption.READ);
            channels.put(file, ch);
        }
        return ch;
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (FileChannel ch : channels.values()) {
            try {
                ch.close();
            } catch (IOException e) {
                if (first == null) first = e;
            }
        }
        channels.clear();
        if (first != null) throw first;
    }
}
