package io.cusprun.score;

/** One ranked module: a layer and a kind of unit. */
public record ModuleKey(int layer, ModuleKind kind) implements Comparable<ModuleKey> {
    @Override
    public int compareTo(ModuleKey o) {
        return layer != o.layer ? Integer.compare(layer, o.layer) : kind.compareTo(o.kind);
    }

    public String tensorName(String statistic) {
        return kind.tensorName(layer, statistic);
    }
}
