package io.cusprun.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.cusprun.testing.Fixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library layer stays a library: the build already refuses imports of modules that core does not depend
 * on (cli, trainer); this test also keeps the command-line parser off its class path and the console out of
 * its code, so that a Java tool embedding core decides where output goes and when the process ends.
 */
class LayeringTest {

    private static final Path CORE_SOURCES = Fixtures.repositoryRoot().resolve("java/core/src/main/java");

    @Test
    void commonsCliIsNotOnTheLibrarysClassPath() {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("org.apache.commons.cli.Options"));
    }

    @Test
    void coreNeitherPrintsNorExitsNorImportsTheFrontEnds() throws IOException {
        Pattern forbidden = Pattern.compile(
                "System\\.(out|err|exit)\\b|import\\s+(static\\s+)?(io\\.cusprun\\.(cli|train)|org\\.apache\\.commons\\.cli)\\.");
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.walk(CORE_SOURCES)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    if (forbidden.matcher(lines.get(i)).find()) {
                        found.add(CORE_SOURCES.relativize(f) + ":" + (i + 1) + ": "
                                + lines.get(i).strip());
                    }
                }
            }
        }
        assertEquals(List.of(), found);
    }
}
