package io.cusprun.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.model.ModelConfig;
import io.cusprun.score.PlantedModel;
import io.cusprun.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's API example is this test's {@link ReadmeExample}, verbatim, and it runs. */
class ReadmeExampleTest {
    @TempDir
    Path dir;

    @Test
    void readmeShowsTheExampleVerbatim() throws Exception {
        Path root = Fixtures.repositoryRoot();
        String source = Files.readString(root.resolve("java/core/src/test/java/io/cusprun/api/ReadmeExample.java"));
        String example = source.substring(source.indexOf("// README:begin\n") + 16, source.indexOf("// README:end"));
        String readme = Files.readString(root.resolve("README.md"));
        assertTrue(readme.contains(example), "README.md must hold ReadmeExample.java between its markers, verbatim");
    }

    @Test
    void exampleRunsEndToEnd() throws Exception {
        Path model = PlantedModel.write(dir.resolve("model"), 21);
        Path de = Files.writeString(dir.resolve("de.txt"), PlantedModel.text(PlantedModel.documents('a', 8, 6, 20, 1)));
        Path tech =
                Files.writeString(dir.resolve("tech.txt"), PlantedModel.text(PlantedModel.documents('a', 8, 6, 20, 2)));
        Path held =
                Files.writeString(dir.resolve("held.txt"), PlantedModel.text(PlantedModel.documents('a', 4, 6, 20, 3)));
        Path out = dir.resolve("expert");
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            ReadmeExample.main(
                    new String[] {model.toString(), de.toString(), tech.toString(), out.toString(), held.toString()});
        } finally {
            System.setOut(old);
        }
        String printed = buf.toString(StandardCharsets.UTF_8);
        assertTrue(
                printed.matches("(?s)removing \\d+\\.\\d% of block parameters\\nperplexity \\d+\\.\\d+.*\\n"), printed);
        JsonNode manifest =
                new ObjectMapper().readTree(out.resolve("cusprun-manifest.json").toFile());
        String corpora = manifest.toString();
        assertTrue(
                corpora.contains("\"de\"") && corpora.contains("\"technical\""),
                "manifest names both corpora: " + corpora);
        ModelConfig pruned = ModelConfig.read(out);
        ModelConfig source = ModelConfig.read(model);
        assertTrue(pruned.intermediateSize() < source.intermediateSize(), "FFN got smaller");
    }
}
