package io.cusprun.corpus;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    @TempDir
    Path dir;

    @Test
    void specsParse() {
        CorpusSpec s = CorpusSpec.parse("domain:med-1=/data/med.jsonl");
        assertEquals(CorpusKind.DOMAIN, s.kind());
        assertEquals("med-1", s.name());
        assertEquals(Path.of("/data/med.jsonl"), s.path());
        assertThrows(IllegalArgumentException.class, () -> CorpusSpec.parse("dialect:x=a.txt"));
        assertThrows(IllegalArgumentException.class, () -> CorpusSpec.parse("language:=a.txt"));
        assertThrows(IllegalArgumentException.class, () -> CorpusSpec.parse("language:a b=a.txt"));
        assertThrows(IllegalArgumentException.class, () -> Corpora.parse(new String[] {"task:x=a", "domain:x=b"}));
    }

    @Test
    void readsTextJsonlAndFoldersInOrder() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("c"));
        Files.writeString(folder.resolve("b.jsonl"), "{\"text\": \"third\"}\n\n{\"text\": \"fourth\"}\n");
        Files.writeString(folder.resolve("a.txt"), "first line\ncontinued\n\n\n  \nsecond\n");
        Files.writeString(folder.resolve("ignored.md"), "not a corpus file");
        assertEquals(List.of("first line\ncontinued", "second", "third", "fourth"), DocumentReader.read(folder, 0));
        assertEquals(List.of("first line\ncontinued", "second", "third"), DocumentReader.read(folder, 3));
        Files.writeString(dir.resolve("bad.jsonl"), "{\"title\": 1}\n");
        IOException e = assertThrows(IOException.class, () -> DocumentReader.read(dir.resolve("bad.jsonl"), 0));
        assertTrue(e.getMessage().contains(":1:"));
        assertThrows(IOException.class, () -> DocumentReader.read(dir.resolve("missing.txt"), 0));
    }

    @Test
    void packsWholeDocumentsByBudgetAndTruncates() throws IOException {
        Path f = Files.writeString(dir.resolve("t.txt"), "a a a\n\nb b\n\nc c c c c c\n\nd\n");
        TokenizedCorpus c = TokenizedCorpus.load(
                new CorpusSpec(CorpusKind.TASK, "t", f),
                text -> text.chars().filter(ch -> ch != ' ').mapToLong(ch -> ch).toArray(),
                4,
                0);
        assertEquals(4, c.documents().get(2).length); // truncated to max-tokens
        List<DocumentBatch> batches = new BatchPacker(5, 8).pack(c);
        assertEquals(2, batches.size());
        assertArrayEquals(new int[] {0, 1}, batches.get(0).documents());
        assertArrayEquals(new long[] {0, 3, 5}, batches.get(0).docOffsets());
        assertArrayEquals(new int[] {2, 3}, batches.get(1).documents());
        assertEquals(2, new BatchPacker(100, 2).pack(c).size()); // document cap
        assertEquals(4, new BatchPacker(4, 8).pack(c).size());
    }

    @Test
    void resamplesAreReproducibleDrawsOfTheWholeCorpus() throws IOException {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 50; i++) {
            text.append("doc").append(i).append("\n\n");
        }
        Path f = Files.writeString(dir.resolve("docs.txt"), text);
        CorpusSpec spec = new CorpusSpec(CorpusKind.TASK, "t", f);
        TokenEncoder number = t -> new long[] {Long.parseLong(t.strip().substring(3))};
        TokenizedCorpus first = TokenizedCorpus.load(spec, number, 4, 10);
        TokenizedCorpus a = TokenizedCorpus.sample(spec, number, 4, 10, 1);
        List<Long> drawn = ids(a);
        assertEquals(ids(a), ids(TokenizedCorpus.sample(spec, number, 4, 10, 1)), "same seed, same draw");
        assertEquals(10, drawn.size());
        assertEquals(10, drawn.stream().distinct().count(), "without replacement");
        assertEquals(drawn.stream().sorted().toList(), drawn, "in corpus order");
        assertTrue(drawn.stream().allMatch(i -> i >= 0 && i < 50));
        assertTrue(!drawn.equals(ids(first)) && !drawn.equals(ids(TokenizedCorpus.sample(spec, number, 4, 10, 2))));
        // a corpus of another name draws differently from the same seed
        assertTrue(
                !drawn.equals(ids(TokenizedCorpus.sample(new CorpusSpec(CorpusKind.TASK, "u", f), number, 4, 10, 1))));
        // all documents asked for: a bootstrap sample of the corpus size, with repeats
        List<Long> boot = ids(TokenizedCorpus.sample(spec, number, 4, 0, 1));
        assertEquals(50, boot.size());
        assertTrue(boot.stream().distinct().count() < 50, boot.toString());
        // every document is drawn about equally often over many draws (a uniform draw)
        int[] counts = new int[50];
        for (long seed = 0; seed < 400; seed++) {
            for (int i : TokenizedCorpus.draw(50, 10, new java.util.SplittableRandom(seed))) counts[i]++;
        }
        for (int c : counts) assertTrue(c > 40 && c < 125, java.util.Arrays.toString(counts)); // expected 80
    }

    private static List<Long> ids(TokenizedCorpus c) {
        return c.documents().stream().map(d -> d[0]).toList();
    }
}
