package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.corpus.DocumentReader;
import io.cusprun.testing.Fixtures;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Encoding a bounded prefix gives exactly the first max-tokens ids of encoding the whole text:
 * checked on many random documents made of real corpus text, random characters and long
 * unbroken runs, for the bundled byte-level BPE tokenizer.
 */
class TextTokenizerPrefixTest {
    static final Path DEMO = Fixtures.repositoryRoot().resolve("data/demo-model");

    @Test
    void thePrefixGivesTheSameFirstTokensAsTheWholeText() throws Exception {
        List<String> real =
                DocumentReader.read(Fixtures.repositoryRoot().resolve("data/corpora/language/de/score.jsonl"), 50);
        String pool = String.join(" ", real) + " \u00e4\u00f6\u00fc\u00df \ud83d\ude00 \u4e2d\u6587 \t\n  --==##";
        Random rnd = new Random(7);
        try (TextTokenizer tok = TextTokenizer.load(DEMO)) {
            assertTrue(tok.prefixChars(8) < 2_000, "a small prefix for 8 tokens");
            int checked = 0;
            for (int i = 0; i < 300; i++) {
                String text = randomDocument(rnd, pool, true);
                int maxTokens = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 200);
                long[] whole = tok.encode(text);
                long[] expected = Arrays.copyOf(whole, Math.min(whole.length, maxTokens));
                assertArrayEquals(expected, tok.encodeFirst(text, maxTokens), () -> "max " + maxTokens + ": " + text);
                if (text.length() > tok.prefixChars(maxTokens)) checked++;
            }
            assertTrue(checked > 100, "most documents were longer than the prefix: " + checked);
        }
    }

    @Test
    void longTextsEncodedInPiecesGiveTheSameIdsForTheByteLevelTokenizer() throws Exception {
        // words shorter than half a piece (real text: pieces are a million characters)
        Random rnd = new Random(11);
        List<String> real =
                DocumentReader.read(Fixtures.repositoryRoot().resolve("data/corpora/language/de/score.jsonl"), 50);
        String pool = String.join(" ", real) + "  \n\n\t x";
        try (TextTokenizer tok = TextTokenizer.load(DEMO)) {
            for (int i = 0; i < 100; i++) {
                String text = randomDocument(rnd, pool, false);
                int piece = 50 + rnd.nextInt(400);
                assertArrayEquals(
                        tok.encode(text, true), tok.encodeAll(text, true, piece), () -> "piece " + piece + ": " + text);
            }
        }
    }

    /** Random text; {@code longWords}: also runs of thousands of characters without whitespace. */
    private static String randomDocument(Random rnd, String pool, boolean longWords) {
        StringBuilder b = new StringBuilder();
        int parts = 1 + rnd.nextInt(6);
        for (int p = 0; p < parts; p++) {
            switch (longWords ? rnd.nextInt(4) : new int[] {0, 1, 3}[rnd.nextInt(3)]) {
                case 0 -> { // a slice of real text
                    int from = rnd.nextInt(pool.length() - 1);
                    b.append(pool, from, Math.min(pool.length(), from + rnd.nextInt(3000)));
                }
                case 1 -> { // random characters from the pool
                    int n = rnd.nextInt(800);
                    for (int k = 0; k < n; k++) {
                        char c = pool.charAt(rnd.nextInt(pool.length()));
                        if (!Character.isSurrogate(c)) b.append(c);
                    }
                }
                case 2 ->
                    b.append(String.valueOf((char) ('a' + rnd.nextInt(26)))
                            .repeat(rnd.nextInt(3000))); // no whitespace at all
                default -> b.append(" ".repeat(rnd.nextInt(50))).append("\n".repeat(rnd.nextInt(3)));
            }
        }
        return b.toString();
    }
}
