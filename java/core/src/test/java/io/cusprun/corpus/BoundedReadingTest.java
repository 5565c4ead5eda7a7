package io.cusprun.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Documents are read and tokenized only as far as max-tokens needs, whatever their size. */
class BoundedReadingTest {
    @TempDir
    Path dir;

    /** One token per character; needs at most 2 characters per token; records what it was asked to encode. */
    static final class Recording implements TokenEncoder {
        final List<Integer> lengths = new ArrayList<>();

        @Override
        public long[] encode(String text) {
            lengths.add(text.length());
            return text.chars().asLongStream().toArray();
        }

        @Override
        public long[] encodeFirst(String text, int maxTokens) {
            return encode(text.substring(0, Math.min(text.length(), maxTokens)));
        }

        @Override
        public int charsNeeded(int maxTokens) {
            return 2 * maxTokens;
        }
    }

    @Test
    void aHugeOneLineDocumentIsHeldOnlyAsFarAsNeeded() throws IOException {
        Path f = dir.resolve("huge.txt");
        try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
            char[] chunk = "abcdefghij".repeat(10_000).toCharArray();
            for (int i = 0; i < 40; i++) w.write(chunk); // 4 MB on one line
            w.write("\n\nsecond document\n\nthird\n");
        }
        Recording enc = new Recording();
        TokenizedCorpus c = TokenizedCorpus.load(new CorpusSpec(CorpusKind.DOMAIN, "h", f), enc, 64, 2);
        assertEquals(2, c.size(), "--docs 2: two documents, the third is never read");
        assertEquals(64, c.documents().get(0).length);
        assertEquals(
                "abcdefghij".repeat(7).substring(0, 64),
                new String(
                        c.documents().get(0).length == 64
                                ? toChars(c.documents().get(0))
                                : new char[0]));
        assertTrue(enc.lengths.stream().allMatch(n -> n <= 64), "tokenization sees a bounded prefix: " + enc.lengths);
        List<String> docs = DocumentReader.read(f, 0, 128);
        assertEquals(List.of("abcdefghij".repeat(13).substring(0, 128), "second document", "third"), docs);
    }

    @Test
    void aBlankLookingPrefixOfALongLineDoesNotEndTheDocument() throws IOException {
        Path f = Files.writeString(dir.resolve("spaces.txt"), "a\n" + " ".repeat(100) + "b\nc\n\nd\n");
        assertEquals(List.of("a\n" + " ".repeat(8), "d"), DocumentReader.read(f, 0, 10));
        assertEquals(List.of("a\n" + " ".repeat(100) + "b\nc", "d"), DocumentReader.read(f, 0));
        Path crlf = Files.writeString(dir.resolve("crlf.txt"), "a\r\nb\r\n\r\nc\rd");
        assertEquals(List.of("a\nb", "c\nd"), DocumentReader.read(crlf, 0));
    }

    @Test
    void jsonlLinesOfAnyLengthParse() throws IOException {
        Path f = dir.resolve("long.jsonl");
        int n = 21_000_000; // above Jackson's default limit of 20M characters per string
        try (Writer w = Files.newBufferedWriter(f, StandardCharsets.UTF_8)) {
            w.write("{\"text\": \"");
            char[] chunk = "x".repeat(1_000_000).toCharArray();
            for (int i = 0; i < n / chunk.length; i++) w.write(chunk);
            w.write("\"}\n{\"text\": \"short\"}\n");
        }
        List<String> docs = DocumentReader.read(f, 0, 1000);
        assertEquals(2, docs.size());
        assertEquals(1000, docs.get(0).length());
        assertEquals("short", docs.get(1));
    }

    @Test
    void invalidUtf8NamesTheFileAndTheByteOffset() throws IOException {
        byte[] good = "first document\n\nsecond ä\n".getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[good.length + 3];
        System.arraycopy(good, 0, bytes, 0, good.length);
        bytes[good.length] = 'x';
        bytes[good.length + 1] = (byte) 0xC3; // a lead byte followed by a non-continuation byte
        bytes[good.length + 2] = '\n';
        for (String name : new String[] {"bad.txt", "bad.jsonl"}) {
            Path f = Files.write(
                    dir.resolve(name),
                    name.endsWith(".jsonl")
                            ? concat("{\"text\": \"ok\"}\n".getBytes(StandardCharsets.UTF_8), bytes)
                            : bytes);
            IOException e = assertThrows(IOException.class, () -> DocumentReader.read(f, 0));
            long offset = f.getFileName().toString().endsWith(".jsonl") ? good.length + 1 + 15 : good.length + 1;
            assertEquals(f + ": not valid UTF-8 at byte " + offset, e.getMessage());
        }
        assertEquals(-1, Utf8.firstMalformedByte(Files.write(dir.resolve("ok.txt"), good)));
        assertEquals(3, Utf8.firstMalformedByte(Files.write(dir.resolve("cut.txt"), new byte[] {
            'a', 'b', 'c', (byte) 0xE2, (byte) 0x82
        })));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static char[] toChars(long[] ids) {
        char[] c = new char[ids.length];
        for (int i = 0; i < ids.length; i++) c[i] = (char) ids[i];
        return c;
    }
}
