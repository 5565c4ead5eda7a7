package io.cusprun.eval;

/**
 * Multiple-choice accuracy as lm-evaluation-harness computes it.
 *
 * @param acc          fraction of items whose highest log-likelihood choice is the answer
 * @param accNorm      the same with each log-likelihood divided by the choice's length in
 *                     characters (lm-eval's {@code len(choice)}, the choice without the delimiter)
 * @param accNormBytes the same divided by the choice's UTF-8 byte length (equal for ASCII)
 * @param n            number of items
 */
public record McResult(double acc, double accNorm, double accNormBytes, int n) {}
