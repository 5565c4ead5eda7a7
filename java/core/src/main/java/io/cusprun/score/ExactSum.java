package io.cusprun.score;

/**
 * Per-neuron sums of non-negative relevance values that do not depend on the order of
 * addition: every term is cut to a 128-bit fixed-point number (64 integer bits, 64
 * fraction bits) and added exactly. So shards, workers and resumed runs merged in any
 * order give bit-identical sums, which plain fp64 addition cannot promise.
 * Terms below 2^-64 (5e-20) vanish, terms of 2^62 or more are refused.
 */
public final class ExactSum {
    private static final double TWO_64 = 0x1p64;
    private static final double TWO_63 = 0x1p63;
    private static final double LIMIT = 0x1p62;

    private final long[] hi;
    private final long[] lo;

    public ExactSum(int n) {
        hi = new long[n];
        lo = new long[n];
    }

    /** From the (hi, lo) pairs of a score file. */
    public static ExactSum of(long[] hi, long[] lo) {
        ExactSum s = new ExactSum(hi.length);
        System.arraycopy(hi, 0, s.hi, 0, hi.length);
        System.arraycopy(lo, 0, s.lo, 0, lo.length);
        return s;
    }

    public int size() {
        return hi.length;
    }

    public void add(int k, double v) {
        if (!(v >= 0) || v >= LIMIT) throw new ArithmeticException("relevance out of range: " + v);
        long ip = (long) v;
        double f = (v - ip) * TWO_64; // exact: v - ip is exact and scaling by 2^64 is exact
        long frac = f >= TWO_63 ? ((long) (f - TWO_63)) | Long.MIN_VALUE : (long) f;
        addFixed(k, ip, frac);
    }

    public void addAll(ExactSum other) {
        if (other.size() != size()) throw new IllegalArgumentException("size mismatch");
        for (int k = 0; k < hi.length; k++) addFixed(k, other.hi[k], other.lo[k]);
    }

    private void addFixed(int k, long h, long l) {
        long sum = lo[k] + l;
        long carry = Long.compareUnsigned(sum, lo[k]) < 0 ? 1 : 0;
        lo[k] = sum;
        hi[k] = Math.addExact(hi[k], Math.addExact(h, carry));
    }

    public double get(int k) {
        double frac = lo[k] < 0 ? ((lo[k] & Long.MAX_VALUE) + TWO_63) : lo[k];
        return hi[k] + frac / TWO_64;
    }

    public double[] toDoubles() {
        double[] out = new double[hi.length];
        for (int k = 0; k < out.length; k++) out[k] = get(k);
        return out;
    }

    public long[] hi() {
        return hi.clone();
    }

    public long[] lo() {
        return lo.clone();
    }
}
