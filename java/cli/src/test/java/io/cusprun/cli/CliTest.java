package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.prune.HeadRule;
import io.cusprun.prune.Method;
import io.cusprun.testing.Fixtures;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The contract every command shares: help, usage errors, setting errors in flag words, --debug. */
class CliTest {
    @TempDir
    Path dir;

    static CompareCommandTest.Run run(String... args) {
        return CompareCommandTest.run(args);
    }

    static void assertOneLine(CompareCommandTest.Run r, int code, String expected) {
        assertEquals(code, r.code(), r.err());
        assertEquals(expected, r.err().strip());
    }

    @Test
    void everyCommandHasTheSameHelpAndUsageErrors() {
        for (String name : Main.COMMANDS.keySet()) {
            CompareCommandTest.Run help = run(name, "--help");
            assertEquals(0, help.code(), name);
            assertTrue(help.out().startsWith("usage: cusprun " + name + " [options]"), help.out());
            assertEquals("", help.err());
            if (!name.equals("merge")) {
                assertOneLine(
                        run(name, "stray"),
                        2,
                        "cusprun " + name + ": unexpected argument 'stray' (see 'cusprun " + name + " --help')");
            }
            CompareCommandTest.Run unknown = run(name, "--no-such-option");
            assertEquals(2, unknown.code(), name);
            assertEquals(1, unknown.err().strip().lines().count(), unknown.err());
            assertTrue(unknown.err().startsWith("cusprun " + name + ": "), unknown.err());
        }
    }

    @Test
    void unknownOptionsAreNamedWhereverTheyStand() {
        // after a multi-valued option, where Commons CLI alone took it as a second corpus
        assertOneLine(
                run("score", "--model", "M", "--corpus", "language:de=de.jsonl", "--max-docs", "64", "--out", "s"),
                2,
                "cusprun score: unknown option --max-docs (did you mean --docs?)");
        assertOneLine(
                run("prune", "--scores", "a.safetensors", "b.safetensors", "--modle", "x"),
                2,
                "cusprun prune: unknown option --modle (did you mean --model?)");
        assertOneLine(
                run("compare", "--corpus", "language:a=a.txt", "--method", "cusprun", "--max-token=8"),
                2,
                "cusprun compare: unknown option --max-token (did you mean --max-tokens?)");
        // first among the unknown ones, before any other check; no close name: the help is named
        assertOneLine(
                run("eval", "--frobnicate", "--model"),
                2,
                "cusprun eval: unknown option --frobnicate (see 'cusprun eval --help')");
        assertOneLine(run("inspect", "-x"), 2, "cusprun inspect: unknown option -x (see 'cusprun inspect --help')");
        // abbreviations are not accepted: they would silently change meaning when an option is added
        assertOneLine(run("score", "--mod", "M"), 2, "cusprun score: unknown option --mod (did you mean --model?)");
        for (String name : Main.COMMANDS.keySet()) {
            // every command, after every one of its options that takes values
            for (org.apache.commons.cli.Option o :
                    Main.COMMANDS.get(name).options().getOptions()) {
                if (o.getLongOpt() == null || !o.hasArg()) {
                    continue;
                }
                CompareCommandTest.Run r = run(name, "--" + o.getLongOpt(), "v", "--no-such-option");
                assertEquals(2, r.code(), name + " --" + o.getLongOpt());
                assertTrue(
                        r.err().strip().startsWith("cusprun " + name + ": unknown option --no-such-option"), r.err());
            }
        }
    }

    @Test
    void negativeNumbersAndOperandsAreNoOptions() {
        assertEquals(null, io.cusprun.options.StrictOptions.optionName("-1"));
        assertEquals(null, io.cusprun.options.StrictOptions.optionName("-0.5"));
        assertEquals(null, io.cusprun.options.StrictOptions.optionName("-"));
        assertEquals("max-docs", io.cusprun.options.StrictOptions.optionName("--max-docs=3"));
        assertEquals("h", io.cusprun.options.StrictOptions.optionName("-h"));
        assertEquals(1, io.cusprun.options.StrictOptions.editDistance("modle", "model"));
        assertEquals(4, io.cusprun.options.StrictOptions.editDistance("max-docs", "docs"));
    }

