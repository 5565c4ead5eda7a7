package io.cusprun.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * The config.json fields that would change the computation in a way cusprun does not implement:
 * refused by name (docs/formats.md lists what is supported), so that no model is computed as if
 * such a field were absent.
 */
final class UnsupportedConfigFields {
    private UnsupportedConfigFields() {}

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
    static void refuseUnsupported(ObjectNode root) {
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
    static void checkLayerTypes(ObjectNode root, int layers, int window, int windowFrom) {
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
}
