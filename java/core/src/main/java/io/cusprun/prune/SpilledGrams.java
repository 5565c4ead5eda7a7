package io.cusprun.prune;

import io.cusprun.AtomicOutput;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.LayerSize;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * {@link UnprunedGrams} on disk: where they are too big to hold, the pass that computes the
 * compensated relevance also writes every layer's Grams that later readers need (the refit of
 * every plan from the same documents, and the block form for heads) to a directory, one file per
 * layer, and the readers read them back one layer at a time instead of running the model again.
 * The per-dimension Grams of down_proj's input are not written: only the compensated relevance
 * reads them, inside that pass ({@link Layer#ffnPerCorpus} throws in a layer read back).
 *
 * <p>A layer's file, {@code layer-NNN.grams}, is a 32-byte header, little-endian: the ASCII bytes
 * {@code CUSPGRAM}, then as int32 the format (1), the layer, the dimensions X, D, F and H d; then
 * the raw fp64 values, little-endian, row-major: {@code down} [D, F], {@code o} [D, H d], {@code
 * ffn} [F, F], the X {@code attentionPerCorpus} [H d, H d] in corpus order, {@code attention} [H d,
 * H d]. They are the bytes of the tensors the pass computed, so a layer read back is bit for bit
 * the layer held in memory. Each file is written to a temporary name and renamed; {@link #close}
 * deletes the directory.
 */
public final class SpilledGrams extends UnprunedGrams implements AutoCloseable {
    private static final byte[] MAGIC = "CUSPGRAM".getBytes(StandardCharsets.US_ASCII);
    private static final int FORMAT = 1;
    static final int HEADER_BYTES = 32;
    /** Bytes moved per ByteBuffer (one cannot span 2 GB; an 8B model's F² Gram is 1.6 GB, a 70B's 6.6 GB). */
    private static final long PIECE = 1L << 30;

    private final Path directory;
    private final int corpora;
    private volatile boolean closed;

    private SpilledGrams(ModelConfig config, int corpora, long documents, long tokens, Path directory) {
        super(config, documents, tokens);
        this.directory = directory;
        this.corpora = corpora;
    }

    /**
     * The bytes {@link #spill} writes for a model of this config and {@code corpora} dimensions
     * X: per layer {@code 8 (F² + (X + 1) (H d)² + D (F + H d))} (the summed Gram of down_proj's
     * input, the per-dimension and summed Grams of o_proj's input, the two projections) and a
     * 32-byte header, summed over the layers.
     */
    public static long spilledBytes(ModelConfig config, int corpora) {
        long sum = 0;
        long d = config.hiddenSize();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            long f = config.layer(l).intermediateSize();
            long hd = attentionWidth(config, l);
            sum += HEADER_BYTES + 8L * (f * f + (corpora + 1L) * hd * hd + d * (f + hd));
        }
        return sum;
    }

    /**
     * One pass of {@code corpora} through the unpruned model ({@link UnprunedGrams#stream}): each
     * layer's Grams are written to {@code directory} (which the result owns: {@link #close}
     * deletes it) and then handed to {@code consumer} (the compensated relevance, the one reader
     * of the per-dimension Grams of down_proj's input).
     */
    public static SpilledGrams spill(
            Path modelDir, List<TokenizedCorpus> corpora, Path directory, UnprunedGrams.LayerConsumer consumer)
            throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new IOException("the Grams are spilled little-endian, and this platform's memory is not");
        }
        Compensation.Batches data = Compensation.Batches.of(corpora);
        SpilledGrams out = new SpilledGrams(
                ModelConfig.read(modelDir), corpora.size(), data.documents(), data.totalTokens(), directory);
        UnprunedGrams.stream(modelDir, corpora, l -> true, g -> {
            out.write(g); // first: the consumer may work on these tensors in place
            consumer.accept(g);
        });
        return out;
    }

    /** Where the layers' files are. */
    public Path directory() {
        return directory;
    }

    /** Layer {@code l}'s file. */
    Path file(int l) {
        return directory.resolve(String.format(Locale.ROOT, "layer-%03d.grams", l));
    }

    private void write(Layer g) throws IOException {
        int l = g.layer();
        int f = (int) g.down().size(1), hd = (int) g.o().size(1);
        if (g.attentionPerCorpus().length != corpora) {
            throw new IllegalArgumentException(
                    "layer " + l + " has " + g.attentionPerCorpus().length + " dimensions, not " + corpora);
        }
        AtomicOutput.writeFile(file(l), ch -> {
            AtomicOutput.writeAll(ch, header(l, (int) g.down().size(0), f, hd));
            writeTensor(ch, g.down());
            writeTensor(ch, g.o());
            writeTensor(ch, g.ffn());
            for (Tensor a : g.attentionPerCorpus()) writeTensor(ch, a);
            writeTensor(ch, g.attention());
        });
    }

    /**
     * Layer {@code l}'s Grams read back as fp64 tensors, owned by the caller's {@link
     * org.bytedeco.javacpp.PointerScope}; {@code ffnPerCorpus} is not among them.
     */
    @Override
    public Layer layer(int l) throws IOException {
        if (closed) throw new IllegalStateException("the spilled Grams in " + directory + " were deleted");
        ModelConfig config = config();
        long d = config.hiddenSize();
        long f = config.layer(l).intermediateSize(), hd = attentionWidth(config, l);
        Path file = file(l);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer want = header(l, (int) d, (int) f, (int) hd), got = ByteBuffer.allocate(HEADER_BYTES);
            readFully(ch, got, 0, file);
            long size = HEADER_BYTES + 8L * (f * f + (corpora + 1L) * hd * hd + d * (f + hd));
            if (!got.flip().equals(want) || ch.size() != size) {
                throw new IOException(file + ": not the spilled Grams of layer " + l + " of this model and " + corpora
                        + " dimensions");
            }
            long[] at = {HEADER_BYTES};
            Tensor down = readTensor(ch, at, file, d, f);
            Tensor o = readTensor(ch, at, file, d, hd);
            Tensor ffn = readTensor(ch, at, file, f, f);
            Tensor[] attn = new Tensor[corpora];
            for (int c = 0; c < corpora; c++) attn[c] = readTensor(ch, at, file, hd, hd);
            Tensor attention = readTensor(ch, at, file, hd, hd);
            return new Layer(l, down, o, null, ffn, attn, attention);
        }
    }

    /** Deletes the directory and its files. */
    @Override
    public void close() throws IOException {
        closed = true;
        AtomicOutput.release(directory);
    }

    private static long attentionWidth(ModelConfig config, int l) {
        LayerSize size = config.layer(l);
        return (long) size.numAttentionHeads() * config.headDim();
    }

    private ByteBuffer header(int l, int d, int f, int hd) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC)
                .putInt(FORMAT)
                .putInt(l)
                .putInt(corpora)
                .putInt(d)
                .putInt(f)
                .putInt(hd);
        return b.flip();
    }

    /** The tensor's bytes (fp64, as the pass makes them), in pieces. */
    private static void writeTensor(FileChannel ch, Tensor t) throws IOException {
        if (!Tensors.isType(t, torch.ScalarType.Double)) {
            throw new IllegalArgumentException(
                    "spilled Grams are fp64, not " + t.scalar_type().intern());
        }
        Tensor c = t.is_cuda() ? t.cpu().contiguous() : t.contiguous();
        long bytes = c.numel() * 8;
        BytePointer p = new BytePointer(c.data_ptr()).capacity(bytes);
        for (long pos = 0; pos < bytes; pos += PIECE) {
            AtomicOutput.writeAll(
                    ch,
                    new BytePointer(p)
                            .position(pos)
                            .limit(Math.min(bytes, pos + PIECE))
                            .asByteBuffer());
        }
    }

    /** A new fp64 tensor of {@code shape} read from file offset {@code at[0]}, which moves past it. */
    private static Tensor readTensor(FileChannel ch, long[] at, Path file, long... shape) throws IOException {
        Tensor t = Tensors.emptyCpu(torch.ScalarType.Double, shape);
        long bytes = t.numel() * 8;
        BytePointer p = new BytePointer(t.data_ptr()).capacity(bytes);
        for (long pos = 0; pos < bytes; pos += PIECE) {
            readFully(
                    ch,
                    new BytePointer(p)
                            .position(pos)
                            .limit(Math.min(bytes, pos + PIECE))
                            .asByteBuffer(),
                    at[0] + pos,
                    file);
        }
        at[0] += bytes;
        return t;
    }

    /** Fills {@code buf} (position 0) from file offset {@code offset}. */
    private static void readFully(FileChannel ch, ByteBuffer buf, long offset, Path file) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf, offset + buf.position()) < 0) throw new EOFException(file + " ends early");
        }
    }
}
