package io.cusprun.prune;

import java.util.List;

/**
 * The selection: what every layer keeps, and what that achieves.
 *
 * @param source   the source model's shape
 * @param settings what was asked
 * @param method   where the statistics came from
 * @param sigma    the rank threshold the selection ended at (NaN for layer dropping)
 * @param layers   one plan per source layer
 */
public record PrunePlan(
        ModelShape source, PruneSettings settings, Method method, double sigma, List<LayerPlan> layers) {

    public PrunePlan {
        layers = List.copyOf(layers);
        if (layers.size() != source.numLayers()) throw new IllegalArgumentException("one layer plan per layer");
    }

    public long removedParams() {
        long r = 0;
        for (LayerPlan l : layers) r += l.removedParams(source.layer(l.layer()));
        return r;
    }

    public double blockRatio() {
        return removedParams() / (double) source.blockParams();
    }

    public double totalRatio() {
        return removedParams() / (double) source.totalParams();
    }

    public long keptParams() {
        return source.totalParams() - removedParams();
    }

    public List<LayerPlan> keptLayers() {
        return layers.stream().filter(l -> !l.dropped()).toList();
    }

    /** True when every kept layer has the same sizes, so a stock config describes the result. */
    public boolean uniformSizes() {
        List<LayerPlan> kept = keptLayers();
        LayerPlan first = kept.get(0);
        return kept.stream()
                .allMatch(l -> l.keptFfn().length == first.keptFfn().length
                        && l.keptHeads().length == first.keptHeads().length
                        && l.keptKvHeads().length == first.keptKvHeads().length);
    }
}
