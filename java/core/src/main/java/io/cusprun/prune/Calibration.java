package io.cusprun.prune;

import io.cusprun.corpus.BatchPacker;
import io.cusprun.corpus.DocumentBatch;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.Decoder;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;

/** Runs calibration corpora through the model and collects the baselines' activation statistics. */
public final class Calibration {
    private Calibration() {}

    /**
     * The statistics of the corpora's batches, in memory or streamed as the decoder runs; each
     * batch's hooks (and, for block influence, its fp64 residual stream) live from its first
     * layer to its final hidden states.
     */
    public static CalibrationHooks collect(
            Decoder decoder, List<TokenizedCorpus> corpora, int batchTokens, boolean blockInfluence) {
        if (corpora.isEmpty()) throw new IllegalArgumentException("this method needs a calibration corpus");
        CalibrationHooks hooks = new CalibrationHooks(decoder.config().numHiddenLayers(), blockInfluence);
        BatchPacker packer = new BatchPacker(batchTokens, 64);
        List<Batch> batches = new ArrayList<>();
        for (TokenizedCorpus c : corpora) {
            for (DocumentBatch b : packer.pack(c)) {
                batches.add(new Batch(b.ids(), b.docOffsets()));
            }
        }
        CalibrationHooks.BatchHooks[] views = new CalibrationHooks.BatchHooks[batches.size()];
        try {
            decoder.run(
                    batches,
                    b -> {
                        if (views[b] == null) {
                            try (PointerScope scope = new PointerScope()) {
                                views[b] = hooks.forBatch(batches.get(b), decoder.embed(batches.get(b)));
                            }
                        }
                        return views[b];
                    },
                    (b, hidden) -> {
                        views[b].close();
                        views[b] = null;
                    });
        } finally {
            for (CalibrationHooks.BatchHooks v : views) {
                if (v != null) v.close();
            }
        }
        return hooks;
    }
}
