package io.cusprun.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.model.Checkpoint;
import io.cusprun.model.DType;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import io.cusprun.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer's command end to end on a tiny model and corpus, with the demo tokenizer. */
class DemoModelTrainerTest {

    private static final Path TOKENIZER =
            Fixtures.repositoryRoot().resolve("data").resolve("demo-tokenizer");

    @TempDir
    Path tmp;

    private Path train;
    private Path corpora;

    @BeforeEach
    void corpus() throws IOException {
        Assumptions.assumeTrue(Files.isRegularFile(TOKENIZER.resolve("tokenizer.json")), "demo tokenizer present");
        List<String> lines = new ArrayList<>();
        String[] texts = {
            "The cat sat on the mat.",
            "Der Hund lief über die Straße.",
            "Question: what does ls do?\nAnswer: it lists files."
        };
        for (int i = 0; i < 12; i++) {
            lines.add("{\"text\": \"" + texts[i % texts.length].replace("\n", "\\n") + " " + i + "\"}");
        }
        train = Files.write(tmp.resolve("train.jsonl"), lines);
        corpora = tmp.resolve("corpora");
        Files.createDirectories(corpora.resolve("language/en"));
        Files.write(corpora.resolve("language/en/heldout.jsonl"), List.of("{\"text\": \"The dog sat on the mat.\"}"));
        Files.createDirectories(corpora.resolve("eval"));
        Files.write(
                corpora.resolve("eval/mc.jsonl"),
                List.of("{\"context\": \"The cat\", \"choices\": [\"sat\", \"flew\"], \"answer\": 0}"));
    }

    private int run(ByteArrayOutputStream err, String... args) {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        return DemoModelTrainer.run(args, quiet, new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String[] tiny(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of(
                "--out",
                out.toString(),
                "--train",
                train.toString(),
                "--tokenizer",
                TOKENIZER.toString(),
                "--corpora",
                corpora.toString(),
                "--steps",
                "3",
                "--batch",
                "2",
                "--context",
                "16",
                "--hidden",
                "32",
                "--layers",
                "1",
                "--heads",
                "2",
                "--kv-heads",
                "1",
                "--intermediate",
                "32",
                "--max-positions",
                "64"));
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    /** args with the value of option {@code name} replaced (commons-cli takes an option's first value). */
    private static String[] set(String[] args, String name, String value) {
        String[] a = args.clone();
        a[List.of(a).indexOf(name) + 1] = value;
        return a;
    }

    @Test
    void writesALoadableBf16ModelWithItsCard() throws IOException {
        Path out = tmp.resolve("models/demo");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, run(err, tiny(out)), err.toString(StandardCharsets.UTF_8));
        for (String f : List.of(
                "config.json",
                "model.safetensors",
                "generation_config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "special_tokens_map.json",
                "MODEL_CARD.md")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        ModelConfig config = ModelConfig.read(out);
        assertEquals(DType.BF16, config.torchDtype());
        assertEquals(6144, config.vocabSize()); // data/demo-tokenizer
        assertEquals(0L, config.bosTokenId());
        assertEquals(List.of(1L), config.eosTokenIds());
        try (Checkpoint ck = Checkpoint.open(out)) {
            assertEquals(
                    DType.BF16, ck.info("model.layers.0.mlp.up_proj.weight").dtype());
            assertEquals(DemoModelTrainer.class.getName(), ck.metadata().get("producer"));
            assertEquals("3", ck.metadata().get("step"));
        }
        try (LlamaModel m = LlamaModel.load(out)) {
            assertEquals(1, m.numLayers());
        }
        String card = Files.readString(out.resolve("MODEL_CARD.md"));
        assertTrue(card.contains("| language/en | 1 |"), card);
        assertTrue(card.contains("| eval/mc | 1 |"), card);
        assertTrue(card.contains("java -jar java/trainer/target/cusprun-trainer.jar --out " + out), card);
        try (Stream<Path> siblings = Files.list(out.getParent())) {
            assertEquals(List.of(out), siblings.toList(), "no temporary directory left");
        }
        // a second run replaces the directory
        assertEquals(0, run(err, tiny(out, "--no-eval", "--seed", "5")));
        assertFalse(Files.readString(out.resolve("MODEL_CARD.md")).contains("Held-out evaluation"));
    }

    @Test
    void initStartsFromTheGivenWeights() throws IOException {
        Path first = tmp.resolve("first");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, run(err, tiny(first, "--no-eval")), err.toString(StandardCharsets.UTF_8));
        // one more step at a negligible rate: every bf16 weight comes back as it was, which a fresh
        // initialisation (or any other start) would not give
        Path second = tmp.resolve("second");
        assertEquals(
                0,
                run(err, set(tiny(second, "--no-eval", "--init", first.toString(), "--lr", "1e-12"), "--steps", "1")),
                err.toString(StandardCharsets.UTF_8));
        Path fresh = tmp.resolve("fresh");
        assertEquals(0, run(err, set(tiny(fresh, "--no-eval", "--lr", "1e-12"), "--steps", "1")));
        try (LlamaModel a = LlamaModel.load(first);
                LlamaModel b = LlamaModel.load(second);
                LlamaModel c = LlamaModel.load(fresh)) {
            Map<String, Tensor> ta = a.hfTensors();
            Map<String, Tensor> tb = b.hfTensors();
            Map<String, Tensor> tc = c.hfTensors();
            assertEquals(ta.keySet(), tb.keySet());
            boolean freshDiffers = false;
            for (String name : ta.keySet()) {
                float[] wa = Tensors.toFloats(ta.get(name));
                assertArrayEquals(wa, Tensors.toFloats(tb.get(name)), name);
                freshDiffers |= !Arrays.equals(wa, Tensors.toFloats(tc.get(name)));
            }
            assertTrue(freshDiffers, "a fresh start gives other weights");
        }
        assertEquals(
                Files.readString(first.resolve("MODEL_CARD.md")),
                Files.readString(second.resolve("INIT_MODEL_CARD.md")));
        assertTrue(Files.readString(second.resolve("MODEL_CARD.md")).contains("the weights of `" + first + "`"));

        // sizes that differ from the checkpoint's: one line naming its config.json
        err.reset();
        assertEquals(1, run(err, set(tiny(tmp.resolve("wider"), "--init", first.toString()), "--hidden", "64")));
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, message.lines().count(), message);
        assertTrue(message.contains(first.resolve("config.json") + ": --init needs hidden_size 64, not 32"), message);
    }

