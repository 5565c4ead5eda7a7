package io.cusprun.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The forward pass of a Llama-family decoder (Llama 2/3, Mistral, Qwen2) on LibTorch, following
 * HF's modelling code: RMSNorm, RoPE (rotate-half, llama3/linear scaling), GQA attention with
 * optional q/k/v/o biases, SwiGLU MLP, tied or separate lm_head. Layers may have different sizes
 * (per-layer pruned checkpoints).
 *
 * <p>Inputs are packed documents ({@link Batch}) or padded rows with an attention mask. Every
 * inference pass runs under NoGradGuard in its own PointerScope (one more per layer, so a layer's
 * intermediates are freed as soon as it is done); the returned tensor belongs to the caller's
 * PointerScope if there is one, else the caller closes it. The scorer plugs in through
 * {@link LayerHooks}; FFN neurons and attention heads can be masked (multiplied by 0/1).
 *
 * <p>Training: {@link #initialize} builds a model from fresh parameters, {@link #parameters()}
 * gives the tensors to optimise, {@link #logitsWithGrad} is the same forward pass with autograd
 * on, and {@link #save} writes the weights back under their HF names (q/k/v and gate/up split).
 */
public final class LlamaModel implements Decoder {

    private final ModelConfig config;
    private final LoadOptions options;
    private final Device device;
    private final Tensor embedding;
    private final Tensor finalNorm;
    private final Tensor lmHead;
    private final List<LayerWeights> layers;
    private final Rope rope;
    private final Tensor[] ffnMasks;
    private final Tensor[] headMasks;

    private LlamaModel(
            ModelConfig config,
            LoadOptions options,
            Device device,
            Tensor embedding,
            Tensor finalNorm,
            Tensor lmHead,
            List<LayerWeights> layers) {
        this.config = config;
        this.options = options;
        this.device = device;
        this.embedding = embedding;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = List.copyOf(layers);
        this.rope = new Rope(config);
        this.ffnMasks = new Tensor[layers.size()];
        this.headMasks = new Tensor[layers.size()];
    }

    /** Loads config.json and the safetensors of a model directory, fp32 on the CPU. */
    public static LlamaModel load(Path dir) throws IOException {
        return load(dir, LoadOptions.DEFAULTS);
    }

    public static LlamaModel load(Path dir, LoadOptions options) throws IOException {
        ModelConfig config = ModelConfig.read(dir);
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            return load(config, checkpoint, options);
        }
    }

    /** Builds the model from an open checkpoint (which may be closed afterwards). */
    public static LlamaModel load(ModelConfig config, Checkpoint checkpoint, LoadOptions options) throws IOException {
        CheckpointLayout.check(config, checkpoint);
        return build(config, new WeightLoader(checkpoint, config, options), options);
    }

    /**
     * A model with freshly initialised parameters, as HF initialises a Llama model: matrices and
     * embeddings from N(0, std^2) with std = config.json's {@code initializer_range} (default
     * 0.02), RMSNorm weights 1, biases 0. Seeds LibTorch's default generator with {@code seed}.
     */
    public static LlamaModel initialize(ModelConfig config, LoadOptions options, long seed) {
        torch.manual_seed(seed);
        double std = config.raw().path("initializer_range").asDouble(0.02);
        try {
            return build(config, new WeightLoader(WeightLoader.initializer(std), config, options), options);
        } catch (IOException e) {
            throw new IllegalStateException(e); // the initializer reads no file
        }
    }

    private static LlamaModel build(ModelConfig config, WeightLoader loader, LoadOptions options) throws IOException {
        io.cusprun.engine.CpuRuntime.configure();
        try (PointerScope scope = new PointerScope();
                NoGradGuard noGrad = new NoGradGuard()) {
            Tensor embedding = Tensors.keep(loader.embedding());
            Tensor finalNorm = Tensors.keep(loader.finalNorm());
            Tensor lmHead = config.tieWordEmbeddings() ? embedding : Tensors.keep(loader.lmHead());
            List<LayerWeights> layers = new ArrayList<>();
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                // one scope per layer: the unfused parts (converted copies, before cat) go at once, not at the end
                try (PointerScope layerScope = new PointerScope()) {
                    layers.add(loader.layer(i));
                }
            }
            return new LlamaModel(config, options, loader.device(), embedding, finalNorm, lmHead, layers);
        }
    }

    public ModelConfig config() {
        return config;
    }

    @Override
    public LoadOptions options() {
        return options;
    }

    public int numLayers() {
        return layers.size();
    }

    /** Layer i's weights (storage dtype, see {@link LoadOptions#storage()}; on the device); the scorer reads W_down and W_O here. */
    public LayerWeights layer(int i) {
        return layers.get(i);
    }

    public Tensor embedding() {
        return embedding;
    }

    public Tensor lmHead() {
        return lmHead;
    }

    public Tensor finalNorm() {
        return finalNorm;
    }

    /** Logits [T, V] of a packed batch, plain inference. */
    public Tensor logits(Batch batch) {
        return logits(batch, LayerHooks.inference(options.ffn()));
    }

    /** Logits [T, V] of a packed batch, with the given hooks. */
    public Tensor logits(Batch batch, LayerHooks hooks) {
        return run(batch.tokens(), () -> new AttentionLayout.Packed(batch, device), hooks, true, false);
    }

    /**
     * Logits [T, V] of a packed batch with autograd on, for training: the same pass as
     * {@link #logits(Batch)} with the differentiable LibTorch FFN activation
     * ({@link LayerHooks#differentiable()}); call backward on a loss of the result to get the
     * gradients of {@link #parameters()} that require them.
     */
    public Tensor logitsWithGrad(Batch batch) {
        return run(
                batch.tokens(),
                () -> new AttentionLayout.Packed(batch, device),
                LayerHooks.differentiable(),
                true,
                true);
    }

    /** Final hidden states [T, D] (after the last RMSNorm) of a packed batch. */
    public Tensor hiddenStates(Batch batch, LayerHooks hooks) {
        return run(batch.tokens(), () -> new AttentionLayout.Packed(batch, device), hooks, false, false);
    }

    /** Logits [N, V] of final hidden states [N, D] (lm_head), e.g. for only the rows an evaluation scores. */
    public Tensor project(Tensor hidden) {
        return linear(hidden, compute(lmHead), null);
    }

    /** A weight in the compute dtype: itself, or a converted copy when weights are stored in another dtype. */
    private Tensor compute(Tensor weight) {
        return options.convertsPerLayer() ? weight.to(options.dtype().scalarType()) : weight;
    }

    /** Masks FFN neurons of a layer (mask[F] of 0/1, or null to clear): act is multiplied by it before down_proj. */
    public void setFfnMask(int layer, float[] mask) {
        Tensors.release(ffnMasks[layer]);
        ffnMasks[layer] = null;
        if (mask != null) {
            checkLength(mask, layers.get(layer).size().intermediateSize(), "FFN", layer);
            ffnMasks[layer] = Tensors.keep(
                    Tensors.ofFloats(mask).to(device, options.dtype().scalarType()));
        }
    }

    /** Masks attention heads of a layer (mask[H], or null to clear): z is multiplied by it before o_proj. */
    public void setHeadMask(int layer, float[] mask) {
        Tensors.release(headMasks[layer]);
        headMasks[layer] = null;
        if (mask != null) {
            checkLength(mask, layers.get(layer).size().numAttentionHeads(), "head", layer);
            headMasks[layer] = Tensors.keep(Tensors.ofFloats(mask, 1, mask.length, 1)
                    .to(device, options.dtype().scalarType()));
        }
    }

    public void clearMasks() {
        for (int i = 0; i < layers.size(); i++) {
            setFfnMask(i, null);
            setHeadMask(i, null);
        }
    }

    private static void checkLength(float[] mask, int expected, String what, int layer) {
        if (mask.length != expected) {
            throw new IllegalArgumentException(
                    what + " mask for layer " + layer + " has " + mask.length + " entries, the layer has " + expected);
        }
    }

    /**
     * The tensors the forward pass computes with, by name: HF names, except that each layer's
     * q/k/v and gate/up are one fused tensor ({@code self_attn.qkv_proj.weight}, {@code
     * mlp.gate_up_proj.weight}, and their biases); a tied lm_head is the embedding and is listed
     * once. These are the model's own tensors: {@code requires_grad_(true)} on them and an
     * optimiser updating them in place train the model.
     */
    public Map<String, Tensor> parameters() {
        return named(true);
    }

    /**
     * The weights under their HF names in checkpoint order, as views of the model's tensors (fused
     * q/k/v and gate/up split back into their rows); {@code lm_head.weight} only when untied. The
     * views belong to the caller's PointerScope.
     */
    public Map<String, Tensor> hfTensors() {
        return named(false);
    }

    private Map<String, Tensor> named(boolean fused) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("model.embed_tokens.weight", embedding);
        for (int i = 0; i < layers.size(); i++) {
            String prefix = "model.layers." + i + ".";
            if (fused) {
                layers.get(i).parametersTo(prefix, out);
            } else {
                layers.get(i).exportTo(prefix, out);
            }
        }
        out.put("model.norm.weight", finalNorm);
        if (lmHead != embedding) {
            out.put("lm_head.weight", lmHead);
        }
        return out;
    }

    /**
     * Writes the model to {@code dir}: {@code model.safetensors} (or shards) with the weights
     * under their HF names converted to {@code dtype} (round to nearest even), then {@code
     * config.json} with that torch_dtype. Each file is written to a temporary name and renamed.
     */
    public void save(Path dir, DType dtype, Map<String, String> metadata) throws IOException {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("weights are saved as F32, BF16, F16 or F64, not " + dtype);
        }
        try (PointerScope scope = new PointerScope();
                NoGradGuard noGrad = new NoGradGuard()) {
            Map<String, Tensor> tensors = hfTensors();
            List<TensorSpec> specs = new ArrayList<>();
            tensors.forEach((name, t) -> specs.add(new TensorSpec(name, dtype, Tensors.shape(t))));
            new SafetensorsWriter(dir)
                    .metadata(metadata)
                    .write(specs, spec -> tensors.get(spec.name()).detach().to(dtype.scalarType()));
        }
        config.withTorchDtype(dtype).write(dir);
    }

    private Tensor run(
            long[] tokens,
            java.util.function.Supplier<AttentionLayout> layoutFactory,
            LayerHooks hooks,
            boolean logits,
            boolean grad) {
        checkTokens(tokens, config);
        PointerScope outer = PointerScope.getInnerScope();
        Tensor result;
        try (AutoGradMode gradMode = new AutoGradMode(grad);
                PointerScope scope = new PointerScope()) {
            AttentionLayout layout = layoutFactory.get();
            Tensor x = embedTokens(tokens);
            Tensor[] cosSin = rope.cosSin(layout.positions(), options.dtype().scalarType());
            Tensor owned = null;
            for (int i = 0; i < layers.size(); i++) {
                Tensor next;
                try (PointerScope layerScope = new PointerScope()) {
                    next = layer(i, x, layout, cosSin, hooks);
                    next.retainReference();
                }
                if (owned != null) {
                    owned.releaseReference(); // the previous layer's output is no longer needed
                }
                owned = next;
                x = next;
            }
            if (owned != null) {
                scope.attach(owned);
                owned.releaseReference();
            }
            Tensor h = rmsNorm(x, compute(finalNorm));
            result = logits ? linear(h, compute(lmHead), null) : h;
            result.retainReference();
        }
        if (outer != null) {
            outer.attach(result);
            result.releaseReference();
        }
        return result;
    }

    private Tensor layer(int i, Tensor x, AttentionLayout layout, Tensor[] cosSin, LayerHooks hooks) {
        LayerWeights w = layers.get(i);
        hooks.beginLayer(i, w);
        if (options.convertsPerLayer()) {
            w = w.to(options.dtype().scalarType()); // freed with this layer's PointerScope
        }
        return DecoderStep.layer(config, i, w, ffnMasks[i], headMasks[i], x, layout, cosSin, hooks);
    }

    private static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return DecoderStep.linear(x, weight, bias);
    }

    private Tensor rmsNorm(Tensor x, Tensor weight) {
        return DecoderStep.rmsNorm(x, weight, config.rmsNormEps());
    }

    /** Refuses a token id outside the vocabulary (before it reaches LibTorch's gather). */
    static void checkTokens(long[] tokens, ModelConfig config) {
        for (long id : tokens) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new TokenIdException(
                        "token id " + id + " outside the vocabulary [0, " + config.vocabSize() + ") of the model");
            }
        }
    }

    @Override
    public Tensor embed(Batch batch) {
        checkTokens(batch.tokens(), config);
        return embedTokens(batch.tokens());
    }

    private Tensor embedTokens(long[] tokens) {
        Tensor ids = Tensors.ofLongs(tokens).to(device, torch.ScalarType.Long);
        Tensor x = torch.embedding(embedding, ids);
        return options.convertsPerLayer() ? x.to(options.dtype().scalarType()) : x;
    }

    @Override
    public String device() {
        return options.device();
    }

    /** Batch by batch, the whole model resident. */
    @Override
    public void run(List<Batch> batches, java.util.function.IntFunction<LayerHooks> hooks, HiddenSink sink) {
        for (int b = 0; b < batches.size(); b++) {
            try (PointerScope scope = new PointerScope();
                    NoGradGuard noGrad = new NoGradGuard()) {
                Tensor h = hiddenStates(batches.get(b), hooks.apply(b));
                if (sink != null) sink.accept(b, h);
            }
        }
    }

    @Override
    public void close() {
        clearMasks();
        for (LayerWeights w : layers) {
            w.release();
        }
        if (lmHead != embedding) {
            Tensors.release(lmHead);
        }
        Tensors.release(embedding);
        Tensors.release(finalNorm);
    }
}
