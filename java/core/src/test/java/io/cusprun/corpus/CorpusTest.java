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
}
