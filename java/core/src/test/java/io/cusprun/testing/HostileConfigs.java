package io.cusprun.testing;

import java.util.List;

/**
 * config.json fields for hostile-input tests: each entry is {key, value}, set on a valid
 * Llama 2 fixture config (two layers).
 */
public final class HostileConfigs {
    private HostileConfigs() {}

    /**
     * Fields that change the computation in a way cusprun does not implement, each refused by
     * name: computed as if absent, they would give a wrong answer with exit 0.
     */
    public static final List<Object[]> UNSUPPORTED = List.of(
            new Object[] {"hidden_act", "gelu"},
            new Object[] {"hidden_act", "gelu_pytorch_tanh"},
            new Object[] {"hidden_act", "relu"},
            new Object[] {"hidden_act", 3},
            new Object[] {"hidden_activation", "gelu_pytorch_tanh"},
            new Object[] {"partial_rotary_factor", 0.5},
            new Object[] {"attn_logit_softcapping", 50.0},
            new Object[] {"final_logit_softcapping", 30.0},
            new Object[] {"query_pre_attn_scalar", 256},
            new Object[] {"logit_scale", 0.0625},
            new Object[] {"embedding_multiplier", 12.0},
            new Object[] {"residual_multiplier", 0.22},
            new Object[] {"attention_multiplier", 0.0078125},
            new Object[] {"use_qk_norm", true},
            new Object[] {"qk_layernorm", true},
            new Object[] {"no_rope_layers", List.of(1, 1)},
            new Object[] {"attention_chunk_size", 8192},
            new Object[] {"num_local_experts", 8},
            new Object[] {"quantization_config", java.util.Map.of("quant_method", "gptq")},
            new Object[] {"layer_types", List.of("sliding_attention", "full_attention")},
            new Object[] {"layer_types", List.of("full_attention")},
            new Object[] {"rope_scaling", java.util.Map.of("rope_type", "yarn", "factor", 4.0)},
            new Object[] {"rope_scaling", java.util.Map.of("rope_type", "dynamic", "factor", 2.0)},
            new Object[] {"rope_scaling", java.util.Map.of("rope_type", "longrope", "factor", 2.0)},
            new Object[] {"rope_scaling", java.util.Map.of("type", "default", "mrope_section", List.of(16, 24, 24))});

    /** Neutral values of the same fields: accepted, and the model is the one without them. */
    public static final List<Object[]> NEUTRAL = List.of(
            new Object[] {"hidden_act", "silu"},
            new Object[] {"hidden_act", "swish"},
            new Object[] {"partial_rotary_factor", 1.0},
            new Object[] {"use_qk_norm", false},
            new Object[] {"num_local_experts", 1},
            new Object[] {"attn_logit_softcapping", null},
            new Object[] {"layer_types", List.of("full_attention", "full_attention")},
            new Object[] {"attention_dropout", 0.1},
            new Object[] {"pretraining_tp", 2});
}
