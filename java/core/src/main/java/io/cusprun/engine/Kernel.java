package io.cusprun.engine;

import java.util.Arrays;
import java.util.Locale;

/**
 * The kernels of the C API, in the order of {@code cusprun_kernel_name(i)} in
 * {@code native/include/cusprun.h} (a test checks the order and names against the loaded library).
 */
public enum Kernel {
    /** SwiGLU activation plus per-document sum of squares (FFN neuron relevance). */
    FFN_SWIGLU("ffn_swiglu"),
    /** Per-document Gram of the attention output per key/value group (head and group relevance). */
    HEAD_GRAM("head_gram"),
    /** Query/key neuron relevance without materialising the T x T scores per unit. */
    QK_NEURON("qk_neuron"),
    /** Per-document ranks into the running max, histogram and sum. */
    RANK_UPDATE("rank_update");

    private final String nativeName;

    Kernel(String nativeName) {
        this.nativeName = nativeName;
    }

    /** The name the C API uses ("ffn_swiglu"). */
    public String nativeName() {
        return nativeName;
    }

    /** The kernel of a C API name, case-insensitive; unknown names list the valid ones. */
    public static Kernel parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        for (Kernel k : values()) {
            if (k.nativeName.equals(n)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown kernel '" + name + "'; valid: "
                + Arrays.stream(values()).map(Kernel::nativeName).toList());
    }

    @Override
    public String toString() {
        return nativeName;
    }
}