    @Test
    void settingErrorsNameTheFlag() {
        assertOneLine(
                run("prune", "--model", "m", "--out", "o", "--ratio", "1.5"),
                2,
                "cusprun prune: --ratio must be in [0, 1), not 1.5");
        assertOneLine(
                run("prune", "--model", "m", "--out", "o", "--ratio", "0.3", "--min-ffn", "2"),
                2,
                "cusprun prune: --min-ffn must be in [0, 1), not 2.0");
        assertOneLine(
                run("prune", "--model", "m", "--out", "o", "--ratio", "0.3", "--method", "lottery"),
                2,
                "cusprun prune: --method must be one of " + Method.labels(", ") + ", not 'lottery'");
        assertOneLine(
                run("prune", "--model", "m", "--out", "o", "--ratio", "0.3", "--head-rule", "median"),
                2,
                "cusprun prune: --head-rule must be one of " + HeadRule.labels(", ") + ", not 'median'");
        assertOneLine(
                run("compare", "--model", "m", "--corpus", "language:a=a.txt", "--head-rule", "median"),
                2,
                "cusprun compare: --head-rule must be one of " + HeadRule.labels(", ") + ", not 'median'");
        assertOneLine(
                run("compare", "--model", "m", "--corpus", "language:a=a.txt", "--head-unit", "slot"),
                2,
                "cusprun compare: --head-unit must be group or query, not 'slot'");
        assertOneLine(
                run("prune", "--model", "m", "--out", "o", "--ratio", "x"),
                2,
                "cusprun prune: --ratio must be a number, not 'x'");
    }

    @Test
    void integerOptionsAreRangeChecked() {
        assertOneLine(
                run("score", "--model", "m", "--out", "o", "--corpus", "language:a=a.txt", "--bins", "abc"),
                2,
                "cusprun score: --bins must be an integer in [2, 100000], not 'abc'");
        assertOneLine(
                run("score", "--model", "m", "--out", "o", "--corpus", "language:a=a.txt", "--docs", "-1"),
                2,
                "cusprun score: --docs must be an integer in [1, 2147483647], not '-1'");
        assertOneLine(
                run("bench", "--threads", "0", "--jar", "x.jar"),
                1,
                "cusprun bench: x.jar: benchmarks jar not found" + " (build with 'mvn -B -DskipTests package')");
        assertOneLine(
                run("prune", "--model", "m", "--out", "o", "--ratio", "0.3", "--seed", "-4"),
                2,
                "cusprun prune: --seed must be an integer in [0, 2147483647], not '-4'");
    }

    @Test
    void debugAddsTheStackTrace() {
        CompareCommandTest.Run plain = run("inspect", "--model", dir.toString());
        assertEquals(1, plain.code());
        assertEquals(1, plain.err().strip().lines().count(), plain.err());
        CompareCommandTest.Run debug = run("--debug", "inspect", "--model", dir.toString());
        assertEquals(1, debug.code());
        assertTrue(debug.err().contains("\tat "), debug.err());
        assertTrue(debug.err().strip().endsWith(plain.err().strip()), debug.err());
    }

    @Test
    void theCheckoutIsFoundFromTheCodeLocation() throws Exception {
        Path data = Cli.inCheckout("data/demo-model").orElseThrow();
        assertEquals(Fixtures.repositoryRoot().resolve("data/demo-model").toRealPath(), data.toRealPath());
        assertTrue(Cli.inCheckout("no/such/thing").isEmpty());
        assertTrue(Arrays.stream(Method.values()).allMatch(m -> CompareCommand.ALL_METHODS.contains(m.label())));
    }
}
