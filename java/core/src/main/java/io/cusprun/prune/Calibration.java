package io.cusprun.prune;

import io.cusprun.corpus.BatchPacker;
import io.cusprun.corpus.DocumentBatch;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.LlamaModel;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;

/** Runs calibration corpora through the model and collects the baselines' activation statistics. */
public final class Calibration {
    private Calibration() {}

    public static CalibrationHooks collect(
            LlamaModel model, List<TokenizedCorpus> corpora, int batchTokens, boolean blockInfluence) {
        if (corpora.isEmpty()) throw new IllegalArgumentException("this method needs a calibration corpus");
        CalibrationHooks hooks = new CalibrationHooks(model, blockInfluence);
        BatchPacker packer = new BatchPacker(batchTokens, 64);
        for (TokenizedCorpus c : corpora) {
            for (DocumentBatch b : packer.pack(c)) {
                try (PointerScope scope = new PointerScope()) {
                    Batch batch = new Batch(b.ids(), b.docOffsets());
                    hooks.begin(batch);
                    try {
                        model.hiddenStates(batch, hooks);
                    } finally {
                        hooks.end();
                    }
                }
            }
        }
        return hooks;
    }
}
