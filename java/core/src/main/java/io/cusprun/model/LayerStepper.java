package io.cusprun.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.IntFunction;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * The decoder run layer-major under the caller's control, for passes that change a layer's
 * weights from statistics of every batch before the next layer runs (compensation,
 * docs/method.md): every batch's hidden state stays resident between layers, one layer's weights
 * are read at a time ({@link #layer}), the caller runs all batches through it with hooks as often
 * as it needs ({@link #run}) and moves the hidden states on with the weights it settled on
 * ({@link #advance}). The layer arithmetic is {@link DecoderStep}'s, so with a layer's own
 * weights the hidden states are the ones {@link LlamaModel} and {@link StreamedDecoder} compute.
 */
public final class LayerStepper implements AutoCloseable {
    private final ModelConfig config;
    private final LoadOptions options;
    private final Checkpoint checkpoint;
    private final WeightLoader loader;
    private final Rope rope;
    private final Device device;
    private final List<Batch> batches;
    private final Tensor[] hidden;
    private final Tensor finalNorm;

    private LayerStepper(ModelConfig config, Checkpoint checkpoint, LoadOptions options, List<Batch> batches)
            throws IOException {
        io.cusprun.engine.CpuRuntime.configure();
        this.config = config;
        this.checkpoint = checkpoint;
        this.options = options.withStorage(options.dtype()); // layers are converted as they are read
        this.loader = WeightLoader.reading(checkpoint, config, this.options);
        this.device = new Device(options.device());
        this.rope = new Rope(config);
        this.batches = List.copyOf(batches);
        hidden = new Tensor[batches.size()];
        try (PointerScope scope = new PointerScope();
                NoGradGuard noGrad = new NoGradGuard()) {
            finalNorm = Tensors.keep(loader.finalNorm());
            for (int b = 0; b < hidden.length; b++) {
                Batch batch = batches.get(b);
                LlamaModel.checkTokens(batch.tokens(), config);
                hidden[b] = Tensors.keep(StreamedDecoder.embedRows(checkpoint, batch, device, this.options));
            }
        }
    }

    /**
     * Embeds {@code batches} (their hidden states stay resident until {@link #close}) for
     * layer-major runs of the model in {@code dir} on {@code options}' device and compute dtype.
     */
    public static LayerStepper open(Path dir, LoadOptions options, List<Batch> batches) throws IOException {
        ModelConfig config = ModelConfig.read(dir);
        Checkpoint checkpoint = Checkpoint.open(dir);
        try {
            CheckpointLayout.check(config, checkpoint);
            return new LayerStepper(config, checkpoint, options, batches);
        } catch (IOException | RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public List<Batch> batches() {
        return batches;
    }

    /**
     * Layer i read from the files, in the compute dtype on the device; owned by the caller's
     * PointerScope, which must exist: its tensors are freed when that scope closes. (The loader's
     * layers carry a reference of their own, which a pass that reads every layer must not keep:
     * at the 8B shape they held about 0.9 GB a layer until a garbage collection.)
     */
    public LayerWeights layer(int i) throws IOException {
        PointerScope scope = PointerScope.getInnerScope();
        if (scope == null) throw new IllegalStateException("LayerStepper.layer needs the caller's PointerScope");
        LayerWeights w = loader.layer(i);
        w.handTo(scope);
        return w;
    }

    /**
     * Runs every batch through layer i with {@code w} and the batch's hooks; each batch's output
     * goes to {@code outputs} (valid during the call; null to discard them), the hidden states stay.
     */
    public void run(int layer, LayerWeights w, IntFunction<LayerHooks> hooks, Decoder.HiddenSink outputs) {
        step(layer, w, hooks, false, outputs);
    }

    /** Makes {@code next} (kept by this stepper from now on) batch b's hidden state, as if a layer had produced it. */
    public void setHidden(int b, Tensor next) {
        Tensors.keep(next);
        Tensors.release(hidden[b]);
        hidden[b] = next;
    }

    /** Runs every batch through layer i with {@code w} (plain inference); the outputs become the hidden states. */
    public void advance(int layer, LayerWeights w) {
        LayerHooks inference = LayerHooks.inference(options.ffn());
        step(layer, w, b -> inference, true, null);
    }

    /** The device, dtypes and FFN activation the layers run with. */
    public LoadOptions options() {
        return options;
    }

    /** Batch b's hidden state after the layers advanced so far (before the final norm), [T, D]. */
    public Tensor hidden(int b) {
        return hidden[b];
    }

    /** Batch b's hidden state through the model's final norm (what a decoder's sink gets after the last layer). */
    public Tensor finalHidden(int b) {
        return DecoderStep.rmsNorm(hidden[b], finalNorm, config.rmsNormEps());
    }

    private void step(
            int layer, LayerWeights w, IntFunction<LayerHooks> hooks, boolean advance, Decoder.HiddenSink outputs) {
        try (NoGradGuard noGrad = new NoGradGuard()) {
            for (int b = 0; b < batches.size(); b++) {
                try (PointerScope scope = new PointerScope()) {
                    // layout and RoPE tables are rebuilt per batch and layer: cheap next to the layer
                    AttentionLayout layout = new AttentionLayout.Packed(batches.get(b), device);
                    Tensor[] cosSin =
                            rope.cosSin(layout.positions(), options.dtype().scalarType());
                    LayerHooks h = hooks.apply(b);
                    h.beginLayer(layer, w);
                    Tensor y = DecoderStep.layer(config, layer, w, null, null, hidden[b], layout, cosSin, h);
                    if (outputs != null) outputs.accept(b, y);
                    if (advance) setHidden(b, y);
                }
            }
        }
        if (advance) org.bytedeco.javacpp.Pointer.trimMemory();
    }

    @Override
    public void close() {
        for (int b = 0; b < hidden.length; b++) {
            Tensors.release(hidden[b]);
            hidden[b] = null;
        }
        Tensors.release(finalNorm);
        loader.close();
        checkpoint.close();
    }
}
