package io.cusprun.model;

import java.util.List;
import java.util.function.IntFunction;

/**
 * Runs a model's decoder over packed batches: either the whole model resident ({@link
 * LlamaModel}, batch by batch) or one layer resident at a time ({@link StreamedDecoder}, layer
 * by layer over a chunk of batches). Both give the same activations for the same batches; code
 * that runs a model (scoring, evaluation, calibration) goes through this interface and does not
 * know which it has.
 */
public interface Decoder extends AutoCloseable {

    /** Receives a batch's final hidden states (after the last RMSNorm), valid during the call only. */
    @FunctionalInterface
    interface HiddenSink {
        void accept(int batch, org.bytedeco.pytorch.Tensor hidden);
    }

    ModelConfig config();

    /** LibTorch device string ("cpu", "cuda:1"). */
    String device();

    /** The device, dtypes and FFN activation of plain inference it runs with. */
    LoadOptions options();

    /**
     * Runs the batches; {@code hooks.apply(b)} gives the hooks for batch b (called before each of
     * its layers, so hooks may keep per-batch state there), and {@code sink} gets each batch's
     * final hidden states, in batch order; null for none (scoring needs only the layers). Every
     * batch's hooks see layer i before layer i+1; a streamed decoder runs all batches of a chunk
     * through a layer before the next.
     */
    void run(List<Batch> batches, IntFunction<LayerHooks> hooks, HiddenSink sink);

    /** The batch's token embeddings [T, D] in the compute dtype (what layer 0 gets). */
    org.bytedeco.pytorch.Tensor embed(Batch batch);

    /** Logits [N, V] of final hidden rows (lm_head); call it inside a {@link HiddenSink}. */
    org.bytedeco.pytorch.Tensor project(org.bytedeco.pytorch.Tensor hidden);

    @Override
    void close();
}
