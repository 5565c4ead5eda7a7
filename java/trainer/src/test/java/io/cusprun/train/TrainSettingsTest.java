package io.cusprun.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.apache.commons.cli.ParseException;
import org.junit.jupiter.api.Test;

/** The trainer's settings: the builder's defaults and warm-up rule, and the options that set them. */
class TrainSettingsTest {

    private static TrainSettings parse(String... args) throws ParseException {
        return TrainerCommandLine.settings(TrainerCommandLine.parse(args));
    }

    @Test
    void builderStartsFromTheCommittedRun() {
        assertEquals(TrainSettings.DEFAULTS, TrainSettings.builder().build());
        assertEquals(50, TrainSettings.DEFAULTS.schedule().warmupSteps()); // 1,000 steps / 20
        assertEquals(
                new CosineSchedule(2e-3, 50, 1000, 0.1),
                TrainSettings.DEFAULTS.schedule().cosine());
    }

    @Test
    void warmUpFollowsTheStepsUnlessSet() {
        assertEquals(10, TrainSettings.builder().steps(200).build().schedule().warmupSteps());
        assertEquals(1, TrainSettings.builder().steps(3).build().schedule().warmupSteps());
        assertEquals(
                0,
                TrainSettings.builder()
                        .warmupSteps(0)
                        .steps(200)
                        .build()
                        .schedule()
                        .warmupSteps());
    }

    @Test
    void optionsSetTheSettingsOfTheirNames() throws ParseException {
        TrainSettings s = parse(
                "--out",
                "m",
                "--steps",
                "40",
                "--batch",
                "3",
                "--context",
                "64",
                "--hidden",
                "48",
                "--layers",
                "2",
                "--heads",
                "6",
                "--kv-heads",
                "3",
                "--intermediate",
                "96",
                "--max-positions",
                "128",
                "--lr",
                "0.01",
                "--final-lr",
                "0.5",
                "--weight-decay",
                "0.2",
                "--clip",
                "0",
                "--seed",
                "9",
                "--threads",
                "1",
                "--log-every",
                "5",
                "--no-eval",
                "--init",
                "prev",
                "--train",
                "t.jsonl",
                "--tokenizer",
                "tok");
        assertEquals(
                new TrainSettings.Locations(Path.of("m"), Path.of("t.jsonl"), Path.of("tok"), null, Path.of("prev")),
                s.locations());
        assertEquals(
                new TrainSettings.Shape(io.cusprun.model.Architecture.LLAMA, 48, 2, 6, 3, 96, 128, true), s.shape());
        assertEquals(new TrainSettings.Batches(64, 3), s.batches());
        assertEquals(new TrainSettings.Schedule(40, 2, 0.01, 0.5), s.schedule());
        assertEquals(Trainer.Hyper.DEFAULTS.withWeightDecay(0.2).withGradClip(0), s.hyper());
        assertEquals(new TrainSettings.Execution(9, 1, 5), s.execution());

        TrainSettings d = parse("--out", "m", "--warmup", "0");
        assertEquals(TrainSettings.builder().out(Path.of("m")).warmupSteps(0).build(), d);
        assertNull(TrainerCommandLine.parse(new String[] {"--help"}), "help: no settings");
        assertThrows(ParseException.class, () -> parse("--steps", "3"));
        assertEquals(
                "--warmup needs a non-negative integer, not '-1'",
                assertThrows(ParseException.class, () -> parse("--out", "m", "--warmup", "-1"))
                        .getMessage());
        assertEquals(
                "--steps needs a positive integer, not '0'",
                assertThrows(ParseException.class, () -> parse("--out", "m", "--steps", "0"))
                        .getMessage());
    }

    @Test
    void familyAndEmbeddingsHaveOptions() throws ParseException {
        TrainSettings s = parse("--out", "m", "--architecture", "qwen2", "--untied-embeddings");
        assertEquals(io.cusprun.model.Architecture.QWEN2, s.shape().architecture());
        assertEquals(false, s.shape().tiedEmbeddings());
        assertEquals(
                "--architecture needs llama or qwen2, not 'mistral'",
                assertThrows(ParseException.class, () -> parse("--out", "m", "--architecture", "mistral"))
                        .getMessage());
    }

    @Test
    void optionsAreStrict() {
        // a prefix is no option (Commons CLI alone would read --ste as --steps)
        assertEquals(
                "unknown option --ste (did you mean --steps?)",
                assertThrows(ParseException.class, () -> parse("--out", "m", "--ste", "3"))
                        .getMessage());
        assertEquals(
                "unknown option --lerning-rate (see --help)",
                assertThrows(ParseException.class, () -> parse("--out", "m", "--lerning-rate", "3"))
                        .getMessage());
        assertEquals(
                "--steps given more than once (see --help)",
                assertThrows(ParseException.class, () -> parse("--out", "m", "--steps", "3", "--steps", "4"))
                        .getMessage());
        assertEquals(
                "unexpected argument 'extra' (see --help)",
                assertThrows(ParseException.class, () -> parse("--out", "m", "extra"))
                        .getMessage());
    }
}
