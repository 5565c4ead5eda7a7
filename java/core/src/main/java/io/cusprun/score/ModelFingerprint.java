package io.cusprun.score;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * Identifies a checkpoint without reading all of its weights: SHA-256 over {@code config.json},
 * the header (names, dtypes, shapes, offsets, metadata) of every {@code .safetensors} file, in
 * file name order, and {@value #SAMPLES} evenly spaced 64 KiB samples of each file's data (two
 * checkpoints of one architecture, e.g. a base model and its fine-tune, share headers but not
 * data). Score files carry it; merge and prune refuse scores of another model.
 */
public final class ModelFingerprint {
    static final int SAMPLES = 16;
    private static final int SAMPLE_BYTES = 64 << 10;

    private ModelFingerprint() {}

    public static String of(Path modelDir) throws IOException {
        MessageDigest sha = sha256();
        Path config = modelDir.resolve("config.json");
        if (!Files.isRegularFile(config)) throw new IOException("no config.json in " + modelDir);
        sha.update(Files.readAllBytes(config));
        List<Path> files;
        try (Stream<Path> s = Files.list(modelDir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .sorted()
                    .toList();
        }
        if (files.isEmpty()) throw new IOException("no .safetensors files in " + modelDir);
        for (Path f : files) {
            sha.update(f.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            sha.update(header(f));
            sampleData(f, sha);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static byte[] header(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining()) if (ch.read(len) < 0) throw new IOException(file + ": truncated safetensors");
            long n = len.getLong(0);
            if (n <= 0 || n > Math.min(100L << 20, ch.size() - 8))
                throw new IOException(file + ": bad safetensors header");
            ByteBuffer h = ByteBuffer.allocate((int) n);
            while (h.hasRemaining()) if (ch.read(h) < 0) throw new IOException(file + ": truncated safetensors");
            return h.array();
        }
    }

    private static void sampleData(Path file, MessageDigest sha) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            long start = 8 + len.getLong(0), size = ch.size() - start;
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(SAMPLE_BYTES, Math.max(0, size)));
            for (int i = 0; i < SAMPLES && size > 0; i++) {
                long pos = start + (size - buf.capacity()) * i / Math.max(1, SAMPLES - 1);
                buf.clear();
                while (buf.hasRemaining() && ch.read(buf, pos + buf.position()) > 0) {}
                sha.update(buf.array(), 0, buf.position());
            }
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
