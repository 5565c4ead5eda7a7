package io.cusprun.model;

/**
 * The sizes of one decoder layer that pruning may change.
 *
 * @param intermediateSize  FFN width F (0: the layer has no MLP left)
 * @param numAttentionHeads query heads H (0: no attention left)
 * @param numKeyValueHeads  key/value heads Hkv, dividing H (0 only when H is 0)
 */
public record LayerSize(int intermediateSize, int numAttentionHeads, int numKeyValueHeads) {

    public LayerSize {
        if (intermediateSize < 0 || numAttentionHeads < 0 || numKeyValueHeads < 0) {
            throw new IllegalArgumentException(
                    "negative layer size " + intermediateSize + "/" + numAttentionHeads + "/" + numKeyValueHeads);
        }
        if (numAttentionHeads == 0
                ? numKeyValueHeads != 0
                : numKeyValueHeads == 0 || numAttentionHeads % numKeyValueHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
                    + " is not a multiple of num_key_value_heads " + numKeyValueHeads);
        }
    }

    /** Query heads per key/value head. */
    public int groupSize() {
        return numKeyValueHeads == 0 ? 0 : numAttentionHeads / numKeyValueHeads;
    }
}
