package io.cusprun.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.AtomicOutput;
import io.cusprun.Json;
import io.cusprun.model.Architecture;
import io.cusprun.model.DType;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.Tensors;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.global.torch;

/**
 * Trains the bundled demo model: a small {@code LlamaForCausalLM} learnt from scratch (or, with
 * {@code --init}, continued from an earlier checkpoint) on {@code data/corpora/train/train.jsonl}
 * with the demo tokenizer, written as bf16 safetensors with its config, generation config, tokenizer
 * and a MODEL_CARD.md holding the held-out evaluation. The committed {@code data/demo-model} is the
 * defaults, from scratch (its card has the run):
 * <pre>
 * mvn -B -q -DskipTests package &amp;&amp; java -jar java/trainer/target/cusprun-trainer.jar --out data/demo-model
 * </pre>
 * The output directory is assembled under a temporary name beside it and renamed into place when
 * complete. Exit codes: 0, 1 (failure, one line naming the file), 2 (bad usage).
 */
public final class DemoModelTrainer {

    /**
     * Steps of the committed model's run: 1,000 steps of 16 rows of 256 tokens, 4.1 M tokens, which
     * took 44 min 45 s (1,525 tokens/s on average) on 2 idle cores; its card has the run.
     */
    public static final int DEFAULT_STEPS = 1000;

    /**
     * LibTorch intra-op threads by default: the two cores of the machine the committed model was
     * trained on. The result depends on the thread count (the order of floating-point sums), so a
     * run that should reproduce the committed bytes keeps two whatever the machine has.
     */
    public static final int DEFAULT_THREADS = 2;

    /** Everything a run depends on. */
    public record Settings(
            Path out,
            Path trainFile,
            Path tokenizerDir,
            Path corpora,
            int hidden,
            int layers,
            int heads,
            int kvHeads,
            int intermediate,
            int maxPositions,
            int context,
            int batchRows,
            int steps,
            int warmupSteps,
            double lr,
            double finalLrFraction,
            Trainer.Hyper hyper,
            long seed,
            int threads,
            int logEvery,
            Path init) {
        /**
         * The committed data/demo-model's run (less its --init), paths relative to the checkout; no output set.
         * Warm-up is a twentieth of the steps (the CLI recomputes it when --steps changes).
         */
        public static final Settings DEFAULTS = new Settings(
                null,
                Path.of("data/corpora/train/train.jsonl"),
                Path.of("data/demo-tokenizer"),
                Path.of("data/corpora"),
                256,
                6,
                8,
                4,
                768,
                1024,
                256,
                16,
                DEFAULT_STEPS,
                warmupFor(DEFAULT_STEPS),
                2e-3,
                0.1,
                Trainer.Hyper.DEFAULTS,
                1234,
                DEFAULT_THREADS,
                10,
                null);

        /** Start from this checkpoint's weights (same sizes) instead of a fresh initialisation; null: fresh. */
        public Settings withInit(Path v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    v);
        }

