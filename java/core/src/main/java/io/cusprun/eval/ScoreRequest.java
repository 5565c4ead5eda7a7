package io.cusprun.eval;

/**
 * Score the tokens {@code ids[firstTarget..]} of a sequence, each given the tokens before it
 * (within this sequence only): sum of log p(ids[t] | ids[0..t-1]) for t >= firstTarget >= 1.
 */
public record ScoreRequest(long[] ids, int firstTarget) {

    public ScoreRequest {
        if (firstTarget < 1 || firstTarget > ids.length) {
            throw new IllegalArgumentException("firstTarget " + firstTarget + " outside [1, " + ids.length + "]");
        }
    }

    public int targets() {
        return ids.length - firstTarget;
    }
}
