package io.cusprun.score;

import io.cusprun.model.Batch;
import io.cusprun.model.LayerHooks;

/** A model replica that runs the forward pass over a packed batch with hooks (logits discarded). */
public interface ScoringModel extends AutoCloseable {
    void forward(Batch batch, LayerHooks hooks);

    /** LibTorch device string of this replica ("cpu", "cuda:0"). */
    String device();

    @Override
    void close();
}