        public Settings withOut(Path v) {
            return new Settings(
                    v,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withTrainFile(Path v) {
            return new Settings(
                    out,
                    v,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withTokenizerDir(Path v) {
            return new Settings(
                    out,
                    trainFile,
                    v,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withCorpora(Path v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    v,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withHidden(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    v,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withLayers(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    v,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withHeads(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    v,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withKvHeads(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    v,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withIntermediate(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    v,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withMaxPositions(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    v,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withContext(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    v,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withBatchRows(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    v,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withSteps(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    v,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withWarmupSteps(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    v,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withLr(double v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    v,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withFinalLrFraction(double v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    v,
                    hyper,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withHyper(Trainer.Hyper v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    v,
                    seed,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withSeed(long v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    v,
                    threads,
                    logEvery,
                    init);
        }

        public Settings withThreads(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    v,
                    logEvery,
                    init);
        }

        public Settings withLogEvery(int v) {
            return new Settings(
                    out,
                    trainFile,
                    tokenizerDir,
                    corpora,
                    hidden,
                    layers,
                    heads,
                    kvHeads,
                    intermediate,
                    maxPositions,
                    context,
                    batchRows,
                    steps,
                    warmupSteps,
                    lr,
                    finalLrFraction,
                    hyper,
                    seed,
                    threads,
                    v,
                    init);
        }
    }

    /** Default warm-up: a twentieth of the steps, at least one. */
    static int warmupFor(int steps) {
        return Math.max(1, steps / 20);
    }

    static final String USAGE = "java -jar java/trainer/target/cusprun-trainer.jar --out DIR [options]";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PRODUCER = DemoModelTrainer.class.getName();

    private final PrintStream out;

    public DemoModelTrainer(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Parses, trains, writes; returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        Settings s;
        try {
            CommandLine cl = new DefaultParser().parse(options(), args);
            if (cl.hasOption("help")) {
                new HelpFormatter()
                        .printHelp(
                                new java.io.PrintWriter(out, true),
                                100,
                                USAGE,
                                "Trains the demo model (defaults: the committed data/demo-model).",
                                options(),
                                2,
                                2,
                                null,
                                false);
                return 0;
            }
            if (!cl.getArgList().isEmpty()) {
                throw new ParseException(
                        "unexpected argument " + cl.getArgList().get(0));
            }
            s = settings(cl);
        } catch (ParseException | IllegalArgumentException e) {
            err.println("train: " + e.getMessage());
            err.println("usage: " + USAGE);
            return 2;
        }
        String command = "mvn -B -q -DskipTests package && " + USAGE.replace(" --out DIR [options]", "") + " "
                + String.join(" ", args);
        try {
            new DemoModelTrainer(out).train(s, command);
            return 0;
        } catch (IOException e) {
            err.println("train: " + io.cusprun.Errors.describe(e));
            return 1;
        } catch (RuntimeException e) {
            String m = e.getMessage() == null
                    ? e.toString()
                    : e.getMessage().lines().findFirst().orElse("");
            err.println("train: " + m);
            return 1;
        }
    }

    static Options options() {
        Options o = new Options();
        o.addOption(opt("out", "DIR", "output model directory (required)"));
        o.addOption(opt(
                "train",
                "FILE",
                "training corpus, JSONL with \"text\" (default " + Settings.DEFAULTS.trainFile() + ")"));
        o.addOption(opt("tokenizer", "DIR", "tokenizer directory (default " + Settings.DEFAULTS.tokenizerDir() + ")"));
        o.addOption(opt(
                "corpora",
                "DIR",
                "corpora directory for the held-out evaluation (default " + Settings.DEFAULTS.corpora() + ")"));
        o.addOption(Option.builder()
                .longOpt("no-eval")
                .desc("skip the held-out evaluation")
                .build());
        o.addOption(opt(
                "init",
                "DIR",
                "start from this model directory's weights (a checkpoint of this trainer with the same sizes) instead"
                        + " of a fresh initialisation; its MODEL_CARD.md is kept as INIT_MODEL_CARD.md"));
        o.addOption(opt("steps", "N", "optimisation steps (default " + Settings.DEFAULTS.steps() + ")"));
        o.addOption(opt("batch", "N", "rows per step (default " + Settings.DEFAULTS.batchRows() + ")"));
        o.addOption(opt("context", "N", "tokens per row (default " + Settings.DEFAULTS.context() + ")"));
        o.addOption(opt("lr", "X", "peak learning rate (default " + Settings.DEFAULTS.lr() + ")"));
        o.addOption(opt("warmup", "N", "warm-up steps (default steps / 20)"));
        o.addOption(opt(
                "final-lr",
                "X",
                "final learning rate as a fraction of the peak (default " + Settings.DEFAULTS.finalLrFraction() + ")"));
        o.addOption(opt(
                "weight-decay",
                "X",
                "AdamW weight decay of matrices (default "
                        + Settings.DEFAULTS.hyper().weightDecay() + ")"));
        o.addOption(opt(
                "clip",
                "X",
                "gradient norm clipping (default " + Settings.DEFAULTS.hyper().gradClip() + ")"));
        o.addOption(opt("seed", "N", "random seed (default " + Settings.DEFAULTS.seed() + ")"));
        o.addOption(opt("threads", "N", "LibTorch threads (default " + Settings.DEFAULTS.threads() + ")"));
        o.addOption(opt("log-every", "N", "steps between log lines (default " + Settings.DEFAULTS.logEvery() + ")"));
        o.addOption(opt("hidden", "N", "hidden size (default " + Settings.DEFAULTS.hidden() + ")"));
        o.addOption(opt("layers", "N", "decoder layers (default " + Settings.DEFAULTS.layers() + ")"));
        o.addOption(opt("heads", "N", "attention heads (default " + Settings.DEFAULTS.heads() + ")"));
        o.addOption(opt("kv-heads", "N", "key/value heads (default " + Settings.DEFAULTS.kvHeads() + ")"));
        o.addOption(
                opt("intermediate", "N", "MLP intermediate size (default " + Settings.DEFAULTS.intermediate() + ")"));
        o.addOption(opt(
                "max-positions", "N", "max_position_embeddings (default " + Settings.DEFAULTS.maxPositions() + ")"));
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    private static Option opt(String name, String arg, String desc) {
        return Option.builder().longOpt(name).hasArg().argName(arg).desc(desc).build();
    }

    static Settings settings(CommandLine cl) throws ParseException {
        if (!cl.hasOption("out")) {
            throw new ParseException("--out is required");
        }
        Settings d = Settings.DEFAULTS;
        int steps = intOpt(cl, "steps", d.steps());
        Trainer.Hyper hyper = d.hyper()
                .withWeightDecay(doubleOpt(cl, "weight-decay", d.hyper().weightDecay()))
                .withGradClip(doubleOpt(cl, "clip", d.hyper().gradClip()));
        return d.withOut(Path.of(cl.getOptionValue("out")))
                .withTrainFile(cl.hasOption("train") ? Path.of(cl.getOptionValue("train")) : d.trainFile())
                .withTokenizerDir(
                        cl.hasOption("tokenizer") ? Path.of(cl.getOptionValue("tokenizer")) : d.tokenizerDir())
                .withCorpora(
                        cl.hasOption("no-eval")
                                ? null
                                : cl.hasOption("corpora") ? Path.of(cl.getOptionValue("corpora")) : d.corpora())
                .withHidden(intOpt(cl, "hidden", d.hidden()))
                .withLayers(intOpt(cl, "layers", d.layers()))
                .withHeads(intOpt(cl, "heads", d.heads()))
                .withKvHeads(intOpt(cl, "kv-heads", d.kvHeads()))
                .withIntermediate(intOpt(cl, "intermediate", d.intermediate()))
                .withMaxPositions(intOpt(cl, "max-positions", d.maxPositions()))
                .withContext(intOpt(cl, "context", d.context()))
                .withBatchRows(intOpt(cl, "batch", d.batchRows()))
                .withSteps(steps)
                .withWarmupSteps(cl.hasOption("warmup") ? intOpt(cl, "warmup", 0) : warmupFor(steps))
                .withLr(doubleOpt(cl, "lr", d.lr()))
                .withFinalLrFraction(doubleOpt(cl, "final-lr", d.finalLrFraction()))
                .withHyper(hyper)
                .withSeed(intOpt(cl, "seed", (int) d.seed()))
                .withThreads(intOpt(cl, "threads", d.threads()))
                .withLogEvery(intOpt(cl, "log-every", d.logEvery()))
                .withInit(cl.hasOption("init") ? Path.of(cl.getOptionValue("init")) : null);
    }

    private static int intOpt(CommandLine cl, String name, int def) throws ParseException {
        String v = cl.getOptionValue(name);
        if (v == null) {
            return def;
        }
        try {
            int n = Integer.parseInt(v);
            if (n > 0 || (n == 0 && name.equals("warmup"))) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new ParseException("--" + name + " needs a positive integer, not '" + v + "'");
    }

    private static double doubleOpt(CommandLine cl, String name, double def) throws ParseException {
        String v = cl.getOptionValue(name);
        if (v == null) {
            return def;
        }
        try {
            double x = Double.parseDouble(v);
            if (x >= 0 && Double.isFinite(x)) {
                return x;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new ParseException("--" + name + " needs a non-negative number, not '" + v + "'");
    }

    /** The demo model's config.json: a plain Llama with the settings' sizes and the tokenizer's vocabulary. */
    static ModelConfig config(Settings s, int vocabSize, long bos, long eos, Long pad) {
        if (s.heads() == 0 || s.hidden() % s.heads() != 0) {
            throw new IllegalArgumentException("--hidden " + s.hidden() + " is not a multiple of --heads " + s.heads());
        }
        ModelConfig.Builder c = ModelConfig.builder(
                        Architecture.LLAMA, vocabSize, s.hidden(), s.intermediate(), s.layers(), s.heads(), s.kvHeads())
                .headDim(s.hidden() / s.heads())
                .hiddenAct("silu")
                .maxPositionEmbeddings(s.maxPositions())
                .rmsNormEps(1e-5)
                .ropeTheta(10000.0)
                .attentionBias(false)
                .extra("attention_dropout", 0.0)
                .mlpBias(false)
                .extra("initializer_range", 0.02)
                .tieWordEmbeddings(true)
                .bosTokenId(bos)
                .eosTokenIds(eos);
        if (pad != null) {
            c.padTokenId(pad);
        }
        return c.extra("use_cache", true).torchDtype(DType.F32).build();
    }

    /** Trains, writes the model directory and its card. */
    public void train(Settings s, String command) throws IOException {
        io.cusprun.engine.CpuRuntime.configure(); // first: it sets its own thread count, which this overrides
        torch.set_num_threads(s.threads());
        try (TextTokenizer tokenizer = TextTokenizer.load(s.tokenizerDir())) {
            Vocabulary vocab = Vocabulary.read(s.tokenizerDir());
            if (tokenizer.bosId() == null || tokenizer.eosIds().isEmpty()) {
                throw new IOException(s.tokenizerDir() + ": the tokenizer names no BOS or no EOS token");
            }
            long bos = tokenizer.bosId();
            long eos = tokenizer.eosIds().get(0);
            List<String> texts = TextCorpus.read(s.trainFile());
            PackedSequences data = new PackedSequences(TextCorpus.tokenize(texts, tokenizer, eos), s.context());
            log(
                    "corpus %s: %d documents, %d tokens, %d rows of %d",
                    s.trainFile(), data.numDocs(), data.numTokens(), data.numRows(), s.context());
            ModelConfig config = config(s, vocab.size(), bos, eos, vocab.pad());
            CosineSchedule schedule = new CosineSchedule(s.lr(), s.warmupSteps(), s.steps(), s.finalLrFraction());
            Path out = s.out().toAbsolutePath().normalize();
            AtomicOutput.writeDirectory(out, tmp -> {
                Run run;
                Double fp32General = null;
                try (LlamaModel model = s.init() == null
                        ? LlamaModel.initialize(config, LoadOptions.DEFAULTS, s.seed())
                        : startFrom(s.init(), config)) {
                    run = optimise(model, data, schedule, s);
                    Path general = s.corpora() == null ? null : s.corpora().resolve("general/heldout.jsonl");
                    if (general != null && Files.isRegularFile(general)) {
                        fp32General = new HeldOutEvaluation(model, tokenizer, s.context(), s.context() / 2)
                                .perplexity(general)
                                .perplexity();
                    }
                    model.save(tmp, DType.BF16, metadata(s));
                }
                if (s.init() != null && Files.isRegularFile(s.init().resolve("MODEL_CARD.md"))) {
                    Files.copy(s.init().resolve("MODEL_CARD.md"), tmp.resolve("INIT_MODEL_CARD.md"));
                }
                writeGenerationConfig(tmp, bos, eos, vocab.pad());
                copyTokenizer(s.tokenizerDir(), tmp);
                HeldOutEvaluation.Results results = null;
                ModelCard.Content card;
                try (LlamaModel saved = LlamaModel.load(tmp);
                        TextTokenizer savedTokenizer = TextTokenizer.load(tmp);
                        PointerScope scope = new PointerScope()) {
                    if (s.corpora() != null) {
                        log(
                                "held-out evaluation of the bf16 checkpoint (windows of %d, stride %d):",
                                s.context(), s.context() / 2);
                        results = new HeldOutEvaluation(saved, savedTokenizer, s.context(), s.context() / 2)
                                .run(s.corpora(), line -> log("  %s", line));
                    }
                    Map<String, long[]> shapes = new LinkedHashMap<>();
                    saved.hfTensors().forEach((name, t) -> shapes.put(name, Tensors.shape(t)));
                    card = new ModelCard.Content(
                            saved.config(),
                            ModelCard.Parameters.of(shapes),
                            Files.size(tmp.resolve("model.safetensors")),
                            s.trainFile(),
                            data.numDocs(),
                            data.numTokens(),
                            data.numRows(),
                            s.context(),
                            s.batchRows(),
                            s.steps(),
                            schedule,
                            s.hyper(),
                            s.seed(),
                            s.threads(),
                            run.seconds(),
                            run.tokensPerSecond(),
                            run.firstMinuteTokensPerSecond(),
                            run.curve(),
                            run.finalLoss(),
                            run.finalLossSteps(),
                            fp32General,
                            results,
                            command,
                            s.init());
                }
                ModelCard.write(tmp.resolve("MODEL_CARD.md"), card);
            });
            log("wrote %s", out);
        }
    }

    /**
     * The weights of {@code dir}, fp32, for further training: its config must have the sizes this run
     * would initialise (vocabulary, hidden, layers, heads, MLP, positions).
     */
    private LlamaModel startFrom(Path dir, ModelConfig expected) throws IOException {
        ModelConfig c = ModelConfig.read(dir);
        String[][] pairs = {
            {"vocab_size", c.vocabSize() + "", expected.vocabSize() + ""},
            {"hidden_size", c.hiddenSize() + "", expected.hiddenSize() + ""},
            {"intermediate_size", c.intermediateSize() + "", expected.intermediateSize() + ""},
            {"num_hidden_layers", c.numHiddenLayers() + "", expected.numHiddenLayers() + ""},
            {"num_attention_heads", c.numAttentionHeads() + "", expected.numAttentionHeads() + ""},
            {"num_key_value_heads", c.numKeyValueHeads() + "", expected.numKeyValueHeads() + ""},
            {"max_position_embeddings", c.maxPositionEmbeddings() + "", expected.maxPositionEmbeddings() + ""},
            {"tie_word_embeddings", c.tieWordEmbeddings() + "", expected.tieWordEmbeddings() + ""}
        };
        for (String[] p : pairs) {
            if (!p[1].equals(p[2])) {
                throw new IOException(
                        dir.resolve("config.json") + ": --init needs " + p[0] + " " + p[2] + ", not " + p[1]);
            }
        }
        log("starting from the weights of %s", dir);
        return LlamaModel.load(dir);
    }

    private static Map<String, String> metadata(Settings s) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("producer", PRODUCER);
        meta.put("step", Integer.toString(s.steps()));
        meta.put("seed", Long.toString(s.seed()));
        meta.put("train_file", s.trainFile().toString());
        if (s.init() != null) {
            meta.put("init", s.init().toString());
        }
        return meta;
    }

    /** What the optimisation loop reports. */
    record Run(
            double seconds,
            double tokensPerSecond,
            double firstMinuteTokensPerSecond,
            List<ModelCard.LossPoint> curve,
            double finalLoss,
            int finalLossSteps) {}

    private Run optimise(LlamaModel model, PackedSequences data, CosineSchedule schedule, Settings s) {
        Random random = new Random(s.seed());
        int[] order = permutation(data.numRows(), random);
        int next = 0;
        double[] losses = new double[s.steps()];
        List<ModelCard.LossPoint> curve = new ArrayList<>();
        int curveEvery = Math.max(1, s.steps() / 12);
        long tokensPerStep = (long) s.batchRows() * s.context();
        long start = System.nanoTime();
        double firstMinuteRate = 0;
        try (Trainer trainer = new Trainer(model, s.hyper())) {
            log(
                    "model: %d parameters; %d steps of %d rows x %d tokens, peak lr %s, warm-up %d, %d threads",
                    trainer.numParameters(),
                    s.steps(),
                    s.batchRows(),
                    s.context(),
                    s.lr(),
                    s.warmupSteps(),
                    s.threads());
            for (int step = 0; step < s.steps(); step++) {
                int[] rows = new int[s.batchRows()];
                for (int i = 0; i < rows.length; i++) {
                    if (next == order.length) {
                        order = permutation(data.numRows(), random);
                        next = 0;
                    }
                    rows[i] = order[next++];
                }
                Trainer.StepResult r = trainer.step(data.rows(rows), schedule.at(step));
                if (!Double.isFinite(r.loss())) {
                    throw new IllegalStateException("loss is " + r.loss() + " at step " + (step + 1));
                }
                losses[step] = r.loss();
                double elapsed = (System.nanoTime() - start) / 1e9;
                int done = step + 1;
                double rate = tokensPerStep * done / elapsed;
                if (firstMinuteRate == 0 && (elapsed >= 60 || done == s.steps())) {
                    firstMinuteRate = rate;
                    log(
                            "measured %.0f tokens/s over the first %d steps (%.1f s): %d steps take about %s",
                            rate, done, elapsed, s.steps(), ModelCard.duration(elapsed / done * s.steps()));
                }
                if (done % s.logEvery() == 0 || done == s.steps() || done == 1) {
                    log(
                            "step %5d/%d  loss %.4f  lr %.2e  |g| %.3f  %.0f tok/s  elapsed %s  ETA %s",
                            done,
                            s.steps(),
                            r.loss(),
                            r.lr(),
                            r.gradNorm(),
                            rate,
                            ModelCard.duration(elapsed),
                            ModelCard.duration(elapsed / done * (s.steps() - done)));
                }
                if (done % curveEvery == 0 || done == s.steps()) {
                    int from = curve.isEmpty() ? 0 : curve.get(curve.size() - 1).step();
                    curve.add(new ModelCard.LossPoint(done, mean(losses, from, done), r.lr()));
                }
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int last = Math.max(1, Math.min(50, s.steps() / 10));
        double finalLoss = mean(losses, s.steps() - last, s.steps());
        log(
                "trained %d steps in %s; final training loss %.4f (mean of the last %d steps)",
                s.steps(), ModelCard.duration(seconds), finalLoss, last);
        return new Run(seconds, tokensPerStep * s.steps() / seconds, firstMinuteRate, curve, finalLoss, last);
    }

    private static double mean(double[] v, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += v[i];
        }
        return sum / (to - from);
    }

    private static int[] permutation(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** The tokenizer's id space (the largest id in tokenizer.json, plus one) and its padding token. */
    record Vocabulary(int size, Long pad) {

        static Vocabulary read(Path dir) throws IOException {
            Path file = dir.resolve(TextTokenizer.FILE_NAME);
            JsonNode tok = Json.read(file);
            long max = -1;
            Map<String, Long> ids = new LinkedHashMap<>();
            for (JsonNode t : tok.path("added_tokens")) {
                max = Math.max(max, t.path("id").asLong());
                ids.put(t.path("content").asText(), t.path("id").asLong());
            }
            var fields = tok.path("model").path("vocab").fields();
            while (fields.hasNext()) {
                var e = fields.next();
                max = Math.max(max, e.getValue().asLong());
                ids.putIfAbsent(e.getKey(), e.getValue().asLong());
            }
            if (max < 0) {
                throw new IOException(file + ": no vocabulary (model.vocab) found");
            }
            Path configFile = dir.resolve("tokenizer_config.json");
            Long pad = null;
            if (Files.isRegularFile(configFile)) {
                JsonNode padToken = Json.read(configFile).get("pad_token");
                if (padToken != null && padToken.isTextual()) {
                    pad = ids.get(padToken.asText());
                }
            }
            return new Vocabulary(Math.toIntExact(max + 1), pad);
        }
    }

    private static void writeGenerationConfig(Path dir, long bos, long eos, Long pad) throws IOException {
        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", bos);
        g.put("eos_token_id", eos);
        if (pad != null) {
            g.put("pad_token_id", pad);
        }
        Files.writeString(
                dir.resolve("generation_config.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(g) + "\n");
    }

    /** Copies the tokenizer's files (tokenizer.json, tokenizer_config.json, special_tokens_map.json, ...). */
    private static void copyTokenizer(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private void log(String format, Object... args) {
        out.println(String.format(Locale.ROOT, format, args));
        out.flush();
    }
}
