package io.cusprun.corpus;

/**
 * Whole documents packed into one sequence.
 *
 * @param index      position of this batch in the corpus' canonical batch list
 * @param documents  corpus indices of the packed documents
 * @param ids        concatenated token ids
 * @param docOffsets n+1 ascending offsets into ids; document i owns [docOffsets[i], docOffsets[i+1])
 */
public record DocumentBatch(int index, int[] documents, long[] ids, long[] docOffsets) {

    public int numDocs() {
        return documents.length;
    }

    public int numTokens() {
        return ids.length;
    }
}
