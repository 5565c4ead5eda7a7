package io.cusprun.score;

import io.cusprun.SettingException;
import java.util.BitSet;

/**
 * Which share of the work a score run covers: the canonical batches {@code b} with
 * {@code b % count} in {@code indices}. A single run is {@code 0/N}; merged shards hold
 * the union; a full run holds every index.
 */
public record ShardSpec(int count, BitSet indices) {
    public static final ShardSpec ALL = new ShardSpec(1, bits(0));

    public ShardSpec {
        if (count < 1 || indices.isEmpty() || indices.length() > count) {
            throw new IllegalArgumentException("bad shard " + indices + "/" + count);
        }
        indices = (BitSet) indices.clone();
    }

    /** Parses {@code I/N} ({@code 0 <= I < N}). */
    public static ShardSpec parse(String text) {
        String[] p = text.split("/");
        try {
            int i = Integer.parseInt(p[0].trim());
            int n = Integer.parseInt(p[1].trim());
            if (p.length != 2 || n < 1 || i < 0 || i >= n) throw new NumberFormatException();
            return new ShardSpec(n, bits(i));
        } catch (RuntimeException e) {
            throw new SettingException("shard", "must be I/N with 0 <= I < N, not '" + text + "'");
        }
    }

    /** Parses the stored form, e.g. {@code 0,2/4} or {@code all}. */
    public static ShardSpec parseStored(String text) {
        if (text.equals("all")) return ALL;
        String[] p = text.split("/");
        BitSet b = new BitSet();
        for (String s : p[0].split(",")) b.set(Integer.parseInt(s));
        return new ShardSpec(Integer.parseInt(p[1]), b).normalised();
    }

    public boolean covers(int batchIndex) {
        return indices.get(batchIndex % count);
    }

    public boolean complete() {
        return indices.cardinality() == count;
    }

    /** The union of two disjoint shares of the same split; throws on overlap or different N. */
    public ShardSpec union(ShardSpec other) {
        if (other.count != count) {
            throw new IllegalArgumentException("shards of different splits: /" + count + " and /" + other.count);
        }
        if (indices.intersects(other.indices)) {
            throw new IllegalArgumentException("shards overlap: " + this + " and " + other);
        }
        BitSet u = (BitSet) indices.clone();
        u.or(other.indices);
        return new ShardSpec(count, u).normalised();
    }

    private ShardSpec normalised() {
        return complete() ? ALL : this;
    }

    private static BitSet bits(int i) {
        BitSet b = new BitSet();
        b.set(i);
        return b;
    }

    @Override
    public String toString() {
        if (complete()) return "all";
        StringBuilder s = new StringBuilder();
        indices.stream().forEach(i -> s.append(s.length() == 0 ? "" : ",").append(i));
        return s + "/" + count;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ShardSpec s && s.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }
}
