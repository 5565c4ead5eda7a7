package io.cusprun.prune;

/**
 * What a method hands the planner: statistics per unit inside the layers ({@link UnitScores}),
 * or one importance per whole layer ({@link LayerScores}, ShortGPT). Lower = removed first.
 */
public sealed interface PruneStatistics permits UnitScores, LayerScores {

    /** What produced them. */
    Method method();

    /** The number of decoder layers they cover. */
    int numLayers();
}