    /** The card's promise: the same seed and thread count give the same checkpoint, byte for byte. */
    @Test
    void sameSeedAndThreadsGiveTheSameBytes() throws IOException {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] settings = {"--no-eval", "--threads", "2", "--seed", "7"};
        assertEquals(0, run(err, tiny(tmp.resolve("a"), settings)), err.toString(StandardCharsets.UTF_8));
        assertEquals(0, run(err, tiny(tmp.resolve("b"), settings)), err.toString(StandardCharsets.UTF_8));
        assertEquals(0, run(err, set(tiny(tmp.resolve("c"), settings), "--seed", "8")));
        assertArrayEquals(
                Files.readAllBytes(tmp.resolve("a/model.safetensors")),
                Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        try (LlamaModel a = LlamaModel.load(tmp.resolve("a"));
                LlamaModel c = LlamaModel.load(tmp.resolve("c"))) {
            String name = "model.layers.0.mlp.up_proj.weight";
            assertFalse(
                    Arrays.equals(
                            Tensors.toFloats(a.hfTensors().get(name)),
                            Tensors.toFloats(c.hfTensors().get(name))),
                    "another seed gives other weights");
        }
    }

    @Test
    void failuresAreOneLineNamingTheFile() throws IOException {
        Path out = tmp.resolve("nothing");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Path missing = tmp.resolve("missing.jsonl");
        String[] args = tiny(out);
        args[3] = missing.toString();
        assertEquals(1, run(err, args));
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, message.lines().count(), message);
        assertTrue(message.contains(missing.toString()), message);
        assertFalse(Files.exists(out));

        Files.write(train, List.of("{\"text\": \"fine\"}", "{\"txt\": \"no text\"}"));
        err.reset();
        assertEquals(1, run(err, tiny(out)));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("train: " + train + ":2: "), err.toString());

        err.reset();
        assertEquals(2, run(err, "--steps", "3"));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--out is required"));
        try (Stream<Path> left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith(".nothing")), "no temporary left");
        }
    }
}
