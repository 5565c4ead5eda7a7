package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Fixtures.Family;
import io.cusprun.testing.Golden;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextTokenizerTest {

    private static TextTokenizer load(Family f) throws IOException {
        DType dtype = f == Family.LLAMA3 || f == Family.QWEN2 ? DType.BF16 : DType.F32;
        Path dir = Golden.fixtureDir(Fixtures.spec(f, dtype));
        return TextTokenizer.load(dir);
    }

    private static long id(String word) {
        return Fixtures.WORDS.indexOf(word) + 3;
    }

    @Test
    void llama2AddsBosFromTokenizerConfig() throws IOException {
        try (TextTokenizer t = load(Family.LLAMA2)) {
            assertTrue(t.addsBos());
            assertEquals(1L, t.bosId());
            assertEquals(List.of(2L), t.eosIds());
            assertArrayEquals(new long[] {id("the"), id("cat"), id("sat"), id(".")}, t.encode("The cat sat."));
            assertArrayEquals(new long[] {1, id("the"), id("cat")}, t.encode("The cat", true));
            assertArrayEquals(new long[] {0}, t.encode("zebra"), "unknown word");
        }
    }

    @Test
    void llama3AddsBosFromThePostProcessor() throws IOException {
        try (TextTokenizer t = load(Family.LLAMA3)) {
            assertTrue(t.addsBos());
            assertEquals(1L, t.bosId());
            assertEquals(List.of(2L, 3L), t.eosIds());
            assertArrayEquals(new long[] {1, id("a"), id("dog")}, t.encode("a dog", true));
        }
    }

    @Test
    void qwen2HasNoBos() throws IOException {
        try (TextTokenizer t = load(Family.QWEN2)) {
            assertFalse(t.addsBos());
            assertArrayEquals(new long[] {id("a"), id("dog")}, t.encode("a dog", true));
            assertEquals(2L, t.eosIds().get(0));
        }
    }

    @Test
    void longTextIsNotTruncated() throws IOException {
        try (TextTokenizer t = load(Family.MISTRAL)) {
            String text = "the cat sat on the mat . ".repeat(500);
            assertEquals(3500, t.encode(text).length);
            assertEquals("the cat sat", t.decode(new long[] {id("the"), id("cat"), id("sat")}));
        }
    }
}
