package io.cusprun.model;

import static io.cusprun.model.ConfigFields.bool;
import static io.cusprun.model.ConfigFields.optInt;
import static io.cusprun.model.ConfigFields.positiveInt;
import static io.cusprun.model.ConfigFields.positiveLong;
import static io.cusprun.model.ConfigFields.positiveNumber;
import static io.cusprun.model.ConfigFields.string;
import static io.cusprun.model.ConfigFields.text;
import static io.cusprun.model.ConfigFields.tokenId;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a {@code config.json} object into a {@link ModelConfig}: the architecture, the sizes and
 * their consistency, the architecture's biases and attention window, the token ids and the
 * per-layer sizes. Each field is read through {@link ConfigFields} (type and range checks); the
 * RoPE fields are {@link RopeScaling}'s.
 */
final class ModelConfigParser {

    private ModelConfigParser() {}

    /** Parses a config object; throws IllegalArgumentException with a one-line reason. */
    static ModelConfig parse(ObjectNode root) {
        Architecture arch = architecture(root);
        UnsupportedConfigFields.refuseUnsupported(root);
        String modelType = text(root, "model_type", "");
        int vocab = positiveInt(root, "vocab_size");
        int hidden = positiveInt(root, "hidden_size");
        int layersN = positiveInt(root, "num_hidden_layers");
        if (layersN > ModelConfig.MAX_LAYERS) {
            throw new IllegalArgumentException(
                    "\"num_hidden_layers\" " + layersN + " is over " + ModelConfig.MAX_LAYERS);
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
        UnsupportedConfigFields.checkLayerTypes(root, layersN, window, windowFrom);
        double ropeTheta = RopeScaling.theta(root);
        double eps = root.hasNonNull("rms_norm_eps") ? positiveNumber(root, "rms_norm_eps", "") : 1e-6;
        long maxPositions =
                root.hasNonNull("max_position_embeddings") ? positiveLong(root, "max_position_embeddings", "") : 2048;
        RopeScaling scaling = RopeScaling.fromConfig(root);
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

    private static List<LayerSize> layerSizes(ObjectNode root, int n, LayerSize global) {
        JsonNode ext = root.get(ModelConfig.LAYER_SIZES_KEY);
        List<LayerSize> out = new ArrayList<>();
        if (ext == null || ext.isNull()) {
            for (int i = 0; i < n; i++) {
                out.add(global);
            }
            return out;
        }
        if (!ext.isArray() || ext.size() != n) {
            throw new IllegalArgumentException(
                    ModelConfig.LAYER_SIZES_KEY + " must be an array of " + n + " entries (num_hidden_layers)");
        }
        for (int i = 0; i < n; i++) {
            JsonNode e = ext.get(i);
            if (!e.isObject()) {
                throw new IllegalArgumentException(ModelConfig.LAYER_SIZES_KEY + "[" + i + "] is not an object");
            }
            try {
                out.add(new LayerSize(
                        optInt(e, "intermediate_size", global.intermediateSize()),
                        optInt(e, "num_attention_heads", global.numAttentionHeads()),
                        optInt(e, "num_key_value_heads", global.numKeyValueHeads())));
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException(ModelConfig.LAYER_SIZES_KEY + "[" + i + "]: " + ex.getMessage());
            }
        }
        return out;
    }
}
