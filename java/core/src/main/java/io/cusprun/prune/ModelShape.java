package io.cusprun.prune;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Sizes and parameter counts of a Llama-family checkpoint, read from its tensor shapes
 * (so biases, tied embeddings and already-pruned per-layer sizes are counted as they are).
 *
 * @param headDim     d
 * @param hidden      D
 * @param layers      per-layer sizes and unit costs
 * @param totalParams every parameter of the checkpoint
 */
public record ModelShape(int headDim, int hidden, List<Layer> layers, long totalParams) {

    /**
     * One decoder layer.
     *
     * @param ffn          F (FFN neurons)
     * @param heads        H (query heads)
     * @param kvHeads      Hkv (key/value heads = groups)
     * @param params       all parameters of the layer (norms included)
     * @param ffnNeuron    parameters one FFN neuron owns (gate and up rows, down column, biases)
     * @param queryHead    parameters one query head owns (q rows and bias, o_proj columns)
     * @param kvHead       parameters one key/value head owns besides its query heads (k, v rows and biases)
     * @param qkPair       parameters a query/key RoPE pair zeroes (two q rows and their bias entries)
     * @param voNeuron     parameters a value/output neuron zeroes (one o_proj column)
     */
    public record Layer(
            int ffn,
            int heads,
            int kvHeads,
            long params,
            long ffnNeuron,
            long queryHead,
            long kvHead,
            long qkPair,
            long voNeuron) {
        public int groupSize() {
            return heads / kvHeads;
        }

        /** Parameters that a whole KV group owns, its query heads included. */
        public long group() {
            return kvHead + groupSize() * queryHead;
        }
    }

    public int numLayers() {
        return layers.size();
    }

    public Layer layer(int i) {
        return layers.get(i);
    }

    public long blockParams() {
        return layers.stream().mapToLong(Layer::params).sum();
    }

    public static String layerPrefix(int i) {
        return "model.layers." + i + ".";
    }

    /** Reads the shape from tensor shapes by name (HF Llama naming) and the head size. */
    public static ModelShape of(Map<String, long[]> shapes, int headDim) {
        long total = 0;
        for (long[] s : shapes.values()) total += numel(s);
        int hidden = (int) require(shapes, "model.embed_tokens.weight")[1];
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; shapes.containsKey(layerPrefix(i) + "mlp.gate_proj.weight"); i++) {
            String p = layerPrefix(i);
            long[] gate = require(shapes, p + "mlp.gate_proj.weight");
            long[] q = require(shapes, p + "self_attn.q_proj.weight");
            long[] k = require(shapes, p + "self_attn.k_proj.weight");
            require(shapes, p + "self_attn.o_proj.weight");
            if (q[0] % headDim != 0 || k[0] % headDim != 0) {
                throw new IllegalArgumentException(
                        "layer " + i + ": q/k rows are not a multiple of head_dim " + headDim);
            }
            int heads = (int) (q[0] / headDim);
            int kvHeads = (int) (k[0] / headDim);
            if (kvHeads == 0 || heads % kvHeads != 0) {
                throw new IllegalArgumentException(
                        "layer " + i + ": " + heads + " query heads do not split into " + kvHeads + " groups");
            }
            long params = 0;
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                if (e.getKey().startsWith(p)) params += numel(e.getValue());
            }
            long ffnNeuron = 3L * hidden
                    + (has(shapes, p + "mlp.gate_proj.bias") ? 1 : 0)
                    + (has(shapes, p + "mlp.up_proj.bias") ? 1 : 0);
            long queryHead = 2L * headDim * hidden + (has(shapes, p + "self_attn.q_proj.bias") ? headDim : 0);
            long kvHead = 2L * headDim * hidden
                    + (has(shapes, p + "self_attn.k_proj.bias") ? headDim : 0)
                    + (has(shapes, p + "self_attn.v_proj.bias") ? headDim : 0);
            long qkPair = 2L * hidden + (has(shapes, p + "self_attn.q_proj.bias") ? 2 : 0);
            layers.add(new Layer((int) gate[0], heads, kvHeads, params, ffnNeuron, queryHead, kvHead, qkPair, hidden));
        }
        if (layers.isEmpty())
            throw new IllegalArgumentException("no decoder layers (model.layers.0.mlp.gate_proj.weight) found");
        return new ModelShape(headDim, hidden, layers, total);
    }

    private static long[] require(Map<String, long[]> shapes, String name) {
        long[] s = shapes.get(name);
        if (s == null) throw new IllegalArgumentException("checkpoint has no tensor " + name);
        return s;
    }

    private static boolean has(Map<String, long[]> shapes, String name) {
        return shapes.containsKey(name);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return n;
    }
}
