package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {
    @TempDir
    Path dir;

    @Test
    void tableShowsScoresParamsAndSecondaryMetrics() throws Exception {
        String jmh = """
                [{"benchmark":"io.cusprun.bench.FfnSwigluBench.ffn","params":{"variant":"2_omp_simd"},
                  "primaryMetric":{"score":45.4,"scoreError":1.25,"scoreUnit":"ops/s"},
                  "secondaryMetrics":{"bytes":{"score":3.07e9,"scoreError":1e8,"scoreUnit":"#/s"}}}]
                """;
        String table = BenchCommand.table(new ObjectMapper().readTree(jmh));
        String[] lines = table.split("\n");
        assertEquals(3, lines.length, table);
        assertTrue(
                lines[1].startsWith("FfnSwigluBench.ffn")
                        && lines[1].contains("variant=2_omp_simd")
                        && lines[1].contains("45.400")
                        && lines[1].contains("1.250")
                        && lines[1].endsWith("ops/s"),
                lines[1]);
        assertTrue(lines[2].contains("·bytes") && lines[2].contains("3070000000.000"), lines[2]);
    }

    /** --json replaces only a JMH results file: read as JSON, an array of runs naming the JMH version. */
    @Test
    void resultsFileIsRecognisedByItsJson() throws Exception {
        Path results = Files.writeString(
                dir.resolve("a.json"),
                "[{\"jmhVersion\": \"1.37\", \"benchmark\": \"x\"},\n {\"jmhVersion\": \"1.37\"}]");
        assertTrue(BenchCommand.isJmhResults(results));
        assertTrue(BenchCommand.isJmhResults(Files.writeString(dir.resolve("empty.json"), " [ ]\n")));
        assertFalse(BenchCommand.isJmhResults(
                Files.writeString(dir.resolve("other.json"), "[{\"jmhVersion\": \"1.37\"}, {\"name\": 1}]")));
        assertFalse(
                BenchCommand.isJmhResults(Files.writeString(dir.resolve("object.json"), "{\"jmhVersion\": \"1.37\"}")));
        assertFalse(BenchCommand.isJmhResults(
                Files.writeString(dir.resolve("notes.txt"), "[\"jmhVersion\" is not JSON here")));
    }

    @Test
    void missingJarIsAOneLineFailure() {
        CompareCommandTest.Run r =
                CompareCommandTest.run("bench", "--jar", dir.resolve("none.jar").toString());
        assertEquals(1, r.code());
        assertTrue(
                r.err()
                        .strip()
                        .endsWith("none.jar: benchmarks jar not found (build with 'mvn -B -DskipTests package')"),
                r.err());
        assertEquals(1, r.err().strip().lines().count());
    }
}
