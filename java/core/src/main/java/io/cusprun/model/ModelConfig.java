package io.cusprun.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.AtomicOutput;
import io.cusprun.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Llama-family config.json: {@code LlamaForCausalLM} (Llama 2, 3, 3.1, 3.2), {@code
 * MistralForCausalLM} and {@code Qwen2ForCausalLM}. Per-layer sizes come from the cusprun
 * extension {@code "cusprun_layer_sizes": [{"intermediate_size", "num_attention_heads",
 * "num_key_value_heads"}, ...]} when present, otherwise every layer has the global sizes.
 * {@link #raw()} keeps the whole file so that {@link #toJson()} writes unknown fields back.
 *
 * @param qkvBias               q/k/v projections have biases (Qwen2; Llama with attention_bias)
 * @param oBias                 o_proj has a bias (Llama with attention_bias)
 * @param mlpBias               gate/up/down projections have biases (Llama with mlp_bias)
 * @param slidingWindow         attention window in tokens, 0 for none
 * @param slidingWindowFrom     first layer that uses the window (Qwen2's max_window_layers)
 */
public record ModelConfig(
        Architecture architecture,
        String modelType,
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int intermediateSize,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        long maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean qkvBias,
        boolean oBias,
        boolean mlpBias,
        DType torchDtype,
        Long bosTokenId,
        List<Long> eosTokenIds,
        int slidingWindow,
        int slidingWindowFrom,
        List<LayerSize> layers,
        ObjectNode raw) {

    public static final String FILE_NAME = "config.json";
    public static final String LAYER_SIZES_KEY = "cusprun_layer_sizes";

    /** More decoder layers than any real model has (the largest have about 130); a config over it is corrupt. */
    public static final int MAX_LAYERS = 100_000;

    private static final ObjectMapper JSON = new ObjectMapper();

    public ModelConfig {
        layers = List.copyOf(layers);
        eosTokenIds = List.copyOf(eosTokenIds);
        raw = raw.deepCopy();
    }

    @Override
    public ObjectNode raw() {
        return raw.deepCopy();
    }

    public LayerSize layer(int i) {
        return layers.get(i);
    }

    /** True when every layer has the global sizes (a plain HF checkpoint). */
    public boolean isUniform() {
        LayerSize global = new LayerSize(intermediateSize, numAttentionHeads, numKeyValueHeads);
        return layers.stream().allMatch(global::equals);
    }

    /** The attention window of a layer in tokens, 0 for full causal attention. */
    public int slidingWindow(int layer) {
        return slidingWindow > 0 && layer >= slidingWindowFrom ? slidingWindow : 0;
    }

    /** Reads {@code config.json} from a model directory or the file itself. */
    public static ModelConfig read(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        if (!Files.exists(file)) {
            throw new IOException(file + ": no such file");
        }
        io.cusprun.Inputs.regularFile(file);
        JsonNode root = Json.read(file);
        if (root == null || !root.isObject()) {
            throw new IOException(file + ": not a JSON object");
        }
        try {
            return parse((ObjectNode) root);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
    }

    /** Parses a config object; throws IllegalArgumentException with a one-line reason. */
    public static ModelConfig parse(ObjectNode root) {
        Architecture arch = architecture(root);
        refuseUnsupported(root);
        String modelType = text(root, "model_type", "");
        int vocab = positiveInt(root, "vocab_size");
        int hidden = positiveInt(root, "hidden_size");
        int layersN = positiveInt(root, "num_hidden_layers");
        if (layersN > MAX_LAYERS) {
            throw new IllegalArgumentException("\"num_hidden_layers\" " + layersN + " is over " + MAX_LAYERS);
        }
        int inter = positiveInt(root, "intermediate_size");
        int heads = positiveInt(root, "num_attention_heads");
        int kvHeads = root.hasNonNull("num_key_value_heads") ? positiveInt(root, "num_key_value_heads") : heads;
        if (heads % kvHeads != 0) {
            throw new IllegalArgumentException(
                    "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        int headDim = root.hasNonNull("head_dim") ? positiveInt(root, "head_dim") : hidden / heads;
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("head_dim " + headDim + " must be positive and even");
        }
        if (heads > 0 && !root.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new IllegalArgumentException(
                    "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        boolean qkvBias;
        boolean oBias;
        boolean mlpBias = bool(root, "mlp_bias");
        int window = 0;
        int windowFrom = 0;
        switch (arch) {
            case LLAMA -> {
                qkvBias = bool(root, "attention_bias");
                oBias = qkvBias;
            }
            case MISTRAL -> {
                qkvBias = false;
                oBias = false;
                window = optInt(root, "sliding_window", 0);
            }
            case QWEN2 -> {
                qkvBias = true;
                oBias = false;
                if (bool(root, "use_sliding_window")) {
                    window = optInt(root, "sliding_window", 0);
                    windowFrom = optInt(root, "max_window_layers", 0);
                }
            }
            default -> throw new IllegalStateException(arch.name());
        }
        checkLayerTypes(root, layersN, window, windowFrom);
        double ropeTheta = root.hasNonNull("rope_theta") ? positiveNumber(root, "rope_theta", "") : 10000.0;
        JsonNode ropeParams = root.get("rope_parameters");
        if (ropeParams != null && ropeParams.isObject() && ropeParams.hasNonNull("rope_theta")) {
            ropeTheta = positiveNumber(ropeParams, "rope_theta", "rope_parameters.");
        }
        double eps = root.hasNonNull("rms_norm_eps") ? positiveNumber(root, "rms_norm_eps", "") : 1e-6;
        long maxPositions =
                root.hasNonNull("max_position_embeddings") ? positiveLong(root, "max_position_embeddings", "") : 2048;
        RopeScaling scaling = ropeScaling(root);
        DType dtype = root.hasNonNull("torch_dtype")
                ? DType.fromTorchName(string(root, "torch_dtype"))
                : root.hasNonNull("dtype") ? DType.fromTorchName(string(root, "dtype")) : DType.F32;
        Long bos = root.hasNonNull("bos_token_id") ? tokenId(root.get("bos_token_id"), "bos_token_id", vocab) : null;
        List<Long> eos = new ArrayList<>();
        JsonNode eosNode = root.get("eos_token_id");
        if (eosNode != null && eosNode.isArray()) {
            for (JsonNode n : eosNode) {
                eos.add(tokenId(n, "eos_token_id", vocab));
            }
        } else if (eosNode != null && !eosNode.isNull()) {
            eos.add(tokenId(eosNode, "eos_token_id", vocab));
        }
        List<LayerSize> sizes = layerSizes(root, layersN, new LayerSize(inter, heads, kvHeads));
        return new ModelConfig(
                arch,
                modelType,
                vocab,
                hidden,
                layersN,
                inter,
                heads,
                kvHeads,
                headDim,
                eps,
                ropeTheta,
                scaling,
                maxPositions,
                bool(root, "tie_word_embeddings"),
                qkvBias,
                oBias,
                mlpBias,
                dtype,
                bos,
                eos,
                window,
                windowFrom,
                sizes,
                root);
    }

    /** The activations cusprun computes: HF's names of SiLU (ACT2FN maps both to nn.SiLU). */
    public static final List<String> SUPPORTED_ACTIVATIONS = List.of("silu", "swish");

    /**
     * Fields that change what the model computes and that cusprun does not implement, each with
     * the value (or values) under which it changes nothing: present with another value, the config
     * is refused by name rather than computed as if the field were absent. The list follows
     * HuggingFace's Llama-family configs and their close relatives (Gemma, Granite, Cohere, OLMo,
     * Llama 4, Qwen2-VL, Phi); docs/formats.md lists what is supported.
     */
    private static final Map<String, java.util.function.Predicate<JsonNode>> NEUTRAL = Map.ofEntries(
            Map.entry("hidden_activation", v -> isOneOf(v, SUPPORTED_ACTIVATIONS)),
            Map.entry("activation_function", v -> isOneOf(v, SUPPORTED_ACTIVATIONS)),
            Map.entry("partial_rotary_factor", v -> v.isNumber() && v.asDouble() == 1.0),
            Map.entry("attn_logit_softcapping", v -> false),
            Map.entry("final_logit_softcapping", v -> false),
            Map.entry("query_pre_attn_scalar", v -> false),
            Map.entry("logit_scale", v -> v.isNumber() && v.asDouble() == 1.0),
            Map.entry("logits_scaling", v -> v.isNumber() && v.asDouble() == 1.0),
            Map.entry("embedding_multiplier", v -> v.isNumber() && v.asDouble() == 1.0),
            Map.entry("residual_multiplier", v -> v.isNumber() && v.asDouble() == 1.0),
            Map.entry("attention_multiplier", v -> false),
            Map.entry("use_qk_norm", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("qk_layernorm", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("use_parallel_residual", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("no_rope_layers", v -> false),
            Map.entry("attention_chunk_size", v -> false),
            Map.entry("num_experts", v -> v.isIntegralNumber() && v.asLong() <= 1),
            Map.entry("num_local_experts", v -> v.isIntegralNumber() && v.asLong() <= 1),
            Map.entry("quantization_config", v -> false),
            Map.entry("alibi", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry("use_alibi", v -> v.isBoolean() && !v.booleanValue()),
            Map.entry(
                    "position_embedding_type", v -> v.isTextual() && v.asText().equals("rope")));

    private static boolean isOneOf(JsonNode v, List<String> names) {
        return v.isTextual() && names.contains(v.asText());
    }

    /**
     * Refuses, by name, every field that would change the computation in a way cusprun does not
     * implement: an activation other than SiLU, the attention and scaling variants in {@link
     * #NEUTRAL}, RoPE parameters of other models (mrope), and per-layer attention types that
     * disagree with the sliding window cusprun derives.
     */
    private static void refuseUnsupported(ObjectNode root) {
        JsonNode act = root.get("hidden_act");
        if (act != null && !act.isNull() && !isOneOf(act, SUPPORTED_ACTIVATIONS)) {
            throw new IllegalArgumentException("\"hidden_act\" " + act + " is not supported: cusprun computes "
                    + String.join("/", SUPPORTED_ACTIVATIONS) + " (SwiGLU) only");
        }
        for (String key : new java.util.TreeSet<>(NEUTRAL.keySet())) {
            JsonNode v = root.get(key);
            if (v != null && !v.isNull() && !NEUTRAL.get(key).test(v)) {
                throw new IllegalArgumentException(
                        "\"" + key + "\" " + v + " changes the computation in a way cusprun does not implement");
            }
        }
        for (String key : List.of("rope_scaling", "rope_parameters")) {
            JsonNode r = root.get(key);
            if (r != null && r.isObject()) {
                for (String k : List.of("mrope_section", "mrope_interleaved", "partial_rotary_factor")) {
                    JsonNode v = r.get(k);
                    if (v != null
                            && !v.isNull()
                            && !(k.equals("partial_rotary_factor") && v.isNumber() && v.asDouble() == 1.0)) {
                        throw new IllegalArgumentException("\"" + key + "." + k + "\" " + v
                                + " changes the computation in a way cusprun does not implement");
                    }
                }
            }
        }
    }

    /**
     * {@code layer_types} (newer transformers): each entry must be the attention cusprun computes
     * for that layer, "sliding_attention" exactly where the window applies, else "full_attention".
     */
    private static void checkLayerTypes(ObjectNode root, int layers, int window, int windowFrom) {
        JsonNode types = root.get("layer_types");
        if (types == null || types.isNull()) {
            return;
        }
        if (!types.isArray() || types.size() != layers) {
            throw new IllegalArgumentException(
                    "\"layer_types\" must be an array of " + layers + " entries (num_hidden_layers)");
        }
        for (int i = 0; i < layers; i++) {
            String want = window > 0 && i >= windowFrom ? "sliding_attention" : "full_attention";
            JsonNode t = types.get(i);
            if (!t.isTextual() || !t.asText().equals(want)) {
                throw new IllegalArgumentException("\"layer_types\"[" + i + "] is " + t + ", but cusprun computes "
                        + want + " for that layer (sliding_window " + window + ", max_window_layers "
                        + windowFrom + ")");
            }
        }
    }

    private static Architecture architecture(ObjectNode root) {
        JsonNode archs = root.get("architectures");
        String name = archs != null && archs.isArray() && archs.size() > 0
                ? archs.get(0).asText()
                : null;
        Architecture arch =
                name != null ? Architecture.byHfName(name) : Architecture.byModelType(text(root, "model_type", ""));
        if (arch == null) {
            throw new IllegalArgumentException("unsupported architecture " + (name == null ? "(none given)" : name)
                    + "; supported: " + Architecture.supported());
        }
        return arch;
    }

    private static RopeScaling ropeScaling(ObjectNode root) {
        JsonNode s = root.get("rope_scaling");
        if (s == null || s.isNull()) {
            s = root.get("rope_parameters");
        }
        if (s == null || s.isNull()) {
            return RopeScaling.none();
        }
        String key = root.hasNonNull("rope_scaling") ? "rope_scaling" : "rope_parameters";
        if (!s.isObject()) {
            throw new IllegalArgumentException("\"" + key + "\" must be an object or null");
        }
        String type = s.hasNonNull("rope_type")
                ? string(s, "rope_type")
                : s.hasNonNull("type") ? string(s, "type") : "default";
        String k = key + ".";
        return switch (type) {
            case "default" -> RopeScaling.none();
            case "linear" -> new RopeScaling("linear", positiveNumber(s, "factor", k), 0, 0, 0);
            case "llama3" -> {
                double low = positiveNumber(s, "low_freq_factor", k);
                double high = positiveNumber(s, "high_freq_factor", k);
                if (!(high > low)) {
                    throw new IllegalArgumentException("\"" + k + "high_freq_factor\" " + high
                            + " must be greater than \"" + k + "low_freq_factor\" " + low);
                }
                yield new RopeScaling(
                        "llama3",
                        positiveNumber(s, "factor", k),
                        low,
                        high,
                        positiveLong(s, "original_max_position_embeddings", k));
            }
            default ->
                throw new IllegalArgumentException(
                        "unsupported rope_scaling type '" + type + "'; supported: " + RopeScaling.SUPPORTED);
        };
    }

    private static List<LayerSize> layerSizes(ObjectNode root, int n, LayerSize global) {
        JsonNode ext = root.get(LAYER_SIZES_KEY);
        List<LayerSize> out = new ArrayList<>();
        if (ext == null || ext.isNull()) {
            for (int i = 0; i < n; i++) {
                out.add(global);
            }
            return out;
        }
        if (!ext.isArray() || ext.size() != n) {
            throw new IllegalArgumentException(
                    LAYER_SIZES_KEY + " must be an array of " + n + " entries (num_hidden_layers)");
        }
        for (int i = 0; i < n; i++) {
            JsonNode e = ext.get(i);
            if (!e.isObject()) {
                throw new IllegalArgumentException(LAYER_SIZES_KEY + "[" + i + "] is not an object");
            }
            try {
                out.add(new LayerSize(
                        optInt(e, "intermediate_size", global.intermediateSize()),
                        optInt(e, "num_attention_heads", global.numAttentionHeads()),
                        optInt(e, "num_key_value_heads", global.numKeyValueHeads())));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(LAYER_SIZES_KEY + "[" + i + "]: " + ex.getMessage());
            }
        }
        return out;
    }

    /** The same config with new per-layer sizes; the global sizes become those of layer 0 when all layers agree. */
    public ModelConfig withLayerSizes(List<LayerSize> sizes) {
        if (sizes.size() != numHiddenLayers) {
            throw new IllegalArgumentException("need " + numHiddenLayers + " layer sizes, got " + sizes.size());
        }
        boolean uniform = sizes.stream().allMatch(sizes.get(0)::equals);
        LayerSize g = uniform
                ? sizes.get(0)
                : new LayerSize(
                        sizes.stream()
                                .mapToInt(LayerSize::intermediateSize)
                                .max()
                                .orElse(0),
                        numAttentionHeads,
                        numKeyValueHeads);
        return new ModelConfig(
                architecture,
                modelType,
                vocabSize,
                hiddenSize,
                numHiddenLayers,
                g.intermediateSize(),
                g.numAttentionHeads(),
                g.numKeyValueHeads(),
                headDim,
                rmsNormEps,
                ropeTheta,
                ropeScaling,
                maxPositionEmbeddings,
                tieWordEmbeddings,
                qkvBias,
                oBias,
                mlpBias,
                torchDtype,
                bosTokenId,
                eosTokenIds,
                slidingWindow,
                slidingWindowFrom,
                sizes,
                raw);
    }

    /** The same config with another torch_dtype. */
    public ModelConfig withTorchDtype(DType dtype) {
        return new ModelConfig(
                architecture,
                modelType,
                vocabSize,
                hiddenSize,
                numHiddenLayers,
                intermediateSize,
                numAttentionHeads,
                numKeyValueHeads,
                headDim,
                rmsNormEps,
                ropeTheta,
                ropeScaling,
                maxPositionEmbeddings,
                tieWordEmbeddings,
                qkvBias,
                oBias,
                mlpBias,
                dtype,
                bosTokenId,
                eosTokenIds,
                slidingWindow,
                slidingWindowFrom,
                layers,
                raw);
    }

    /**
     * The config as JSON: the original object with the sizes and dtype this record holds written
     * over it (head_dim always explicit, so that changed head counts keep the head size), and
     * {@code cusprun_layer_sizes} present exactly when the layers differ from the global sizes.
     */
    public ObjectNode toJson() {
        ObjectNode out = raw.deepCopy();
        out.put("intermediate_size", intermediateSize);
        out.put("num_attention_heads", numAttentionHeads);
        out.put("num_key_value_heads", numKeyValueHeads);
        out.put("head_dim", headDim);
        out.put("num_hidden_layers", numHiddenLayers);
        out.put("torch_dtype", torchDtype.torchName());
        if (isUniform()) {
            out.remove(LAYER_SIZES_KEY);
        } else {
            ArrayNode arr = out.putArray(LAYER_SIZES_KEY);
            for (LayerSize s : layers) {
                arr.addObject()
                        .put("intermediate_size", s.intermediateSize())
                        .put("num_attention_heads", s.numAttentionHeads())
                        .put("num_key_value_heads", s.numKeyValueHeads());
            }
        }
        return out;
    }

    /** Writes {@link #toJson()} to {@code dir/config.json} (or the file given), via a temporary file. */
    public void write(Path path) throws IOException {
        Path file = Files.isDirectory(path) ? path.resolve(FILE_NAME) : path;
        AtomicOutput.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson()));
    }

    /**
     * Starts a config.json: {@code architectures}, {@code model_type} and the global sizes, in that
     * order; the builder's other methods add their keys in the order they are called.
     */
    public static Builder builder(
            Architecture architecture,
            int vocabSize,
            int hiddenSize,
            int intermediateSize,
            int numHiddenLayers,
            int numAttentionHeads,
            int numKeyValueHeads) {
        return new Builder(
                architecture,
                vocabSize,
                hiddenSize,
                intermediateSize,
                numHiddenLayers,
                numAttentionHeads,
                numKeyValueHeads);
    }

    /** The one way config.json is assembled (trainer, benchmarks, test fixtures). */
    public static final class Builder {
        private final ObjectNode c = JSON.createObjectNode();

        private Builder(
                Architecture architecture,
                int vocabSize,
                int hiddenSize,
                int intermediateSize,
                int numHiddenLayers,
                int numAttentionHeads,
                int numKeyValueHeads) {
            c.putArray("architectures").add(architecture.hfName());
            c.put("model_type", architecture.modelType());
            c.put("vocab_size", vocabSize);
            c.put("hidden_size", hiddenSize);
            c.put("intermediate_size", intermediateSize);
            c.put("num_hidden_layers", numHiddenLayers);
            c.put("num_attention_heads", numAttentionHeads);
            c.put("num_key_value_heads", numKeyValueHeads);
        }

        public Builder headDim(int headDim) {
            c.put("head_dim", headDim);
            return this;
        }

        public Builder hiddenAct(String act) {
            c.put("hidden_act", act);
            return this;
        }

        public Builder maxPositionEmbeddings(long n) {
            c.put("max_position_embeddings", n);
            return this;
        }

        public Builder rmsNormEps(double eps) {
            c.put("rms_norm_eps", eps);
            return this;
        }

        public Builder ropeTheta(double theta) {
            c.put("rope_theta", theta);
            return this;
        }

        /** {@code rope_scaling} of Llama 3.1: {@code {"rope_type": "llama3", ...}}. */
        public Builder llama3RopeScaling(
                double factor, double lowFreqFactor, double highFreqFactor, long originalMaxPositionEmbeddings) {
            c.putObject("rope_scaling")
                    .put("rope_type", "llama3")
                    .put("factor", factor)
                    .put("low_freq_factor", lowFreqFactor)
                    .put("high_freq_factor", highFreqFactor)
                    .put("original_max_position_embeddings", originalMaxPositionEmbeddings);
            return this;
        }

        /** {@code rope_scaling} {@code {"type": "linear", "factor": F}} (the older key). */
        public Builder linearRopeScaling(double factor) {
            c.putObject("rope_scaling").put("type", "linear").put("factor", factor);
            return this;
        }

        public Builder tieWordEmbeddings(boolean tied) {
            c.put("tie_word_embeddings", tied);
            return this;
        }

        public Builder torchDtype(DType dtype) {
            c.put("torch_dtype", dtype.torchName());
            return this;
        }

        public Builder attentionBias(boolean bias) {
            c.put("attention_bias", bias);
            return this;
        }

        public Builder mlpBias(boolean bias) {
            c.put("mlp_bias", bias);
            return this;
        }

        public Builder bosTokenId(long id) {
            c.put("bos_token_id", id);
            return this;
        }

        /** One EOS id as a number, several as an array. */
        public Builder eosTokenIds(long... ids) {
            if (ids.length == 1) {
                c.put("eos_token_id", ids[0]);
            } else {
                ArrayNode a = c.putArray("eos_token_id");
                for (long id : ids) {
                    a.add(id);
                }
            }
            return this;
        }

        public Builder padTokenId(long id) {
            c.put("pad_token_id", id);
            return this;
        }

        /** Mistral's attention window in tokens. */
        public Builder slidingWindow(int tokens) {
            c.put("sliding_window", tokens);
            return this;
        }

        /** Qwen2's window settings: {@code use_sliding_window}, {@code sliding_window}, {@code max_window_layers}. */
        public Builder qwen2SlidingWindow(boolean use, int tokens, int maxWindowLayers) {
            c.put("use_sliding_window", use).put("sliding_window", tokens).put("max_window_layers", maxWindowLayers);
            return this;
        }

        /** The cusprun extension {@code cusprun_layer_sizes}: one entry per layer. */
        public Builder layerSizes(List<LayerSize> sizes) {
            ArrayNode arr = c.putArray(LAYER_SIZES_KEY);
            for (LayerSize s : sizes) {
                arr.addObject()
                        .put("intermediate_size", s.intermediateSize())
                        .put("num_attention_heads", s.numAttentionHeads())
                        .put("num_key_value_heads", s.numKeyValueHeads());
            }
            return this;
        }

        /** A field cusprun does not read (initializer_range, attention_dropout, ...), kept as given. */
        public Builder extra(String key, double value) {
            c.put(key, value);
            return this;
        }

        /** A field cusprun does not read (use_cache, ...), kept as given. */
        public Builder extra(String key, boolean value) {
            c.put(key, value);
            return this;
        }

        /** The config.json object as built so far. */
        public ObjectNode toJson() {
            return c.deepCopy();
        }

        /** The config; throws IllegalArgumentException when it is not a valid one. */
        public ModelConfig build() {
            return parse(c);
        }

        /** Writes the config.json built so far to {@code file}, pretty-printed, via a temporary file. */
        public void write(Path file) throws IOException {
            AtomicOutput.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(c));
        }
    }

    private static String text(JsonNode n, String key, String def) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? def : v.asText();
    }

    private static int positiveInt(JsonNode n, String key) {
        int v = requiredInt(n, key);
        if (v <= 0) {
            throw new IllegalArgumentException("\"" + key + "\" must be a positive integer, not " + v);
        }
        return v;
    }

    private static long positiveLong(JsonNode n, String key, String prefix) {
        JsonNode v = n.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() <= 0) {
            throw new IllegalArgumentException("missing or bad \"" + prefix + key + "\" (need a positive integer"
                    + (v == null ? ")" : ", not " + v + ")"));
        }
        return v.asLong();
    }

    /** A finite number > 0 (an integer is fine). */
    private static double positiveNumber(JsonNode n, String key, String prefix) {
        JsonNode v = n.get(key);
        if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble()) || !(v.asDouble() > 0)) {
            throw new IllegalArgumentException("missing or bad \"" + prefix + key + "\" (need a finite number > 0"
                    + (v == null ? ")" : ", not " + v + ")"));
        }
        return v.asDouble();
    }

    /** true/false, or false when absent or null. */
    private static boolean bool(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException("\"" + key + "\" must be true or false, not " + v);
        }
        return v.booleanValue();
    }

    private static String string(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("\"" + key + "\" must be a string, not " + v);
        }
        return v.asText();
    }

    /** A token id: an integer in [0, vocab_size). */
    private static long tokenId(JsonNode v, String key, int vocab) {
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() >= vocab) {
            throw new IllegalArgumentException(
                    "\"" + key + "\" must be token ids in [0, " + vocab + ") (vocab_size), not " + v);
        }
        return v.asLong();
    }

    private static int requiredInt(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull() || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw new IllegalArgumentException("missing or bad \"" + key + "\" (need a non-negative integer)");
        }
        return v.asInt();
    }

    private static int optInt(JsonNode n, String key, int def) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        return requiredInt(n, key);
    }
}
