package io.cusprun.train;

import io.cusprun.model.Architecture;
import io.cusprun.options.StrictOptions;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

/** The trainer's options: its help and the {@link TrainSettings} they give. */
final class TrainerCommandLine {

    static final String USAGE = "java -jar java/trainer/target/cusprun-trainer.jar --out DIR [options]";

    private TrainerCommandLine() {}

    static Options options() {
        TrainSettings d = TrainSettings.DEFAULTS;
        Options o = new Options();
        o.addOption(opt("out", "DIR", "output model directory (required)"));
        o.addOption(opt(
                "train",
                "FILE",
                "training corpus, JSONL with \"text\" (default " + d.locations().trainFile() + ")"));
        o.addOption(opt(
                "tokenizer",
                "DIR",
                "tokenizer directory (default " + d.locations().tokenizerDir() + ")"));
        o.addOption(opt(
                "corpora",
                "DIR",
                "corpora directory for the held-out evaluation (default "
                        + d.locations().corpora() + ")"));
        o.addOption(Option.builder()
                .longOpt("no-eval")
                .desc("skip the held-out evaluation")
                .build());
        o.addOption(opt(
                "init",
                "DIR",
                "start from this model directory's weights (a checkpoint of this trainer with the same sizes) instead"
                        + " of a fresh initialisation; its MODEL_CARD.md is kept as INIT_MODEL_CARD.md"));
        o.addOption(
                opt("steps", "N", "optimisation steps (default " + d.schedule().steps() + ")"));
        o.addOption(opt("batch", "N", "rows per step (default " + d.batches().rows() + ")"));
        o.addOption(opt("context", "N", "tokens per row (default " + d.batches().context() + ")"));
        o.addOption(opt("lr", "X", "peak learning rate (default " + d.schedule().lr() + ")"));
        o.addOption(opt("warmup", "N", "warm-up steps (default steps / 20)"));
        o.addOption(opt(
                "final-lr",
                "X",
                "final learning rate as a fraction of the peak (default "
                        + d.schedule().finalLrFraction() + ")"));
        o.addOption(opt(
                "weight-decay",
                "X",
                "AdamW weight decay of matrices (default " + d.hyper().weightDecay() + ")"));
        o.addOption(
                opt("clip", "X", "gradient norm clipping (default " + d.hyper().gradClip() + ")"));
        o.addOption(opt("seed", "N", "random seed (default " + d.execution().seed() + ")"));
        o.addOption(
                opt("threads", "N", "LibTorch threads (default " + d.execution().threads() + ")"));
        o.addOption(opt(
                "log-every",
                "N",
                "steps between log lines (default " + d.execution().logEvery() + ")"));
        o.addOption(opt(
                "architecture",
                "NAME",
                "model family: llama (no biases) or qwen2 (q/k/v biases) (default "
                        + d.shape().architecture().modelType() + ")"));
        o.addOption(Option.builder()
                .longOpt("untied-embeddings")
                .desc("give lm_head weights of its own instead of sharing the embedding's")
                .build());
        o.addOption(opt("hidden", "N", "hidden size (default " + d.shape().hidden() + ")"));
        o.addOption(opt("layers", "N", "decoder layers (default " + d.shape().layers() + ")"));
        o.addOption(opt("heads", "N", "attention heads (default " + d.shape().heads() + ")"));
        o.addOption(opt("kv-heads", "N", "key/value heads (default " + d.shape().kvHeads() + ")"));
        o.addOption(opt(
                "intermediate",
                "N",
                "MLP intermediate size (default " + d.shape().intermediate() + ")"));
        o.addOption(opt(
                "max-positions",
                "N",
                "max_position_embeddings (default " + d.shape().maxPositions() + ")"));
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    private static Option opt(String name, String arg, String desc) {
        return Option.builder().longOpt(name).hasArg().argName(arg).desc(desc).build();
    }

    /** Parses {@code args} strictly (full option names, suggestions for typos); null when they ask for help. */
    static CommandLine parse(String[] args) throws ParseException {
        CommandLine cl = StrictOptions.parse(options(), args, false, "--help");
        return cl.hasOption("help") ? null : cl;
    }

    @SuppressWarnings("deprecation") // the classic formatter prints the compact layout the CLI uses too
    static void printHelp(PrintStream out) {
        new HelpFormatter()
                .printHelp(
                        new PrintWriter(out, true),
                        100,
                        USAGE,
                        "Trains the demo model (defaults: the committed data/demo-model).",
                        options(),
                        2,
                        2,
                        null,
                        false);
    }

    /** The settings the options give, over {@link TrainSettings#DEFAULTS}. */
    static TrainSettings settings(CommandLine cl) throws ParseException {
        if (!cl.hasOption("out")) {
            throw new ParseException("--out is required");
        }
        TrainSettings d = TrainSettings.DEFAULTS;
        TrainSettings.Builder b = TrainSettings.builder()
                .out(Path.of(cl.getOptionValue("out")))
                .trainFile(path(cl, "train", d.locations().trainFile()))
                .tokenizerDir(path(cl, "tokenizer", d.locations().tokenizerDir()))
                .corpora(
                        cl.hasOption("no-eval")
                                ? null
                                : path(cl, "corpora", d.locations().corpora()))
                .init(path(cl, "init", null))
                .shape(new TrainSettings.Shape(
                        architecture(cl, d.shape().architecture()),
                        intOpt(cl, "hidden", d.shape().hidden()),
                        intOpt(cl, "layers", d.shape().layers()),
                        intOpt(cl, "heads", d.shape().heads()),
                        intOpt(cl, "kv-heads", d.shape().kvHeads()),
                        intOpt(cl, "intermediate", d.shape().intermediate()),
                        intOpt(cl, "max-positions", d.shape().maxPositions()),
                        d.shape().tiedEmbeddings() && !cl.hasOption("untied-embeddings")))
                .batches(new TrainSettings.Batches(
                        intOpt(cl, "context", d.batches().context()),
                        intOpt(cl, "batch", d.batches().rows())))
                .steps(intOpt(cl, "steps", d.schedule().steps()))
                .lr(doubleOpt(cl, "lr", d.schedule().lr()))
                .finalLrFraction(doubleOpt(cl, "final-lr", d.schedule().finalLrFraction()))
                .hyper(d.hyper()
                        .withWeightDecay(doubleOpt(cl, "weight-decay", d.hyper().weightDecay()))
                        .withGradClip(doubleOpt(cl, "clip", d.hyper().gradClip())))
                .execution(new TrainSettings.Execution(
                        intOpt(cl, "seed", (int) d.execution().seed()),
                        intOpt(cl, "threads", d.execution().threads()),
                        intOpt(cl, "log-every", d.execution().logEvery())));
        if (cl.hasOption("warmup")) {
            b.warmupSteps(intOpt(cl, "warmup", 0, 0));
        }
        return b.build();
    }

    private static Architecture architecture(CommandLine cl, Architecture def) throws ParseException {
        String v = cl.getOptionValue("architecture");
        if (v == null) {
            return def;
        }
        Architecture a = Architecture.byModelType(v);
        if (a != Architecture.LLAMA && a != Architecture.QWEN2) {
            throw new ParseException("--architecture needs llama or qwen2, not '" + v + "'");
        }
        return a;
    }

    private static Path path(CommandLine cl, String name, Path def) {
        return cl.hasOption(name) ? Path.of(cl.getOptionValue(name)) : def;
    }

    private static int intOpt(CommandLine cl, String name, int def) throws ParseException {
        return intOpt(cl, name, def, 1);
    }

    private static int intOpt(CommandLine cl, String name, int def, int min) throws ParseException {
        String v = cl.getOptionValue(name);
        if (v == null) {
            return def;
        }
        try {
            int n = Integer.parseInt(v);
            if (n >= min) {
                return n;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw new ParseException(
                "--" + name + " needs " + (min > 0 ? "a positive" : "a non-negative") + " integer, not '" + v + "'");
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
}
