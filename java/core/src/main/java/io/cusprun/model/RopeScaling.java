package io.cusprun.model;

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
