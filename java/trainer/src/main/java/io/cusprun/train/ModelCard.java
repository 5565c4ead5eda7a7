package io.cusprun.train;

import io.cusprun.model.Architecture;
import io.cusprun.model.ModelConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/** MODEL_CARD.md of a model made by {@link DemoModelTrainer}: what it is, how it was made, how well it does. */
public final class ModelCard {

    /** Parameter counts by part, from the checkpoint's tensor shapes. */
    public record Parameters(long embedding, long attention, long mlp, long norms, long lmHead) {

        public static Parameters of(Map<String, long[]> shapes) {
            long emb = 0;
            long attn = 0;
            long mlp = 0;
            long norms = 0;
            long head = 0;
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                long n = 1;
                for (long d : e.getValue()) {
                    n *= d;
                }
                String name = e.getKey();
                if (name.equals("model.embed_tokens.weight")) {
                    emb += n;
                } else if (name.equals("lm_head.weight")) {
                    head += n;
                } else if (name.contains(".self_attn.")) {
                    attn += n;
                } else if (name.contains(".mlp.")) {
                    mlp += n;
                } else {
                    norms += n;
                }
            }
            return new Parameters(emb, attn, mlp, norms, head);
        }

        public long total() {
            return embedding + attention + mlp + norms + lmHead;
        }
    }

    /** One point of the training curve: mean loss of the steps (from, to]. */
    public record LossPoint(int step, double loss, double lr) {}

    /** The training corpus as packed: documents, tokens and rows of the run's context. */
    public record Corpus(int documents, long tokens, int rows) {}

    /**
     * Everything the card reports: the model, the run's settings and command, the corpus, the
     * optimisation and the evaluations. Built by name with {@link #builder()}.
     *
     * @param fp32GeneralPerplexity the general held-out set's perplexity before rounding to bf16; null: not measured
     * @param evaluation            the held-out evaluation of the bf16 checkpoint; null: none
     */
    public record Content(
            ModelConfig config,
            Parameters parameters,
            long checkpointBytes,
            TrainSettings settings,
            String command,
            Corpus corpus,
            Trainer.Run run,
            Double fp32GeneralPerplexity,
            HeldOutEvaluation.Results evaluation) {

        public static Builder builder() {
            return new Builder();
        }

        /** Sets the card's parts by name; {@link #build()} refuses a card without its required parts. */
        public static final class Builder {
            private ModelConfig config;
            private Parameters parameters;
            private long checkpointBytes = -1;
            private TrainSettings settings;
            private String command;
            private Corpus corpus;
            private Trainer.Run run;
            private Double fp32GeneralPerplexity;
            private HeldOutEvaluation.Results evaluation;

            private Builder() {}

            /** The config of the checkpoint as written. */
            public Builder config(ModelConfig v) {
                config = v;
                return this;
            }

            public Builder parameters(Parameters v) {
                parameters = v;
                return this;
            }

            /** Size of model.safetensors. */
            public Builder checkpointBytes(long v) {
                checkpointBytes = v;
                return this;
            }

            public Builder settings(TrainSettings v) {
                settings = v;
                return this;
            }

            /** The command that reproduces the run. */
            public Builder command(String v) {
                command = v;
                return this;
            }

            public Builder corpus(Corpus v) {
                corpus = v;
                return this;
            }

            public Builder run(Trainer.Run v) {
                run = v;
                return this;
            }

            public Builder fp32GeneralPerplexity(Double v) {
                fp32GeneralPerplexity = v;
                return this;
            }

            public Builder evaluation(HeldOutEvaluation.Results v) {
                evaluation = v;
                return this;
            }

            public Content build() {
                if (config == null
                        || parameters == null
                        || checkpointBytes < 0
                        || settings == null
                        || command == null
                        || corpus == null
                        || run == null) {
                    throw new IllegalStateException(
                            "a model card needs config, parameters, checkpointBytes, settings, command, corpus and run");
                }
                return new Content(
                        config,
                        parameters,
                        checkpointBytes,
                        settings,
                        command,
                        corpus,
                        run,
                        fp32GeneralPerplexity,
                        evaluation);
            }
        }
    }

    private ModelCard() {}

    public static void write(Path file, Content c) throws IOException {
        Files.writeString(file, markdown(c), StandardCharsets.UTF_8);
    }

    public static String markdown(Content c) {
        ModelConfig m = c.config();
        Parameters p = c.parameters();
        TrainSettings s = c.settings();
        CosineSchedule schedule = s.schedule().cosine();
        Trainer.Run run = c.run();
        StringBuilder b = new StringBuilder();
        line(b, m.architecture() == Architecture.QWEN2 ? "# cusprun demo model, Qwen2 layout" : "# cusprun demo model");
        line(b, "");
        line(
                b,
                "A small %s-architecture model (%s parameters) trained %s by cusprun's own trainer",
                m.architecture() == Architecture.QWEN2 ? "Qwen2" : "Llama",
                millions(p.total()),
                s.locations().init() == null
                        ? "from scratch"
                        : "further from an earlier checkpoint (`INIT_MODEL_CARD.md`)");
        line(b, "(`io.cusprun.train.DemoModelTrainer`, Java + LibTorch through JavaCPP, on the CPU) on the bundled");
        line(
                b,
                "demo corpora: man pages and fortunes in eight languages (en, de, fr, es, it, ru, pl, zh). It exists so that cusprun has a real,");
        line(b, "multilingual checkpoint to score, prune and evaluate in tests and demos, with a known origin. It is");
        line(b, "a toy: fluent-looking fragments at best, no knowledge to speak of.");
        line(b, "");
        line(b, "## Architecture");
        line(b, "");
        line(b, "| | |");
        line(b, "|---|---|");
        line(
                b,
                "| architecture | `%s`, a stock HF checkpoint (no cusprun extensions) |",
                m.architecture().hfName());
        line(
                b,
                "| vocabulary | %d (byte-level BPE, `tokenizer.json`; BOS id %d, EOS id %d) |",
                m.vocabSize(),
                m.bosTokenId(),
                m.eosTokenIds().get(0));
        line(b, "| hidden size | %d |", m.hiddenSize());
        line(b, "| layers | %d |", m.numHiddenLayers());
        line(
                b,
                "| attention | %d query heads, %d key/value heads (GQA), head size %d |",
                m.numAttentionHeads(),
                m.numKeyValueHeads(),
                m.headDim());
        line(b, "| MLP | SwiGLU, intermediate size %d |", m.intermediateSize());
        line(
                b,
                "| positions | RoPE, theta %s; max_position_embeddings %d; **trained on %d-token windows** |",
                plain(m.ropeTheta()),
                m.maxPositionEmbeddings(),
                s.batches().context());
        line(b, "| norm | RMSNorm, eps %s |", plain(m.rmsNormEps()));
        line(b, "| embeddings | tied (lm_head = embed_tokens): %b |", m.tieWordEmbeddings());
        line(
                b,
                "| weights | `model.safetensors`, %s, %s bytes |",
                m.torchDtype().torchName(),
                group(c.checkpointBytes()));
        line(b, "");
        line(
                b,
                "Parameters: %s in total = embedding %s%s + attention %s + MLP %s + norms %s%s;",
                group(p.total()),
                group(p.embedding()),
                p.lmHead() > 0 ? "" : " (shared with lm_head)",
                group(p.attention()),
                group(p.mlp()),
                group(p.norms()),
                p.lmHead() > 0 ? " + lm_head " + group(p.lmHead()) : "");
        line(
                b,
                "%s in the decoder blocks (per layer: attention %s, MLP %s).",
                group(p.attention() + p.mlp() + p.norms()),
                group(p.attention() / m.numHiddenLayers()),
                group(p.mlp() / m.numHiddenLayers()));
        line(b, "");
        line(b, "## Data");
        line(b, "");
        boolean bundled = s.locations().trainFile().normalize().endsWith(Path.of("corpora", "train", "train.jsonl"));
        line(
                b,
                "Trained on `%s` only: %s documents%s, each encoded as `<|bos|>` + text + `<|eos|>`: %s tokens. The",
                s.locations().trainFile(),
                group(c.corpus().documents()),
                bundled
                        ? " (every `score` split of the corpora and the other documents of their score manual pages,"
                                + " see `data/corpora/train/README.md`)"
                        : "",
                group(c.corpus().tokens()));
        line(
                b,
                "documents are laid end to end and cut into %s rows of %d tokens; inside a row each document (or",
                group(c.corpus().rows()),
                s.batches().context());
        line(b, "piece of one) attends only to itself and its positions start at 0, as when a document is scored");
        line(b, "alone; the next document's `<|bos|>` is not a target. No `heldout.jsonl` split and nothing in");
        line(b, "`data/corpora/eval/` was read during training: they are used below for evaluation only.");
        line(b, "");
        line(b, "## Training");
        line(b, "");
        long perStep = (long) s.batches().rows() * s.batches().context();
        line(b, "| | |");
        line(b, "|---|---|");
        line(
                b,
                "| steps | %d, %d rows x %d tokens = %s tokens per step |",
                s.schedule().steps(),
                s.batches().rows(),
                s.batches().context(),
                group(perStep));
        line(
                b,
                "| tokens seen | %s (%.2f epochs) |",
                group(perStep * s.schedule().steps()),
                (double) s.batches().rows() * s.schedule().steps() / c.corpus().rows());
        line(
                b,
                "| optimiser | LibTorch AdamW, betas (%s, %s), eps %s, weight decay %s on matrices (embedding included), none on norms |",
                plain(s.hyper().beta1()),
                plain(s.hyper().beta2()),
                plain(s.hyper().eps()),
                plain(s.hyper().weightDecay()));
        line(
                b,
                "| learning rate | peak %s, linear warm-up over %d steps, cosine decay to %s |",
                plain(schedule.peak()),
                schedule.warmupSteps(),
                plain(schedule.peak() * schedule.finalFraction()));
        line(b, "| gradient clipping | global L2 norm %s |", plain(s.hyper().gradClip()));
        line(b, "| precision | fp32 training; weights rounded to bf16 (nearest even) when written |");
        if (s.locations().init() == null) {
            line(
                    b,
                    "| initialisation | as HF initialises it: N(0, 0.02^2) matrices and embeddings, biases 0, RMSNorm weights 1; seed %d |",
                    s.execution().seed());
        } else {
            line(
                    b,
                    "| initialisation | the weights of `%s` (`--init`; its card is `INIT_MODEL_CARD.md` here); data order seed %d |",
                    s.locations().init(),
                    s.execution().seed());
        }
        line(
                b,
                "| hardware | CPU (%s, %d cores), %d LibTorch thread(s) |",
                cpuName(),
                Runtime.getRuntime().availableProcessors(),
                s.execution().threads());
        line(
                b,
                "| time | %s wall, %s tokens/s on average (%s tokens/s over the first minute) |",
                duration(run.seconds()),
                group(Math.round(run.tokensPerSecond())),
                group(Math.round(run.firstMinuteTokensPerSecond())));
        line(
                b,
                "| final training loss | %.4f (mean over the last %d steps; perplexity %.2f) |",
                run.finalLoss(),
                run.finalLossSteps(),
                Math.exp(run.finalLoss()));
        line(b, "");
        line(b, "Training loss (mean over the steps since the previous row):");
        line(b, "");
        line(b, "| step | loss | learning rate |");
        line(b, "|---:|---:|---:|");
        for (LossPoint lp : run.curve()) {
            line(b, "| %d | %.4f | %.2e |", lp.step(), lp.loss(), lp.lr());
        }
        line(b, "");
        HeldOutEvaluation.Results e = c.evaluation();
        if (e != null) {
            line(b, "## Held-out evaluation");
            line(b, "");
            line(b, "Measured on the bf16 checkpoint as committed, loaded with `LlamaModel.load` (fp32 compute), with");
            line(
                    b,
                    "`io.cusprun.eval.Perplexity`: each document encoded with `<|bos|>` (no `<|eos|>`), windows of %d",
                    e.maxLength());
            line(
                    b,
                    "tokens every %d tokens (every token scored once, the first of a document never). nll and perplexity",
                    e.stride());
            line(
                    b,
                    "are per token of this tokenizer; bits per character (the summed nll over the documents' characters,");
            line(b, "in bits) does not depend on the tokenizer and compares languages.");
            line(b, "");
            line(
                    b,
                    "| set | documents | tokens scored | characters per token | nll | perplexity | bits per character |");
            line(b, "|---|---:|---:|---:|---:|---:|---:|");
            for (HeldOutEvaluation.PerplexityRow r : e.perplexity()) {
                line(
                        b,
                        "| %s | %d | %s | %.2f | %.4f | %.2f | %.3f |",
                        r.name(),
                        r.documents(),
                        group(r.result().tokens()),
                        (double) r.characters() / r.result().tokens(),
                        r.result().nll(),
                        r.result().perplexity(),
                        r.bitsPerCharacter());
            }
            line(b, "");
            if (c.fp32GeneralPerplexity() != null) {
                line(
                        b,
                        "The same `general` set with the fp32 weights before rounding to bf16: perplexity %.2f.",
                        c.fp32GeneralPerplexity());
                line(b, "");
            }
            if (!e.choices().isEmpty()) {
                line(
                        b,
                        "Multiple choice (lm-evaluation-harness rules, `io.cusprun.eval.MultipleChoice`; chance is 1 / choices):");
                line(b, "");
                line(b, "| set | items | acc | acc_norm |");
                line(b, "|---|---:|---:|---:|");
                for (HeldOutEvaluation.ChoiceRow r : e.choices()) {
                    line(
                            b,
                            "| %s | %d | %.4f | %.4f |",
                            r.name(),
                            r.result().n(),
                            r.result().acc(),
                            r.result().accNorm());
                }
                line(b, "");
            }
        }
        line(b, "## Reproduce");
        line(b, "");
        line(b, "From the repository root (deterministic for the same seed, thread count and LibTorch build; the");
        line(
                b,
                "directory is written to a temporary name and renamed when complete)%s:",
                s.locations().init() == null
                        ? ""
                        : ", after making the `--init` checkpoint as `INIT_MODEL_CARD.md` says");
        line(b, "");
        line(b, "```");
        line(b, "%s", c.command());
        line(b, "```");
        line(b, "");
        line(b, "## Limitations");
        line(b, "");
        line(
                b,
                "- Trained on %s tokens (%s documents, seen %.1f times) in %s%s: far from converged; it models the",
                group(c.corpus().tokens()),
                group(c.corpus().documents()),
                (double) s.batches().rows() * s.schedule().steps() / c.corpus().rows(),
                duration(run.seconds()),
                s.locations().init() == null ? "" : ", after the training of `INIT_MODEL_CARD.md`");
        line(b, "  corpora's surface (languages, man-page layout, `Question:`/`Answer:` patterns), not facts.");
        line(
                b,
                "- Positions beyond %d tokens were never trained; `max_position_embeddings` says %d, but evaluate and",
                s.batches().context(),
                m.maxPositionEmbeddings());
        line(
                b,
                "  score with windows of at most %d tokens (`--max-length %d`).",
                s.batches().context(),
                s.batches().context());
        line(b, "- Not for any use beyond exercising cusprun.");
        return b.toString();
    }

    private static void line(StringBuilder b, String format, Object... args) {
        b.append(String.format(Locale.ROOT, format, args)).append('\n');
    }

    static String group(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    private static String millions(long n) {
        return String.format(Locale.ROOT, "%.1fM", n / 1e6);
    }

    /** A number without a trailing ".0" or exponent noise: 0.1, 1e-05, 10000. */
    private static String plain(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) {
            return Long.toString((long) v);
        }
        String s = Double.toString(v);
        return s.contains("E") ? String.format(Locale.ROOT, "%.0e", v) : s;
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600
                ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }

    /** The processor's model name as the kernel reports it, or "unknown". */
    static String cpuName() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).strip())
                    .findFirst()
                    .orElse("unknown");
        } catch (IOException | UncheckedIOException e) {
            return "unknown";
        }
    }
}
