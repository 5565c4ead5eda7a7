package io.cusprun.prune;

/**
 * One importance per decoder layer (ShortGPT's block influence): the layers with the lowest go
 * first, whole.
 *
 * @param method what produced them
 * @param scores one entry per decoder layer
 */
public record LayerScores(Method method, double[] scores) implements PruneStatistics {

    public LayerScores {
        scores = scores.clone();
    }

    @Override
    public double[] scores() {
        return scores.clone();
    }

    public double score(int layer) {
        return scores[layer];
    }

    @Override
    public int numLayers() {
        return scores.length;
    }
}
