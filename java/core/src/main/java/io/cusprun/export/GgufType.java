package io.cusprun.export;

/**
 * The ggml tensor types an export writes, with their ggml ids (ggml.h {@code enum ggml_type}) and
 * the {@code general.file_type} (llama.h {@code enum llama_ftype}) of a file whose matrices use them.
 */
public enum GgufType {
    F32(0, 0, 1, 4),
    F16(1, 1, 1, 2),
    Q8_0(8, 7, 32, 34),
    BF16(30, 32, 1, 2);

    /** Weights per Q8_0 block. */
    public static final int QK8_0 = 32;

    private final int ggmlId;
    private final int fileType;
    private final int blockSize;
    private final int blockBytes;

    GgufType(int ggmlId, int fileType, int blockSize, int blockBytes) {
        this.ggmlId = ggmlId;
        this.fileType = fileType;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    public int ggmlId() {
        return ggmlId;
    }

    /** {@code general.file_type} of a file whose 2-D weights have this type. */
    public int fileType() {
        return fileType;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Bytes of {@code n} elements (n a multiple of the block size). */
    public long bytes(long n) {
        if (n % blockSize != 0) {
            throw new IllegalArgumentException(this + ": " + n + " elements is not a multiple of " + blockSize);
        }
        return n / blockSize * blockBytes;
    }

    /** The type with this ggml id, or null. */
    public static GgufType ofGgmlId(int id) {
        for (GgufType t : values()) {
            if (t.ggmlId == id) {
                return t;
            }
        }
        return null;
    }

    /** Parses the export option: f32, f16, bf16 or q8_0 (case-insensitive). */
    public static GgufType parse(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "f32" -> F32;
            case "f16" -> F16;
            case "bf16" -> BF16;
            case "q8_0" -> Q8_0;
            default ->
                throw new IllegalArgumentException("unknown GGUF dtype '" + s + "' (expected f32, f16, bf16 or q8_0)");
        };
    }

    /** The option spelling (f32, f16, bf16, q8_0). */
    public String optionName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
