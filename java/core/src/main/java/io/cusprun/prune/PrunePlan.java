package io.cusprun.prune;

import java.util.List;

/**
 * The selection: what every layer keeps, and what that achieves.
 *
 * @param source   the source model's shape
 * @param settings what was asked
 * @param method   where the statistics came from
 * @param sigma    the threshold the selection ended at: in uniform mode the nominal value found
 *                 before each module's per-layer count was fitted to the ratio (see {@link
 *                 #sigmaNominal()}); in per-layer mode the statistic of the last unit removed
 * @param layers   one plan per source layer
 * @param cuts     per layer, the actual cut of each module the selection ranked (empty when
 *                 the plan was not made by the planner)
 */
public record PrunePlan(
        ModelShape source,
        PruneSettings settings,
        Method method,
        double sigma,
        List<LayerPlan> layers,
        List<LayerCut> cuts) {

    public PrunePlan {
        layers = List.copyOf(layers);
        cuts = List.copyOf(cuts);
        if (layers.size() != source.numLayers()) throw new IllegalArgumentException("one layer plan per layer");
        if (!cuts.isEmpty() && cuts.size() != layers.size())
            throw new IllegalArgumentException("one layer cut per layer");
    }

    /** A plan without recorded cuts. */
    public PrunePlan(ModelShape source, PruneSettings settings, Method method, double sigma, List<LayerPlan> layers) {
        this(source, settings, method, sigma, layers, List.of());
    }

    /**
     * True when {@link #sigma()} is nominal: in uniform mode each module removes the same count
     * in every layer (the layer mean of its units at or below sigma, the FFN count then fitted
     * to the ratio), so a layer may remove units above sigma and keep units below it. The
     * per-layer {@link #cuts()} are what was actually removed.
     */
    public boolean sigmaNominal() {
        return settings.mode() == PruneMode.UNIFORM && layers.stream().noneMatch(LayerPlan::dropped);
    }

    /** Units removed in each layer, in source layer order. */
    public List<UnitCounts> removedUnitsPerLayer() {
        return layers.stream()
                .map(l -> UnitCounts.of(l, source.layer(l.layer())))
                .toList();
    }

    /** Units removed in all layers together. */
    public UnitCounts removedUnits() {
        return UnitCounts.sum(removedUnitsPerLayer());
    }

    /** Units the source model has, summed over its layers. */
    public UnitCounts sourceUnits() {
        return UnitCounts.sum(source.layers().stream().map(UnitCounts::all).toList());
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
