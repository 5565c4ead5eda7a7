package io.cusprun.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The Llama-family architectures {@link ModelConfig} reads, by their config.json names. */
public enum Architecture {
    LLAMA("LlamaForCausalLM", "llama"),
    MISTRAL("MistralForCausalLM", "mistral"),
    QWEN2("Qwen2ForCausalLM", "qwen2");

    private final String hfName;
    private final String modelType;

    Architecture(String hfName, String modelType) {
        this.hfName = hfName;
        this.modelType = modelType;
    }

    /** The name in config.json's {@code architectures}, e.g. {@code LlamaForCausalLM}. */
    public String hfName() {
        return hfName;
    }

    /** config.json's {@code model_type}, e.g. {@code llama}. */
    public String modelType() {
        return modelType;
    }

    /** The architecture named {@code LlamaForCausalLM} etc., or null. */
    public static Architecture byHfName(String name) {
        return Arrays.stream(values())
                .filter(a -> a.hfName.equals(name))
                .findFirst()
                .orElse(null);
    }

    /** The architecture of a {@code model_type}, or null. */
    public static Architecture byModelType(String type) {
        return Arrays.stream(values())
                .filter(a -> a.modelType.equals(type))
                .findFirst()
                .orElse(null);
    }

    /** "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM". */
    public static String supported() {
        return Arrays.stream(values()).map(Architecture::hfName).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return hfName;
    }
}
