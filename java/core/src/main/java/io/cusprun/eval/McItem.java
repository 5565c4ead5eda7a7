package io.cusprun.eval;

import java.util.List;

/**
 * One multiple-choice question: the model scores {@code delimiter + choice} after {@code context}
 * for every choice (lm-evaluation-harness's target_delimiter, a space by default).
 */
public record McItem(String context, List<String> choices, int answer, String delimiter) {

    public McItem {
        choices = List.copyOf(choices);
        if (choices.isEmpty()) {
            throw new IllegalArgumentException("no choices");
        }
        if (answer < 0 || answer >= choices.size()) {
            throw new IllegalArgumentException(
                    "answer " + answer + " is not an index into " + choices.size() + " choices");
        }
    }
}
