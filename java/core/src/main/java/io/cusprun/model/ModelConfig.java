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
import java.util.List;

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

    /**
     * Parses a config object; throws IllegalArgumentException with a one-line reason. Reading and
     * checking the fields is {@link ModelConfigParser}'s.
     */
    public static ModelConfig parse(ObjectNode root) {
        return ModelConfigParser.parse(root);
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
}
