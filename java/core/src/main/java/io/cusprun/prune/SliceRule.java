package io.cusprun.prune;

/**
 * How a layer tensor follows the plan: which dimension it is cut along and which indices of
 * that dimension survive (rows of gate/up/q/k/v and their biases, columns of down/o).
 *
 * @param dim       0 for rows, 1 for columns
 * @param kept      surviving indices along dim, ascending
 * @param extraZero indices along dim that stay but are zeroed (neuron granularity), may be empty
 */
record SliceRule(int dim, long[] kept, long[] extraZero) {

    /** The rule for one tensor of a layer, or null when the tensor is copied as is. */
    static SliceRule of(String suffix, LayerPlan p, ModelShape.Layer s, int headDim) {
        return switch (suffix) {
            case "mlp.gate_proj.weight", "mlp.gate_proj.bias", "mlp.up_proj.weight", "mlp.up_proj.bias" ->
                new SliceRule(0, toLong(p.keptFfn()), new long[0]);
            case "mlp.down_proj.weight" -> new SliceRule(1, toLong(p.keptFfn()), new long[0]);
            case "self_attn.q_proj.weight", "self_attn.q_proj.bias" ->
                new SliceRule(0, headRows(p.keptHeads(), headDim), qkRows(p.removedQk(), headDim));
            case "self_attn.k_proj.weight",
                    "self_attn.k_proj.bias",
                    "self_attn.v_proj.weight",
                    "self_attn.v_proj.bias" -> new SliceRule(0, headRows(p.keptKvHeads(), headDim), new long[0]);
            case "self_attn.o_proj.weight" -> new SliceRule(1, headRows(p.keptHeads(), headDim), toLong(p.removedVo()));
            default -> null;
        };
    }

    /** Rows h*d .. h*d+d-1 of every listed head. */
    static long[] headRows(int[] heads, int d) {
        long[] rows = new long[heads.length * d];
        for (int i = 0; i < heads.length; i++) for (int j = 0; j < d; j++) rows[i * d + j] = (long) heads[i] * d + j;
        return rows;
    }

    /** A RoPE pair h*(d/2)+j is q rows h*d+j and h*d+j+d/2. */
    static long[] qkRows(int[] pairs, int d) {
        int half = d / 2;
        long[] rows = new long[pairs.length * 2];
        for (int i = 0; i < pairs.length; i++) {
            int h = pairs[i] / half, j = pairs[i] % half;
            rows[2 * i] = (long) h * d + j;
            rows[2 * i + 1] = (long) h * d + j + half;
        }
        java.util.Arrays.sort(rows);
        return rows;
    }

    static long[] toLong(int[] a) {
        long[] r = new long[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i];
        return r;
    }
}
