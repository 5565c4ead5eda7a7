package io.cusprun.train;

import io.cusprun.model.Architecture;
import java.nio.file.Path;

/**
 * Everything a run of {@link DemoModelTrainer} depends on, in groups: where it reads and writes,
 * the model's sizes, the batches, the learning-rate schedule, the optimiser and the run itself.
 * {@link #DEFAULTS} is the committed {@code data/demo-model}'s run (less its output); a
 * {@link #builder()} changes any setting by name.
 */
public record TrainSettings(
        Locations locations,
        Shape shape,
        Batches batches,
        Schedule schedule,
        Trainer.Hyper hyper,
        Execution execution) {

    /**
     * Steps of the committed model's run (1,000 steps of 16 rows of 256 tokens, 4.1 M tokens; its card has
     * how long they took).
     */
    public static final int DEFAULT_STEPS = 1000;

    /**
     * LibTorch intra-op threads by default: the two cores of the machine the committed model was
     * trained on. The result depends on the thread count (the order of floating-point sums), so a
     * run that should reproduce the committed bytes keeps two whatever the machine has.
     */
    public static final int DEFAULT_THREADS = 2;

    /**
     * Where the run reads and writes; paths relative to the checkout by default.
     *
     * @param out          the model directory to write (no default)
     * @param trainFile    the training corpus, JSONL with {@code "text"}
     * @param tokenizerDir the tokenizer's directory, copied into the model
     * @param corpora      the corpora directory of the held-out evaluation; null: no evaluation
     * @param init         a checkpoint of this trainer (same sizes) to continue from; null: a fresh initialisation
     */
    public record Locations(Path out, Path trainFile, Path tokenizerDir, Path corpora, Path init) {}

    /**
     * The model's family and sizes ({@code config.json}); the vocabulary is the tokenizer's.
     *
     * @param architecture     {@code LLAMA} (no biases) or {@code QWEN2} (q/k/v biases, as HF's Qwen2 has)
     * @param tiedEmbeddings   lm_head shares the embedding's weights
     */
    public record Shape(
            Architecture architecture,
            int hidden,
            int layers,
            int heads,
            int kvHeads,
            int intermediate,
            int maxPositions,
            boolean tiedEmbeddings) {}

    /** Each optimisation step sees {@code rows} rows of {@code context} tokens. */
    public record Batches(int context, int rows) {}

    /** A {@link CosineSchedule}'s settings: {@code steps} steps, linear warm-up, cosine decay to a fraction of the peak. */
    public record Schedule(int steps, int warmupSteps, double lr, double finalLrFraction) {
        public CosineSchedule cosine() {
            return new CosineSchedule(lr, warmupSteps, steps, finalLrFraction);
        }
    }

    /** What makes the run reproducible (seed, thread count) and how often it logs. */
    public record Execution(long seed, int threads, int logEvery) {}

    public static final TrainSettings DEFAULTS = new TrainSettings(
            new Locations(
                    null,
                    Path.of("data/corpora/train/train.jsonl"),
                    Path.of("data/demo-tokenizer"),
                    Path.of("data/corpora"),
                    null),
            new Shape(Architecture.LLAMA, 256, 6, 8, 4, 768, 1024, true),
            new Batches(256, 16),
            new Schedule(DEFAULT_STEPS, warmupFor(DEFAULT_STEPS), 2e-3, 0.1),
            Trainer.Hyper.DEFAULTS,
            new Execution(1234, DEFAULT_THREADS, 10));

    /** Default warm-up: a twentieth of the steps, at least one. */
    static int warmupFor(int steps) {
        return Math.max(1, steps / 20);
    }

    /** A builder starting from {@link #DEFAULTS}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Sets settings by name over {@link #DEFAULTS}. The warm-up follows the steps ({@link #warmupFor})
     * unless it is set.
     */
    public static final class Builder {
        private Path out = DEFAULTS.locations.out();
        private Path trainFile = DEFAULTS.locations.trainFile();
        private Path tokenizerDir = DEFAULTS.locations.tokenizerDir();
        private Path corpora = DEFAULTS.locations.corpora();
        private Path init = DEFAULTS.locations.init();
        private Shape shape = DEFAULTS.shape;
        private Batches batches = DEFAULTS.batches;
        private int steps = DEFAULTS.schedule.steps();
        private Integer warmupSteps; // null: warmupFor(steps)
        private double lr = DEFAULTS.schedule.lr();
        private double finalLrFraction = DEFAULTS.schedule.finalLrFraction();
        private Trainer.Hyper hyper = DEFAULTS.hyper;
        private Execution execution = DEFAULTS.execution;

        private Builder() {}

        public Builder out(Path v) {
            out = v;
            return this;
        }

        public Builder trainFile(Path v) {
            trainFile = v;
            return this;
        }

        public Builder tokenizerDir(Path v) {
            tokenizerDir = v;
            return this;
        }

        /** null: no held-out evaluation. */
        public Builder corpora(Path v) {
            corpora = v;
            return this;
        }

        /** null: a fresh initialisation. */
        public Builder init(Path v) {
            init = v;
            return this;
        }

        public Builder shape(Shape v) {
            shape = v;
            return this;
        }

        public Builder batches(Batches v) {
            batches = v;
            return this;
        }

        public Builder steps(int v) {
            steps = v;
            return this;
        }

        public Builder warmupSteps(int v) {
            warmupSteps = v;
            return this;
        }

        public Builder lr(double v) {
            lr = v;
            return this;
        }

        public Builder finalLrFraction(double v) {
            finalLrFraction = v;
            return this;
        }

        public Builder hyper(Trainer.Hyper v) {
            hyper = v;
            return this;
        }

        public Builder execution(Execution v) {
            execution = v;
            return this;
        }

        public TrainSettings build() {
            return new TrainSettings(
                    new Locations(out, trainFile, tokenizerDir, corpora, init),
                    shape,
                    batches,
                    new Schedule(steps, warmupSteps == null ? warmupFor(steps) : warmupSteps, lr, finalLrFraction),
                    hyper,
                    execution);
        }
    }
}
