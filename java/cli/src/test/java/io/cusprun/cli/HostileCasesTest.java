package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.export.Encodings;
import io.cusprun.model.SafetensorsHeader;
import io.cusprun.model.TensorInfo;
import io.cusprun.score.PlantedModel;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.HostileConfigs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A generator of hostile cases over every command and output format (GGUF included): unsupported
 * config.json fields through every command that reads a model, weights no GGUF type can hold,
 * special files in every input position, --dry-run on every command that has it, repeated option
 * values, stale temporaries and released claims beside every output kind, forged ownership of
 * every directory output. Each case must end as its category says (a one-line refusal naming the
 * file, tensor or option; or success with nothing else touched); the counts per category are
 * printed and reported in docs/reliability.md.
 */
class HostileCasesTest {
    @TempDir
    static Path dir;

    static CliInputs in;
    static Path model, corpus, held, scores, scores1, demo;
    static final ObjectMapper JSON = new ObjectMapper();
    static final Map<String, int[]> COUNTS = new TreeMap<>();

    static CompareCommandTest.Run run(String... args) {
        return CompareCommandTest.run(args);
    }

    @BeforeAll
    static void setUp() throws Exception {
        in = CliInputs.write(dir);
        model = in.model();
        corpus = in.corpus();
        held = in.held();
        scores = in.scores();
        scores1 = in.scores1();
        demo = Fixtures.repositoryRoot().resolve("data/demo-model");
    }

    static String[] score(Path out, String... more) {
        return in.score(out, more);
    }

    static String[] args(List<String> base, String... more) {
        return CliInputs.args(base, more);
    }

    /** Every command that writes, with its output at {@code out} (a file or folder per kind). */
    static Map<String, String[]> writers(Path model, Path out) {
        Map<String, String[]> m = new TreeMap<>();
        m.put("score", CliInputs.replaced(score(out), "--model", model.toString()));
        m.put("prune", CliInputs.replaced(in.prune(out, "magnitude"), "--model", model.toString()));
        m.put("merge", in.merge(out));
        m.put("compare", CliInputs.replaced(in.compare("--report", out.toString()), "--model", model.toString()));
        return m;
    }

    static void count(String category, boolean ok) {
        int[] c = COUNTS.computeIfAbsent(category, k -> new int[2]);
        c[0]++;
        if (ok) c[1]++;
    }

    /** Exit 1 or 2, one stderr line, no stack trace, naming each fragment. */
    static void refused(String what, CompareCommandTest.Run r, String... fragments) {
        String line = HostileInputCliTest.cleanFailure(r, what);
        for (String f : fragments) assertTrue(line.contains(f), what + ": '" + f + "' missing: " + line);
    }

    static List<String> tree(Path root) throws Exception {
        return OutputPolicyCliTest.listing(root);
    }

    // ------------------------------------------------------------------ config fields

    @Test
    void unsupportedConfigFieldsThroughEveryCommandThatReadsAModel() throws Exception {
        ObjectNode good =
                (ObjectNode) JSON.readTree(model.resolve("config.json").toFile());
        int i = 0;
        for (Object[] field : HostileConfigs.UNSUPPORTED) {
            Path m = dir.resolve("cfg/m" + i++);
            copyTree(model, m);
            ObjectNode c = good.deepCopy();
            c.set((String) field[0], JSON.valueToTree(field[1]));
            Files.writeString(m.resolve("config.json"), c.toString());
            Path out = dir.resolve("cfg/out" + i);
            List<String[]> commands = new ArrayList<>(writers(m, out).values());
            commands.add(new String[] {"inspect", "--model", m.toString()});
            commands.add(new String[] {"eval", "--model", m.toString(), "--text", held.toString()});
            commands.add(new String[] {"export", "--model", m.toString(), "--out", out + ".gguf"});
            commands.add(new String[] {
                "prune", "--model", m.toString(), "--scores", scores.toString(), "--ratio", "0.3", "--dry-run"
            });
            for (String[] cmd : commands) {
                if (cmd[0].equals("merge")) continue; // reads no model
                String what = cmd[0] + " with " + field[0] + "=" + field[1];
                refused(what, run(cmd), "config.json", (String) field[0]);
                assertFalse(Files.exists(out) || Files.exists(Path.of(out + ".gguf")), what);
                count("config.json fields x commands", true);
            }
        }
    }

