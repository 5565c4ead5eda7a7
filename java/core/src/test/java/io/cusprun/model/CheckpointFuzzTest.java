package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.testing.CheckpointFuzzer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutated checkpoints through the reader, in-process (see {@link CheckpointFuzzer}): every case
 * must end in a clean one-line error naming a file of the model, or load tensors identical to the
 * original's (or, for a mutation that can make a valid file with other values, load finite ones).
 * Never another exception, a hang or a crash. The suite runs 2,000 cases; the long run
 * (docs/reliability.md) runs more:
 * {@code mvn -B -o verify -pl java/core -Dtest=CheckpointFuzzTest -Dcusprun.fuzz.cases=10000 -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class CheckpointFuzzTest {

    static final int SUITE_CASES = 2000;
    static final long SEED = 20261201L;

    @TempDir
    Path tmp;

    /** Counts of one run. */
    record Counts(
            int cases,
            Map<String, Integer> refused,
            int unchanged,
            int changed,
            List<String> failures,
            double seconds,
            Map<String, int[]> byKind) {
        String summary() {
            int refusedTotal =
                    refused.values().stream().mapToInt(Integer::intValue).sum();
            return String.format(
                    "cases %d: refused %d %s, loaded unchanged %d, loaded changed (data/half-dtype/swap/config"
                            + " mutations) %d, failures %d, %.1f s",
                    cases, refusedTotal, refused, unchanged, changed, failures.size(), seconds);
        }

        /** One line per kind of mutation: cases, refused, loaded unchanged, loaded changed. */
        String table() {
            StringBuilder b = new StringBuilder(
                    String.format("%-28s %7s %8s %10s %8s%n", "mutation", "cases", "refused", "unchanged", "changed"));
            byKind.forEach((k, v) ->
                    b.append(String.format("%-28s %7d %8d %10d %8d%n", k, v[0] + v[1] + v[2], v[0], v[1], v[2])));
            return b.toString();
        }
    }

    static Counts run(Path work, long seed, int cases, int fullLoadEvery) throws IOException {
        long start = System.nanoTime();
        CheckpointFuzzer fuzzer = new CheckpointFuzzer(work.resolve("bases"), seed);
        Map<String, Integer> refused = new TreeMap<>();
        Map<String, int[]> byKind = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        int unchanged = 0;
        int changed = 0;
        Path dir = work.resolve("case");
        for (int i = 0; i < cases; i++) {
            CheckpointFuzzer.Case c = fuzzer.next(dir);
            int[] kind = byKind.computeIfAbsent(kind(c.mutation()), k -> new int[3]);
            try {
                CheckpointFuzzer.Outcome o = fuzzer.check(c, i % fullLoadEvery == 0);
                if (o == CheckpointFuzzer.Outcome.UNCHANGED) {
                    unchanged++;
                    kind[1]++;
                } else if (c.mayChange()) {
                    changed++;
                    kind[2]++;
                } else {
                    failures.add(c + ": loaded with other tensors");
                }
            } catch (Throwable e) {
                String problem = CheckpointFuzzer.cleanErrorProblem(e, dir);
                if (problem == null) {
                    refused.merge(e.getClass().getSimpleName(), 1, Integer::sum);
                    kind[0]++;
                } else {
                    failures.add(c + ": " + problem);
                }
            }
        }
        return new Counts(cases, refused, unchanged, changed, failures, (System.nanoTime() - start) / 1e9, byKind);
    }

    private static final List<String> KINDS = List.of(
            "header length bit",
            "header length",
            "header byte",
            "truncated",
            "appended",
            "data byte",
            "offsets shifted",
            "one offset moved",
            "dtype",
            "shape value",
            "shape",
            "entry removed",
            "copy of",
            "renamed",
            "metadata",
            "swapped",
            "reordered",
            "unknown key",
            "data_offsets",
            "junk",
            "given twice",
            "space padding");

    /** The kind of a mutation, from its description (index and config edits by their first words). */
    static String kind(String mutation) {
        if (mutation.startsWith("index: ")) {
            String m = mutation.substring(7);
            return "index: "
                    + (m.contains(" -> other shard")
                            ? "other shard"
                            : m.contains(" -> ")
                                    ? "bad file name"
                                    : m.contains("removed")
                                            ? "entry removed"
                                            : m.contains("twice")
                                                    ? "duplicate key"
                                                    : m.contains("flipped")
                                                            ? "byte flipped"
                                                            : m.contains("truncated")
                                                                    ? "truncated"
                                                                    : m.contains("array")
                                                                            ? "weight_map array"
                                                                            : "unknown tensor");
        }
        if (mutation.startsWith("config: ")) {
            return "config value";
        }
        String m = mutation.substring(mutation.indexOf(": ") + 2);
        String suffix = "";
        if (m.endsWith(", header length +1") || m.endsWith(", header length -1")) {
            suffix = " + length +-1";
            m = m.substring(0, m.length() - ", header length +1".length());
        }
        for (String k : KINDS) {
            if (m.contains(k)) {
                return (k.equals("header length bit")
                                        || k.equals("header length")
                                        || k.equals("header byte")
                                        || k.equals("truncated")
                                        || k.equals("appended")
                                        || k.equals("data byte")
                                ? ""
                                : "json: ")
                        + k
                        + (k.equals("header length") ? " +-k" : "")
                        + suffix;
            }
        }
        return "other";
    }

    private static void report(Counts counts) {
        System.out.println("checkpoint fuzz: " + counts.summary());
        assertTrue(
                counts.failures().isEmpty(),
                counts.failures().size() + " failures, first: "
                        + String.join(
                                "\n",
                                counts.failures()
                                        .subList(
                                                0,
                                                Math.min(20, counts.failures().size()))));
    }

    @Test
    void mutatedCheckpointsAreRefusedCleanlyOrLoadUnchanged() {
        Counts counts = assertTimeoutPreemptively(Duration.ofSeconds(120), () -> run(tmp, SEED, SUITE_CASES, 50));
        report(counts);
        assertTrue(
                counts.unchanged() > 50
                        && counts.refused().values().stream()
                                        .mapToInt(Integer::intValue)
                                        .sum()
                                > 1200,
                counts.summary());
    }

    /** The long run, only with {@code -Dcusprun.fuzz.cases=N}; also writes the summary to target/fuzz-summary.txt. */
    @Test
    @EnabledIfSystemProperty(named = "cusprun.fuzz.cases", matches = "\\d+")
    void longRun() throws IOException {
        int cases = Integer.parseInt(System.getProperty("cusprun.fuzz.cases"));
        long seed = Long.getLong("cusprun.fuzz.seed", SEED + 1);
        Counts counts = run(tmp, seed, cases, 20);
        Files.writeString(
                Path.of("target", "fuzz-summary.txt"),
                "seed " + seed + ": " + counts.summary() + "\n"
                        + counts.table()
                        + String.join("\n", counts.failures()) + "\n");
        report(counts);
    }
}
