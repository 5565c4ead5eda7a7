package io.cusprun.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * RoPE frequency scaling from config.json's {@code rope_scaling} (or {@code rope_parameters}).
 * Supported types: {@code default} (none), {@code linear} (all frequencies divided by factor) and
 * {@code llama3} (Llama 3.1: low frequencies divided by factor, high ones kept, a smooth ramp
 * between). Unused fields are 0.
 */
public record RopeScaling(
        String type, double factor, double lowFreqFactor, double highFreqFactor, long originalMaxPositionEmbeddings) {

    public static final String SUPPORTED = "default, linear, llama3";

    public static RopeScaling none() {
        return new RopeScaling("default", 1.0, 0, 0, 0);
    }

    /** {@code rope_theta} of a config.json object ({@code rope_parameters.rope_theta} wins); 10000 when absent. */
    static double theta(ObjectNode root) {
        double ropeTheta =
                root.hasNonNull("rope_theta") ? ConfigFields.positiveNumber(root, "rope_theta", "") : 10000.0;
        JsonNode ropeParams = root.get("rope_parameters");
        if (ropeParams != null && ropeParams.isObject() && ropeParams.hasNonNull("rope_theta")) {
            ropeTheta = ConfigFields.positiveNumber(ropeParams, "rope_theta", "rope_parameters.");
        }
        return ropeTheta;
    }

    /** The scaling of a config.json object: {@code rope_scaling}, else {@code rope_parameters}, else none. */
    static RopeScaling fromConfig(ObjectNode root) {
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
                ? ConfigFields.string(s, "rope_type")
                : s.hasNonNull("type") ? ConfigFields.string(s, "type") : "default";
        String k = key + ".";
        return switch (type) {
            case "default" -> RopeScaling.none();
            case "linear" -> new RopeScaling("linear", ConfigFields.positiveNumber(s, "factor", k), 0, 0, 0);
            case "llama3" -> {
                double low = ConfigFields.positiveNumber(s, "low_freq_factor", k);
                double high = ConfigFields.positiveNumber(s, "high_freq_factor", k);
                if (!(high > low)) {
                    throw new IllegalArgumentException("\"" + k + "high_freq_factor\" " + high
                            + " must be greater than \"" + k + "low_freq_factor\" " + low);
                }
                yield new RopeScaling(
                        "llama3",
                        ConfigFields.positiveNumber(s, "factor", k),
                        low,
                        high,
                        ConfigFields.positiveLong(s, "original_max_position_embeddings", k));
            }
            default ->
                throw new IllegalArgumentException(
                        "unsupported rope_scaling type '" + type + "'; supported: " + RopeScaling.SUPPORTED);
        };
    }

    public boolean isDefault() {
        return type.equals("default");
    }

    /**
     * Applies the scaling to the unscaled inverse frequencies {@code theta^(-2i/d)}, following
     * HF's {@code _compute_linear_scaling_rope_parameters} / {@code _compute_llama3_parameters}.
     */
    public double[] apply(double[] invFreq) {
        double[] out = invFreq.clone();
        switch (type) {
            case "default" -> {}
            case "linear" -> {
                for (int i = 0; i < out.length; i++) {
                    out[i] = invFreq[i] / factor;
                }
            }
            case "llama3" -> {
                double lowFreqWavelen = originalMaxPositionEmbeddings / lowFreqFactor;
                double highFreqWavelen = originalMaxPositionEmbeddings / highFreqFactor;
                for (int i = 0; i < out.length; i++) {
                    double wavelen = 2 * Math.PI / invFreq[i];
                    if (wavelen > lowFreqWavelen) {
                        out[i] = invFreq[i] / factor;
                    } else if (wavelen < highFreqWavelen) {
                        out[i] = invFreq[i];
                    } else {
                        double smooth = (originalMaxPositionEmbeddings / wavelen - lowFreqFactor)
                                / (highFreqFactor - lowFreqFactor);
                        out[i] = (1 - smooth) * invFreq[i] / factor + smooth * invFreq[i];
                    }
                }
            }
            default -> throw new IllegalStateException("unsupported rope scaling " + type);
        }
        return out;
    }
}