    static void copyTree(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName().toString()));
        }
    }

    // ------------------------------------------------------------------ GGUF values

    @Test
    void weightsNoGgufTypeCanHoldAreRefusedOrClampedNamingTheTensor() throws Exception {
        Path m = dir.resolve("gguf/demo");
        copyTree(demo, m);
        Path st = m.resolve("model.safetensors");
        SafetensorsHeader h = SafetensorsHeader.read(st);
        Object[][] cases = {
            {"model.layers.2.mlp.up_proj.weight", "blk.2.ffn_up.weight", 1e6f, "f16"},
            {"model.layers.2.mlp.up_proj.weight", "blk.2.ffn_up.weight", 3e38f, "f16"},
            {"model.layers.0.self_attn.v_proj.weight", "blk.0.attn_v.weight", 7e4f, "f16"},
            {"model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight", 1e7f, "q8_0"},
            {"model.layers.3.mlp.gate_proj.weight", "blk.3.ffn_gate.weight", 3e38f, "q8_0"},
            {"model.embed_tokens.weight", "token_embd.weight", 1e5f, "f16"},
            {"model.layers.5.self_attn.o_proj.weight", "blk.5.attn_output.weight", 9e6f, "q8_0"},
        };
        byte[] original = Files.readAllBytes(st);
        for (Object[] c : cases) {
            Files.write(st, original);
            Files.deleteIfExists(dir.resolve("gguf/out.gguf"));
            TensorInfo t = h.tensor((String) c[0]);
            ByteBuffer b = ByteBuffer.allocate(2 * 32).order(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < 32; k++) b.putShort(Encodings.floatToBf16((float) c[2]));
            try (FileChannel ch = FileChannel.open(st, StandardOpenOption.WRITE)) {
                ch.write(b.flip(), h.dataStart() + t.begin());
            }
            Path out = dir.resolve("gguf/out.gguf");
            String what = c[0] + "=" + c[2] + " as " + c[3];
            refused(
                    what,
                    run("export", "--model", m.toString(), "--out", out.toString(), "--dtype", (String) c[3]),
                    (String) c[1],
                    "beyond");
            assertFalse(Files.exists(out), what);
            count("GGUF: values the type cannot hold, refused", true);
            CompareCommandTest.Run r = run(
                    "export",
                    "--model",
                    m.toString(),
                    "--out",
                    out.toString(),
                    "--dtype",
                    (String) c[3],
                    "--clamp",
                    "--force");
            assertEquals(0, r.code(), what + ": " + r.err());
            assertTrue(r.err().contains(c[1] + ": clamped"), what + ": " + r.err());
            count("GGUF: the same with --clamp, clamped with a note", true);
            // bf16 and f32 hold these values (checked on the largest, 3e38, to keep the suite fast)
            for (String type : (float) c[2] == 3e38f ? List.of("f32", "bf16") : List.<String>of()) {
                r = run("export", "--model", m.toString(), "--out", out.toString(), "--dtype", type, "--force");
                assertEquals(0, r.code(), what + " as " + type + ": " + r.err());
                assertFalse(r.err().contains("clamped"), r.err());
                count("GGUF: the same in f32/bf16, written", true);
            }
        }
        Files.write(st, original);
    }

    // ------------------------------------------------------------------ special files

    @Test
    void specialFilesInEveryInputPosition() throws Exception {
        Path fifo = dir.resolve("special/pipe.jsonl");
        Files.createDirectories(fifo.getParent());
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        for (Path special : List.of(fifo, Path.of("/dev/zero"), Path.of("/dev/null"), Path.of("/dev/urandom"))) {
            String s = special.toString();
            Path out = dir.resolve("special/out");
            List<String[]> cases = List.of(
                    new String[] {"inspect", "--model", s},
                    new String[] {"eval", "--model", s, "--text", held.toString()},
                    new String[] {"eval", "--model", model.toString(), "--text", s},
                    new String[] {"eval", "--model", model.toString(), "--ids", s},
                    new String[] {"eval", "--model", model.toString(), "--mc", s},
                    score(out, "--corpus", "task:x=" + s),
                    new String[] {
                        "prune", "--model", model.toString(), "--scores", s, "--ratio", "0.3", "--out", out.toString()
                    },
                    new String[] {
                        "prune",
                        "--model",
                        model.toString(),
                        "--method",
                        "wanda-sp",
                        "--corpus",
                        "task:x=" + s,
                        "--ratio",
                        "0.3",
                        "--out",
                        out.toString()
                    },
                    new String[] {"merge", s, scores1.toString(), "--out", out.toString()},
                    new String[] {"export", "--model", s, "--out", out.toString()},
                    CliInputs.replaced(writers(model, out).get("compare"), "--eval-general", s));
            for (String[] c : cases) {
                long start = System.nanoTime();
                refused(String.join(" ", c), run(c), s);
                assertTrue((System.nanoTime() - start) / 1e9 < 10, String.join(" ", c) + ": up front");
                assertFalse(Files.exists(out));
                count("special files (FIFO, devices) x input positions", true);
            }
        }
    }

    // ------------------------------------------------------------------ dry runs and option values

    @Test
    void dryRunOnEveryCommandThatHasItTouchesNothing() throws Exception {
        Path out = dir.resolve("dry/out");
        List<String[]> cases = List.of(
                args(List.of(score(out)), "--dry-run"),
                new String[] {
                    "prune",
                    "--model",
                    model.toString(),
                    "--method",
                    "magnitude",
                    "--ratio",
                    "0.3",
                    "--out",
                    out.toString(),
                    "--dry-run"
                },
                new String[] {"eval", "--model", model.toString(), "--text", held.toString(), "--dry-run"},
                args(List.of(writers(model, out).get("compare")), "--dry-run", "--keep", out + "-kept"),
                new String[] {"demo", "--dry-run", "--data", demo.getParent().toString(), "--out", out.toString()},
                new String[] {
                    "demo", "--dry-run", "--quick", "--data", demo.getParent().toString(), "--out", out.toString()
                });
        for (String[] c : cases) {
            List<String> before = tree(dir);
            CompareCommandTest.Run r = run(c);
            assertEquals(0, r.code(), String.join(" ", c) + ": " + r.err());
            assertEquals(before, tree(dir), String.join(" ", c) + ": nothing touched");
            count("--dry-run on every command that has it", true);
        }
    }

    @Test
    void repeatedAndBadOptionValuesAreRefusedBeforeAnyWork() throws Exception {
        Path out = dir.resolve("opt/report");
        String[] compare = writers(model, out).get("compare");
        Object[][] cases = {
            {"--ratio", "0.3,0.3"},
            {"--ratio", "0.25,0.35,0.25"},
            {"--ratio", "0.3,"},
            {"--ratio", "0.3,1"},
            {"--method", "random,random"},
            {"--method", "cusprun,magnitude,cusprun"},
            {"--method", "random,"},
            {"--method", "random,nope"}
        };
        for (Object[] c : cases) {
            List<String> before = tree(dir);
            for (String[] cmd : List.of(CliInputs.replaced(compare, (String) c[0], (String) c[1]), new String[] {
                "demo", (String) c[0], (String) c[1], "--data", demo.getParent().toString(), "--out", out.toString()
            })) {
                long start = System.nanoTime();
                refused(String.join(" ", cmd), run(cmd), (String) c[0]);
                assertTrue((System.nanoTime() - start) / 1e9 < 5, "before any work");
                assertEquals(before, tree(dir));
                count("repeated or bad option values (compare, demo)", true);
            }
        }
    }

    // ------------------------------------------------------------------ interruption leftovers

    /** A killed run left a temporary and an orphaned claim: the next run of every writer removes the one and takes the other. */
    @Test
    void leftoversOfKilledRunsBesideEveryOutputKind() throws Exception {
        long dead = OutputPolicyCliTest.deadPid();
        Map<String, String[]> writers = new TreeMap<>(writers(model, dir.resolve("left/x")));
        writers.put("export", new String[] {"export", "--model", demo.toString(), "--out", "X", "--dtype", "q8_0"});
        int i = 0;
        for (Map.Entry<String, String[]> w : writers.entrySet()) {
            for (boolean existing : List.of(false, true)) {
                Path out = dir.resolve(
                        "left/" + w.getKey() + "-" + i++ + (w.getKey().equals("export") ? ".gguf" : ""));
                String[] cmd = CliInputs.replaced(
                        w.getValue(), w.getKey().equals("compare") ? "--report" : "--out", out.toString());
                if (existing) {
                    assertEquals(0, run(cmd).code());
                    cmd = args(List.of(cmd), "--force");
                }
                Path stale = out.resolveSibling("." + out.getFileName() + ".tmp-" + dead);
                Files.createDirectories(stale);
                Files.writeString(stale.resolve("half"), "half");
                CompareCommandTest.Run r = run(cmd);
                assertEquals(0, r.code(), w.getKey() + ": " + r.err());
                assertTrue(r.err().contains("removed " + stale), r.err());
                assertEquals(List.of(), ReliabilityCliTest.dotFiles(out.getParent()), w.getKey());
                count("stale temporaries beside every output kind (new and replaced)", true);
            }
        }
    }

    // ------------------------------------------------------------------ concurrency

    /** Two writers started together on one output, for every writing command, with and without --force. */
    @Test
    void twoWritersOnEveryOutputKind() throws Exception {
        Map<String, String[]> writers = new TreeMap<>(writers(model, dir.resolve("race/x")));
        writers.put("export", new String[] {"export", "--model", demo.toString(), "--out", "X", "--dtype", "q8_0"});
        int i = 0;
        for (Map.Entry<String, String[]> w : writers.entrySet()) {
            for (boolean force : List.of(false, true)) {
                Path out = dir.resolve(
                        "race/" + w.getKey() + "-" + i++ + (w.getKey().equals("export") ? ".gguf" : ""));
                String[] cmd = CliInputs.replaced(
                        w.getValue(), w.getKey().equals("compare") ? "--report" : "--out", out.toString());
                if (force) cmd = args(List.of(cmd), "--force");
                List<CompareCommandTest.Run> runs = ReliabilityCliTest.together(cmd, cmd);
                if (force) ReliabilityCliTest.oneWinsOrBothInTurn(runs, w.getKey() + " --force");
                else ReliabilityCliTest.oneWins(runs, w.getKey());
                assertTrue(Files.exists(out));
                assertEquals(List.of(), ReliabilityCliTest.dotFiles(out.getParent()), w.getKey());
                count("two writers together x every output kind (with/without --force)", true);
            }
        }
    }

    // ------------------------------------------------------------------ resume

    /**
     * An interrupted score run (its partial file) resumed on other corpora, another selection of
     * documents, or a damaged partial file: refused naming the file; on the same corpus: the same
     * scores as an uninterrupted run.
     */
    @Test
    void resumeChecksCorpusContentsSelectionAndIntegrity() throws Exception {
        Files.createDirectories(dir.resolve("resume"));
        Path en = Files.writeString(
                dir.resolve("resume/en.txt"), PlantedModel.text(PlantedModel.documents('a', 12, 4, 20, 5)));
        Path fr = Files.writeString(
                dir.resolve("resume/fr.txt"), PlantedModel.text(PlantedModel.documents('a', 12, 4, 20, 6)));
        Path out = dir.resolve("resume/s.safetensors");
        Path partial = dir.resolve("resume/s.safetensors.partial");
        io.cusprun.score.ScoreSettings settings = io.cusprun.score.ScoreSettings.DEFAULTS.withBatchTokens(32);
        io.cusprun.corpus.CorpusSpec spec = io.cusprun.corpus.CorpusSpec.parse("language:en=" + en);
        List<io.cusprun.corpus.TokenizedCorpus> corpora;
        try (io.cusprun.model.TextTokenizer tok = io.cusprun.model.TextTokenizer.load(model)) {
            corpora = io.cusprun.corpus.Corpora.load(List.of(spec), tok, settings.maxTokens(), settings.maxDocs());
        }
        try (io.cusprun.score.ScoreTarget target =
                io.cusprun.score.ScoreTarget.open(model, io.cusprun.score.RelevanceBackends.byName("native"))) {
            assertFalse(io.cusprun.score.Scorer.run(
                            target,
                            corpora,
                            settings,
                            io.cusprun.score.Scorer.Options.DEFAULTS
                                    .withPartial(partial, true)
                                    .withStopAfter(2))
                    .complete());
        }
        byte[] good = Files.readAllBytes(partial);
        List<String> base = List.of(
                "score",
                "--model",
                model.toString(),
                "--out",
                out.toString(),
                "--no-progress",
                "--batch-tokens",
                "32",
                "--resume");
        Object[][] cases = {
            {"another file under the same name", new String[] {"--corpus", "language:en=" + fr}, "corpus en"},
            {"another selection (--docs)", new String[] {"--corpus", "language:en=" + en, "--docs", "5"}, "settings"},
            {"another corpus name", new String[] {"--corpus", "language:de=" + en}, "corpora"},
            {
                "a second corpus",
                new String[] {"--corpus", "language:en=" + en, "--corpus", "language:fr=" + fr},
                "corpora"
            },
        };
        for (Object[] c : cases) {
            Files.write(partial, good);
            refused((String) c[0], run(args(base, (String[]) c[1])), partial.toString(), (String) c[2]);
            assertFalse(Files.exists(out));
            count("resume: other corpora, selections, damaged partial files", true);
        }
        java.util.Random r = new java.util.Random(11);
        SafetensorsHeader h = SafetensorsHeader.read(partial);
        for (int k = 0; k < 6; k++) {
            byte[] bad = good.clone();
            int at = (int) (h.dataStart() + r.nextInt((int) h.dataSize()));
            bad[at] ^= (byte) (1 << r.nextInt(8));
            Files.write(partial, bad);
            refused("flipped byte " + at, run(args(base, "--corpus", "language:en=" + en)), partial.toString());
            count("resume: other corpora, selections, damaged partial files", true);
        }
        Files.write(partial, good);
        CompareCommandTest.Run ok = run(args(base, "--corpus", "language:en=" + en));
        assertEquals(0, ok.code(), ok.err());
        assertEquals(
                0,
                run(
                                "score",
                                "--model",
                                model.toString(),
                                "--corpus",
                                "language:en=" + en,
                                "--out",
                                dir.resolve("resume/w.safetensors").toString(),
                                "--no-progress",
                                "--batch-tokens",
                                "32")
                        .code());
        assertTrue(io.cusprun.score.ScoreFile.read(out)
                .sameAs(io.cusprun.score.ScoreFile.read(dir.resolve("resume/w.safetensors"))));
        count("resume: the same corpus, equal to an uninterrupted run", true);
    }

    // ------------------------------------------------------------------ forged ownership

    @Test
    void forgedOwnershipOfEveryDirectoryOutputIsRefused() throws Exception {
        List<String> forgeries = List.of(
                "empty manifest",
                "{} manifest",
                "format only",
                "real output plus a file",
                "real output with a file changed",
                "page titled cusprun");
        Map<String, String[]> writers = writers(model, dir.resolve("forged/x"));
        int i = 0;
        for (String kind : List.of("prune", "compare")) {
            for (String forgery : forgeries) {
                Path out = dir.resolve("forged/" + kind + "-" + i++);
                String[] cmd = args(
                        List.of(CliInputs.replaced(
                                writers.get(kind), kind.equals("compare") ? "--report" : "--out", out.toString())),
                        "--force");
                String marker = kind.equals("prune") ? "cusprun-manifest.json" : "index.html";
                switch (forgery) {
                    case "real output plus a file", "real output with a file changed" -> {
                        assertEquals(0, run(cmd).code());
                        Path f = out.resolve(kind.equals("prune") ? "config.json" : "table.md");
                        if (forgery.endsWith("changed")) Files.writeString(f, Files.readString(f) + "\n");
                        else Files.writeString(out.resolve("mine.txt"), "mine");
                    }
                    default -> {
                        Files.createDirectories(out);
                        Files.writeString(out.resolve("mine.txt"), "mine");
                        Files.writeString(
                                out.resolve(marker),
                                switch (forgery) {
                                    case "empty manifest" -> "";
                                    case "{} manifest" -> "{}";
                                    case "format only" -> "{\"format\": \"cusprun-manifest/1\"}";
                                    default -> "<html><head><title>cusprun report</title></head></html>";
                                });
                    }
                }
                List<String> before = tree(out);
                refused(kind + " over " + forgery, run(cmd), "written by cusprun");
                assertEquals(before, tree(out), kind + " over " + forgery + ": untouched");
                count("forged ownership x directory outputs", true);
            }
        }
    }

    @org.junit.jupiter.api.AfterAll
    static void report() {
        StringBuilder b = new StringBuilder("hostile cases:\n");
        int total = 0;
        for (Map.Entry<String, int[]> e : COUNTS.entrySet()) {
            b.append(String.format("  %-70s %4d%n", e.getKey(), e.getValue()[0]));
            total += e.getValue()[0];
        }
        b.append("  total ").append(total);
        System.out.println(b);
    }
}
