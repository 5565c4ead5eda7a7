package io.cusprun.export;

import java.nio.ByteBuffer;

/**
 * The element encodings of GGUF tensors, bit-exact with ggml: IEEE half and bfloat16 with round
 * to nearest even (ggml's {@code GGML_FP32_TO_FP16} and {@code GGML_FP32_TO_BF16}), and Q8_0
 * blocks ({@code quantize_row_q8_0_ref}: d = max|x| / 127 stored as fp16, q = roundf(x / d)
 * computed as x * (1 / d), 34 bytes per block of 32).
 */
public final class Encodings {

    private Encodings() {}

    /** IEEE binary16 bits of {@code f}, rounded to nearest even; NaN stays NaN, overflow becomes infinity. */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            int m = mant | 0x800000;
            int shift = 14 - e;
            int half = m >>> shift;
            int rem = m & ((1 << shift) - 1);
            int halfway = 1 << (shift - 1);
            if (rem > halfway || (rem == halfway && (half & 1) != 0)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
            half++; // a carry into the exponent is the right result, up to infinity
        }
        return (short) (sign | half);
    }

    public static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** bfloat16 bits of {@code f}, rounded to nearest even (NaN kept quiet). */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 64);
        }
        return (short) ((bits + (0x7fff + ((bits >>> 16) & 1))) >>> 16);
    }

    public static float bf16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xffff) << 16);
    }

    /** C's roundf: halves away from zero. */
    static float roundf(float v) {
        float a = Math.abs(v);
        float r = (float) Math.floor(a);
        if (a - r >= 0.5f) {
            r += 1;
        }
        return Math.copySign(r, v);
    }

    /** Appends {@code n} values from {@code x[off..]} (n a multiple of 32) as Q8_0 blocks to {@code out} (little-endian). */
    public static void quantizeQ8_0(float[] x, int off, int n, ByteBuffer out) {
        for (int b = 0; b < n; b += GgufType.QK8_0) {
            float amax = 0;
            for (int j = 0; j < GgufType.QK8_0; j++) {
                amax = Math.max(amax, Math.abs(x[off + b + j]));
            }
            float d = amax / 127f;
            float id = d != 0 ? 1.0f / d : 0.0f;
            out.putShort(floatToHalf(d));
            for (int j = 0; j < GgufType.QK8_0; j++) {
                out.put((byte) roundf(x[off + b + j] * id));
            }
        }
    }

    /** The largest finite f16 value. */
    public static final float F16_MAX = 65504f;
    /** The largest finite bfloat16 value. */
    public static final float BF16_MAX = bf16ToFloat((short) 0x7f7f);
    /** The largest |x| of a q8_0 block whose scale max|x| / 127 still fits in f16. */
    public static final float Q8_0_MAX = F16_MAX * 127f;

    /**
     * Finds, and optionally clamps, the values of one tensor that its type cannot hold: NaN and
     * infinities for every type, and finite values that would encode as infinity (f16 and bf16
     * rounding past their largest value; a q8_0 block whose f16 scale overflows). Counts them with
     * the first one's element index and value.
     */
    public static final class RangeCheck {
        private final GgufType type;
        private long outOfRange;
        private long nonFinite;
        private long firstIndex = -1;
        private float firstValue;

        public RangeCheck(GgufType type) {
            this.type = type;
        }

        /** The largest |x| the type encodes without overflow (F32: every finite value). */
        public static float limit(GgufType type) {
            return switch (type) {
                case F32 -> Float.MAX_VALUE;
                case F16 -> F16_MAX;
                case BF16 -> BF16_MAX;
                case Q8_0 -> Q8_0_MAX;
            };
        }

        /**
         * Scans {@code x[0..n)}, elements {@code first..first+n} of the tensor; with {@code clamp},
         * out-of-range finite values are replaced by the limit with their sign.
         */
        public void scan(float[] x, int n, long first, boolean clamp) {
            float lim = limit(type);
            for (int i = 0; i < n; i++) {
                float v = x[i];
                boolean finite = Float.isFinite(v);
                if (finite && !overflows(v, lim)) {
                    continue;
                }
                if (firstIndex < 0) {
                    firstIndex = first + i;
                    firstValue = v;
                }
                if (!finite) {
                    nonFinite++;
                } else {
                    outOfRange++;
                    if (clamp) {
                        x[i] = Math.copySign(lim, v);
                    }
                }
            }
        }

        /** Whether finite {@code v} encodes as infinity: beyond {@code lim} and not rounding back to it. */
        private boolean overflows(float v, float lim) {
            if (Math.abs(v) <= lim) {
                return false;
            }
            return switch (type) {
                case F32 -> false;
                case F16 -> Float.isInfinite(halfToFloat(floatToHalf(v)));
                case BF16 -> Float.isInfinite(bf16ToFloat(floatToBf16(v)));
                case Q8_0 -> Float.isInfinite(halfToFloat(floatToHalf(Math.abs(v) / 127f)));
            };
        }

        public long outOfRange() {
            return outOfRange;
        }

        public long nonFinite() {
            return nonFinite;
        }

        /** E.g. {@code 32 values beyond what f16 holds (±65504), the first element 1234 = 1000000.0}. */
        public String describe() {
            String what = nonFinite > 0
                    ? nonFinite + " non-finite values (NaN or infinity)"
                    : outOfRange + " values beyond what " + type.optionName() + " holds (±" + limitText() + ")";
            return what + ", the first element " + firstIndex + " = " + firstValue;
        }

        private String limitText() {
            return type == GgufType.Q8_0
                    ? limit(type) + ": a q8_0 block's f16 scale max|x|/127 overflows past it"
                    : String.valueOf(limit(type));
        }
    }

    /** Appends {@code n} values of {@code x[off..]} in {@code type} to {@code out} (little-endian). */
    public static void encode(GgufType type, float[] x, int off, int n, ByteBuffer out) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    out.putFloat(x[off + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out.putShort(floatToHalf(x[off + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out.putShort(floatToBf16(x[off + i]));
                }
            }
            case Q8_0 -> quantizeQ8_0(x, off, n, out);
        }
    }

    /** Decodes {@code n} values of {@code type} from {@code in} (little-endian) into {@code x[off..]}. */
    public static void decode(GgufType type, ByteBuffer in, float[] x, int off, int n) {
        switch (type) {
            case F32 -> {
                for (int i = 0; i < n; i++) {
                    x[off + i] = in.getFloat();
                }
            }
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    x[off + i] = halfToFloat(in.getShort());
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    x[off + i] = bf16ToFloat(in.getShort());
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < n; b += GgufType.QK8_0) {
                    float d = halfToFloat(in.getShort());
                    for (int j = 0; j < GgufType.QK8_0; j++) {
                        x[off + b + j] = d * in.get();
                    }
                }
            }
        }
    }
}
