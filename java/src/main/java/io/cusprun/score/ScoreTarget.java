package io.cusprun.score;

import java.util.function.Function;

/**
 * What a score run needs from the model besides its corpora.
 *
 * @param fingerprint {@link ModelFingerprint} of the checkpoint
 * @param kvHeads     key/value heads per layer (to group attention outputs)
 * @param headDim     d
 * @param weights     weight-side factors per device
 * @param replicas    loads a model replica on a device ("cpu" replicas may be shared by workers)
 * @param backend     kernels per device
 */
public record ScoreTarget(String fingerprint, int[] kvHeads, int headDim,
                          Function<String, RelevanceWeights> weights,
                          Function<String, ScoringModel> replicas,
                          Function<String, RelevanceBackend> backend) {}
