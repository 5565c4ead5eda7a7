package io.cusprun.model;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tensors a config.json implies, and the one check that a checkpoint holds exactly them:
 * every expected tensor present, with the implied shape and a floating-point dtype; no tensor the
 * config does not have (layers past num_hidden_layers included). Only the buffers HF once saved,
 * {@code model.layers.i.self_attn.rotary_emb.inv_freq}, and lm_head.weight of a tied model (which
 * must then have the embedding's shape) may be there besides. Loading ({@link LlamaModel#load}),
 * {@code inspect} and {@code prune} all use it, so they accept and refuse the same checkpoints.
 */
public final class CheckpointLayout {

    private static final Pattern LAYER = Pattern.compile("^model\\.layers\\.(\\d+)\\..+$");
    private static final Pattern INV_FREQ =
            Pattern.compile("^model\\.layers\\.(\\d+)\\.self_attn\\.rotary_emb\\.inv_freq$");

    private CheckpointLayout() {}

    /** HF name to shape, in load order, of every tensor the config implies (lm_head only when untied). */
    public static Map<String, long[]> expected(ModelConfig c) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long v = c.vocabSize();
        long hidden = c.hiddenSize();
        int d = c.headDim();
        out.put("model.embed_tokens.weight", new long[] {v, hidden});
        out.put("model.norm.weight", new long[] {hidden});
        if (!c.tieWordEmbeddings()) {
            out.put("lm_head.weight", new long[] {v, hidden});
        }
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            LayerSize s = c.layer(i);
            String p = "model.layers." + i + ".";
            String a = p + "self_attn.";
            String m = p + "mlp.";
            long q = (long) s.numAttentionHeads() * d;
            long kv = (long) s.numKeyValueHeads() * d;
            long f = s.intermediateSize();
            out.put(p + "input_layernorm.weight", new long[] {hidden});
            out.put(a + "q_proj.weight", new long[] {q, hidden});
            out.put(a + "k_proj.weight", new long[] {kv, hidden});
            out.put(a + "v_proj.weight", new long[] {kv, hidden});
            if (c.qkvBias()) {
                out.put(a + "q_proj.bias", new long[] {q});
                out.put(a + "k_proj.bias", new long[] {kv});
                out.put(a + "v_proj.bias", new long[] {kv});
            }
            out.put(a + "o_proj.weight", new long[] {hidden, q});
            if (c.oBias()) {
                out.put(a + "o_proj.bias", new long[] {hidden});
            }
            out.put(p + "post_attention_layernorm.weight", new long[] {hidden});
            out.put(m + "gate_proj.weight", new long[] {f, hidden});
            out.put(m + "up_proj.weight", new long[] {f, hidden});
            if (c.mlpBias()) {
                out.put(m + "gate_proj.bias", new long[] {f});
                out.put(m + "up_proj.bias", new long[] {f});
            }
            out.put(m + "down_proj.weight", new long[] {hidden, f});
            if (c.mlpBias()) {
                out.put(m + "down_proj.bias", new long[] {hidden});
            }
        }
        return out;
    }

    /**
     * {@link #check} plus every weight finite: what a writer that copies the weights (prune,
     * export) checks before it writes anything, so that it never passes on a NaN.
     */
    public static void checkWithValues(ModelConfig config, Checkpoint checkpoint) throws java.io.IOException {
        check(config, checkpoint);
        for (String name : checkpoint.tensorNames()) {
            checkpoint.checkFinite(name);
        }
    }

    /**
     * Throws a one-line {@link SafetensorsException} naming the file and the tensor when the
     * checkpoint and the config disagree (see the class comment).
     */
    public static void check(ModelConfig config, Checkpoint checkpoint) throws SafetensorsException {
        long layers = 0; // checked first, so that a config with absurdly many layers costs nothing
        for (String name : checkpoint.tensorNames()) {
            Matcher m = LAYER.matcher(name);
            if (m.matches()) {
                layers = Math.max(layers, layerIndex(m.group(1)) + 1);
            }
        }
        if (config.numHiddenLayers() > layers) {
            String name = "model.layers." + layers + ".input_layernorm.weight";
            throw new SafetensorsException(
                    checkpoint.location(),
                    name,
                    "missing: config.json has " + config.numHiddenLayers()
                            + " layers (num_hidden_layers), the checkpoint " + layers);
        }
        Map<String, long[]> expected = expected(config);
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            String name = e.getKey();
            if (!checkpoint.has(name)) {
                throw new SafetensorsException(
                        checkpoint.location(),
                        name,
                        "missing, but config.json implies it with shape " + Arrays.toString(e.getValue()));
            }
            checkTensor(checkpoint, name, e.getValue());
        }
        for (String name : checkpoint.tensorNames()) {
            if (expected.containsKey(name)) {
                continue;
            }
            Path file = checkpoint.file(name).path();
            Matcher inv = INV_FREQ.matcher(name);
            if (inv.matches() && layerIndex(inv.group(1)) < config.numHiddenLayers()) {
                continue; // a buffer old HF checkpoints saved; recomputed from rope_theta
            }
            if (name.equals("lm_head.weight") && config.tieWordEmbeddings()) {
                checkTensor(checkpoint, name, expected.get("model.embed_tokens.weight"));
                continue;
            }
            Matcher m = LAYER.matcher(name);
            if (m.matches() && layerIndex(m.group(1)) >= config.numHiddenLayers()) {
                throw new SafetensorsException(
                        file,
                        name,
                        "layer " + m.group(1) + " but config.json has " + config.numHiddenLayers()
                                + " layers (num_hidden_layers)");
            }
            throw new SafetensorsException(
                    file, name, "not a tensor of this " + config.architecture().hfName() + " config.json");
        }
    }

    private static void checkTensor(Checkpoint checkpoint, String name, long[] shape) throws SafetensorsException {
        TensorInfo info = checkpoint.info(name);
        Path file = checkpoint.file(name).path();
        if (!Arrays.equals(info.shape(), shape)) {
            throw new SafetensorsException(
                    file,
                    name,
                    "shape " + Arrays.toString(info.shape()) + " but config.json implies " + Arrays.toString(shape));
        }
        if (!info.dtype().isFloatingPoint()) {
            throw new SafetensorsException(
                    file, name, "dtype " + info.dtype().safetensorsName() + " is not a floating-point weight type");
        }
    }

    private static long layerIndex(String digits) {
        return digits.length() > 9 ? Integer.MAX_VALUE : Long.parseLong(digits);
    }
}
