package io.cusprun.train;

import io.cusprun.AtomicOutput;
import io.cusprun.Errors;
import io.cusprun.ExitCode;
import io.cusprun.engine.CpuRuntime;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
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
 * complete. Exit codes ({@link ExitCode}): 0, 1 (failure, one line naming the file), 2 (bad usage).
 *
 * <p>The parts: {@link TrainerCommandLine} (options → {@link TrainSettings}), {@link Trainer} (the
 * optimisation loop), {@link ModelFiles} (config, tokenizer and metadata of the directory),
 * {@link HeldOutEvaluation} and {@link ModelCard}.
 */
public final class DemoModelTrainer {

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
        TrainSettings s;
        try {
            CommandLine cl = TrainerCommandLine.parse(args);
            if (cl == null) {
                TrainerCommandLine.printHelp(out);
                return ExitCode.OK;
            }
            s = TrainerCommandLine.settings(cl);
        } catch (ParseException e) {
            err.println("train: " + e.getMessage());
            err.println("usage: " + TrainerCommandLine.USAGE);
            return ExitCode.USAGE;
        }
        String command = "mvn -B -q -DskipTests package && "
                + TrainerCommandLine.USAGE.replace(" --out DIR [options]", "") + " " + String.join(" ", args);
        try {
            new DemoModelTrainer(out).train(s, command);
            return ExitCode.OK;
        } catch (Exception e) {
            err.println("train: " + Errors.firstLine(e));
            return ExitCode.of(e);
        }
    }

    /** Trains, writes the model directory and its card. */
    public void train(TrainSettings s, String command) throws IOException {
        CpuRuntime.configure(); // first: it sets its own thread count, which this overrides
        torch.set_num_threads(s.execution().threads());
        TrainSettings.Locations where = s.locations();
        int context = s.batches().context();
        try (TextTokenizer tokenizer = TextTokenizer.load(where.tokenizerDir())) {
            ModelFiles.Vocabulary vocab = ModelFiles.Vocabulary.read(where.tokenizerDir());
            if (tokenizer.bosId() == null || tokenizer.eosIds().isEmpty()) {
                throw new IOException(where.tokenizerDir() + ": the tokenizer names no BOS or no EOS token");
            }
            long bos = tokenizer.bosId();
            long eos = tokenizer.eosIds().get(0);
            List<String> texts = TextCorpus.read(where.trainFile());
            PackedSequences data = new PackedSequences(TextCorpus.tokenize(texts, tokenizer, eos), context);
            log(
                    "corpus %s: %d documents, %d tokens, %d rows of %d",
                    where.trainFile(), data.numDocs(), data.numTokens(), data.numRows(), context);
            ModelConfig config = ModelFiles.config(s.shape(), vocab, bos, eos);
            CosineSchedule schedule = s.schedule().cosine();
            Path outDir = where.out().toAbsolutePath().normalize();
            AtomicOutput.writeDirectory(outDir, tmp -> {
                Trainer.Run run;
                Double fp32General = null;
                try (LlamaModel model = where.init() == null
                        ? LlamaModel.initialize(
                                config, LoadOptions.DEFAULTS, s.execution().seed())
                        : startFrom(where.init(), config)) {
                    try (Trainer trainer = new Trainer(model, s.hyper())) {
                        run = trainer.train(
                                data,
                                schedule,
                                s.batches().rows(),
                                s.execution().seed(),
                                s.execution().logEvery(),
                                line -> log("%s", line));
                    }
                    Path general =
                            where.corpora() == null ? null : where.corpora().resolve("general/heldout.jsonl");
                    if (general != null && Files.isRegularFile(general)) {
                        fp32General = new HeldOutEvaluation(model, tokenizer, context, context / 2)
                                .perplexity(general)
                                .perplexity();
                    }
                    model.save(tmp, DType.BF16, ModelFiles.metadata(s));
                }
                if (where.init() != null && Files.isRegularFile(where.init().resolve("MODEL_CARD.md"))) {
                    Files.copy(where.init().resolve("MODEL_CARD.md"), tmp.resolve("INIT_MODEL_CARD.md"));
                }
                ModelFiles.writeGenerationConfig(tmp, bos, eos, vocab.pad());
                ModelFiles.copyTokenizer(where.tokenizerDir(), tmp);
                ModelCard.Content.Builder card = ModelCard.Content.builder()
                        .settings(s)
                        .command(command)
                        .corpus(new ModelCard.Corpus(data.numDocs(), data.numTokens(), data.numRows()))
                        .run(run)
                        .fp32GeneralPerplexity(fp32General)
                        .checkpointBytes(Files.size(tmp.resolve("model.safetensors")));
                try (LlamaModel saved = LlamaModel.load(tmp);
                        TextTokenizer savedTokenizer = TextTokenizer.load(tmp);
                        PointerScope scope = new PointerScope()) {
                    if (where.corpora() != null) {
                        log(
                                "held-out evaluation of the bf16 checkpoint (windows of %d, stride %d):",
                                context, context / 2);
                        card.evaluation(new HeldOutEvaluation(saved, savedTokenizer, context, context / 2)
                                .run(where.corpora(), line -> log("  %s", line)));
                    }
                    Map<String, long[]> shapes = new LinkedHashMap<>();
                    saved.hfTensors().forEach((name, t) -> shapes.put(name, Tensors.shape(t)));
                    card.config(saved.config()).parameters(ModelCard.Parameters.of(shapes));
                }
                ModelCard.write(tmp.resolve("MODEL_CARD.md"), card.build());
            });
            log("wrote %s", outDir);
        }
    }

    /**
     * The weights of {@code dir}, fp32, for further training: its config must have the sizes this run
     * would initialise ({@link ModelFiles#checkInit}).
     */
    private LlamaModel startFrom(Path dir, ModelConfig expected) throws IOException {
        ModelFiles.checkInit(dir, expected);
        log("starting from the weights of %s", dir);
        return LlamaModel.load(dir);
    }

    private void log(String format, Object... args) {
        out.println(String.format(Locale.ROOT, format, args));
        out.flush();
    }
}
