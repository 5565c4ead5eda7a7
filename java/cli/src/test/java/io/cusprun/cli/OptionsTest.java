package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.model.TokenIdException;
import io.cusprun.score.PlantedModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Numeric ranges, repeated options and exit codes: the same rule in every command, one line each. */
class OptionsTest {
    @TempDir
    static Path dir;

    static Path model, corpus, scores;

    @BeforeAll
    static void setUp() throws Exception {
        model = PlantedModel.write(dir.resolve("model"), 3);
        corpus = Files.writeString(dir.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 2, 4, 20, 1)));
        scores = dir.resolve("s.safetensors");
        assertEquals(
                0,
                CompareCommandTest.run(
                                "score",
                                "--model",
                                model.toString(),
                                "--corpus",
                                "language:a=" + corpus,
                                "--out",
                                scores.toString(),
                                "--no-progress")
                        .code());
    }

    static void usage(String flag, String... args) {
        CompareCommandTest.Run r = CompareCommandTest.run(args);
        assertEquals(2, r.code(), String.join(" ", args) + "\n" + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--" + flag), String.join(" ", args) + "\n" + r.err());
        assertTrue(!r.err().contains("Exception") && !r.err().contains("\tat "), r.err());
    }

    /** Each command's numeric options, with the rest of a valid line. */
    static List<String[]> lines(String option, String value) {
        String m = model.toString(),
                c = "language:a=" + corpus,
                s = scores.toString(),
                o = dir.resolve("o").toString();
        List<String[]> out = new ArrayList<>();
        for (String opt : new String[] {"max-tokens", "docs", "bins", "batch-tokens", "checkpoint-seconds"}) {
            if (opt.equals(option))
                out.add(new String[] {"score", "--model", m, "--corpus", c, "--out", o, "--" + opt, value});
        }
        for (String opt : new String[] {"ratio", "doc-quantile", "min-ffn", "seed", "max-tokens", "docs"}) {
            if (opt.equals(option)) {
                out.add(
                        opt.equals("ratio")
                                ? new String[] {"prune", "--model", m, "--scores", s, "--out", o, "--ratio", value}
                                : new String[] {
                                    "prune",
                                    "--model",
                                    m,
                                    "--scores",
                                    s,
                                    "--out",
                                    o,
                                    "--ratio",
                                    "0.3",
                                    "--" + opt,
                                    value
                                });
            }
        }
        for (String opt : new String[] {"ratio", "eval-docs", "max-length", "max-tokens", "docs", "doc-quantile"}) {
            if (opt.equals(option))
                out.add(new String[] {
                    "compare",
                    "--model",
                    m,
                    "--corpus",
                    c,
                    "--eval-expert",
                    corpus.toString(),
                    "--eval-general",
                    corpus.toString(),
                    "--report",
                    o,
                    "--" + opt,
                    value
                });
        }
        for (String opt : new String[] {"ratio", "docs", "eval-docs"}) {
            if (opt.equals(option)) out.add(new String[] {"demo", "--out", o, "--" + opt, value});
        }
        for (String opt : new String[] {"max-length", "stride", "batch-tokens"}) {
            if (opt.equals(option))
                out.add(new String[] {"eval", "--model", m, "--text", corpus.toString(), "--" + opt, value});
        }
        return out;
    }

    @Test
    void everyNumericOptionIsRangeCheckedAndNamedInTheError() {
        String[] options = {
            "max-tokens",
            "docs",
            "bins",
            "batch-tokens",
            "checkpoint-seconds",
            "ratio",
            "doc-quantile",
            "min-ffn",
            "seed",
            "eval-docs",
            "max-length",
            "stride"
        };
        int checked = 0;
        for (String option : options) {
            for (String bad : new String[] {"abc", "-5", "2000000000", "99999999999999999999", "1e400", "NaN", ""}) {
                boolean limit = option.equals("docs") || option.equals("eval-docs") || option.equals("seed");
                if (limit && bad.equals("2000000000")) continue; // a valid limit or seed
                for (String[] line : lines(option, bad)) {
                    usage(option, line);
                    checked++;
                }
            }
        }
        assertTrue(checked > 120, "checked " + checked);
    }

    @Test
    void aRepeatedSingleValuedOptionIsAnError() {
        usage(
                "out",
                "score",
                "--model",
                model.toString(),
                "--corpus",
                "language:a=" + corpus,
                "--out",
                "x",
                "--out",
                "y");
        usage(
                "ratio",
                "prune",
                "--model",
                model.toString(),
                "--scores",
                scores.toString(),
                "--ratio",
                "0.3",
                "--ratio",
                "0.5",
                "--out",
                dir.resolve("r").toString());
        usage("model", "eval", "--model", model.toString(), "--model", dir.toString(), "--text", corpus.toString());
        usage("out", "merge", "a", "b", "--out=x", "--out=y");
        // options that take several values stay repeatable
        CompareCommandTest.Run r = CompareCommandTest.run(
                "prune",
                "--model",
                model.toString(),
                "--method",
                "wanda-sp",
                "--corpus",
                "language:a=" + corpus,
                "--corpus",
                "domain:b=" + corpus,
                "--ratio",
                "0.3",
                "--dry-run");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void devicesAreCheckedBeforeLibTorchSeesThem() {
        for (String bad : new String[] {"", "foo", "cpu,", "cuda:x"}) {
            usage(
                    "devices",
                    "score",
                    "--model",
                    model.toString(),
                    "--corpus",
                    "language:a=" + corpus,
                    "--out",
                    dir.resolve("d").toString(),
                    "--devices",
                    bad);
            usage("device", "eval", "--model", model.toString(), "--text", corpus.toString(), "--device", bad);
        }
    }

    @Test
    void benchKeepsItsResultsOnlyWhereNothingForeignIsReplaced() throws Exception {
        Path jar = Files.writeString(dir.resolve("benchmarks.jar"), "not run");
        Path foreign = Files.writeString(dir.resolve("results.json"), "{\"mine\": true}");
        usage("json", "bench", "--jar", jar.toString(), "--json", foreign.toString());
        usage("json", "bench", "--jar", jar.toString(), "--json", foreign.toString(), "--force");
        usage("json", "bench", "--jar", jar.toString(), "--json", jar.toString(), "--force");
        assertEquals("{\"mine\": true}", Files.readString(foreign));
    }

    @Test
    void evalUsageErrorsAreOneLine() {
        usage("text", "eval", "--model", model.toString());
        usage("ids", "eval", "--model", model.toString(), "--text", corpus.toString(), "--ids", corpus.toString());
        usage(
                "stride",
                "eval",
                "--model",
                model.toString(),
                "--text",
                corpus.toString(),
                "--max-length",
                "4",
                "--stride",
                "8");
        usage("model", "eval", "--text", corpus.toString());
        usage("dtype", "eval", "--model", model.toString(), "--text", corpus.toString(), "--dtype", "f8");
    }

    @Test
    void anOutOfVocabularyTokenIdIsTheSameFailureEverywhere() throws Exception {
        Path ids = Files.writeString(dir.resolve("ids.jsonl"), "[1, 2, 100000]\n");
        CompareCommandTest.Run eval =
                CompareCommandTest.run("eval", "--model", model.toString(), "--ids", ids.toString());
        assertEquals(1, eval.code(), eval.err());
        // the same error raised by the model (a tokenizer that does not belong to it), in any command
        Command failing = new Command() {
            public String name() {
                return "score";
            }

            public String summary() {
                return "";
            }

            public String description() {
                return "";
            }

            public Options options() {
                return new Options();
            }

            public int execute(CommandLine cl, Console console) {
                throw new TokenIdException("token id 100000 outside the vocabulary [0, 64) of the model");
            }
        };
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Console console = new Console(
                new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8),
                false);
        assertEquals(Cli.FAILURE, Cli.run(failing, new String[0], console));
        assertEquals(1, err.toString(StandardCharsets.UTF_8).strip().lines().count());
    }
}
