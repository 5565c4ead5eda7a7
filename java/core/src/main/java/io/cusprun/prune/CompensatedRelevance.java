package io.cusprun.prune;

import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.LayerStepper;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.LoadOptions;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * cusprun's FFN statistic after compensation ({@link Relevance#COMPENSATED}, docs/method.md,
 * "Compensated relevance"): per dimension X and layer, the neurons in the greedy order of
 * structured OBS on the dimension's Gram ({@link StructuredObs#greedy}, W = down_proj, G = G_X /
 * n_X on the unpruned model), a neuron's rank in dimension X its position in that order over F − 1
 * (0: removed first), and its statistic the max over dimensions, the paper's intersection: it is
 * removable only where it is cheap for every dimension. Ties go by the summed positions. Heads,
 * groups and neuron-level units keep the ablation statistic.
 */
public final class CompensatedRelevance {
    private CompensatedRelevance() {}

    /** {@code ablation} with its FFN statistic replaced by the compensated one, from {@code corpora} (one dimension each). */
    public static UnitScores of(UnitScores ablation, Path modelDir, List<TokenizedCorpus> corpora) throws IOException {
        Compensation.Batches data = Compensation.Batches.of(corpora);
        List<UnitScores.Layer> layers = new ArrayList<>();
        try (LayerStepper stepper = LayerStepper.open(modelDir, LoadOptions.DEFAULTS, data.batches())) {
            for (int l = 0; l < ablation.numLayers(); l++) {
                try (PointerScope scope = new PointerScope()) {
                    LayerWeights w = stepper.layer(l);
                    Tensor down = w.down().to(torch.ScalarType.Double);
                    Tensor[] grams = data.gramsPerCorpus(stepper, l, w, true);
                    int f = (int) down.size(1);
                    double[] stat = new double[f], tie = new double[f];
                    for (int c = 0; c < grams.length; c++) {
                        int[] pos = StructuredObs.greedy(down, grams[c]).positions();
                        for (int k = 0; k < f; k++) {
                            stat[k] = Math.max(stat[k], f == 1 ? 0 : pos[k] / (double) (f - 1));
                            tie[k] += pos[k];
                        }
                    }
                    UnitScores.Layer a = ablation.layers().get(l);
                    layers.add(new UnitScores.Layer(
                            new UnitScores.Ranked(stat, tie), a.heads(), a.groups(), a.qk(), a.vo()));
                    stepper.advance(l, w);
                }
            }
        }
        return new UnitScores(ablation.method(), layers);
    }
}
