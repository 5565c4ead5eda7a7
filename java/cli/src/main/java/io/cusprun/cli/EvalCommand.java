package io.cusprun.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.api.EvalJob;
import io.cusprun.api.ModelEvaluator;
import io.cusprun.engine.KernelBackend;
import io.cusprun.eval.EvalData;
import io.cusprun.eval.McItem;
import io.cusprun.eval.McResult;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.OptionGroup;
import org.apache.commons.cli.Options;

/**
 * {@code eval --model DIR (--text FILE | --ids FILE.jsonl | --mc FILE.jsonl) [--json]
 * [--max-length N] [--stride N] [--batch-tokens N] [--device D] [--dtype T]}: perplexity of a
 * text file (one document, BOS added as the tokenizer says) or of pre-tokenised documents, or
 * multiple-choice accuracy.
 */
public final class EvalCommand implements Command {
    static final String NAME = "eval";
    /** Window when --max-length is absent: the model's context, at most this. */
    static final int DEFAULT_MAX_LENGTH = EvalJob.DEFAULT_MAX_LENGTH;

    static final int DEFAULT_BATCH_TOKENS = EvalJob.DEFAULT_BATCH_TOKENS;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "perplexity or multiple-choice accuracy of a checkpoint";
    }

    @Override
    public String description() {
        return "Perplexity or multiple-choice accuracy of a model: --model and one of --text, --ids or --mc.";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Cli.option("model", "DIR", "model directory: config.json, *.safetensors, tokenizer.json"));
        OptionGroup input = new OptionGroup();
        input.addOption(Cli.option("text", "FILE", "perplexity of a UTF-8 text file"));
        input.addOption(Cli.option(
                "ids", "FILE", "perplexity of pre-tokenised documents: JSONL, one array of token ids per line"));
        input.addOption(
                Cli.option("mc", "FILE", "multiple choice: JSONL {\"context\", \"choices\": [...], \"answer\": i}"));
        o.addOptionGroup(input);
        o.addOption(Cli.flag("json", "print one JSON object"));
        o.addOption(Cli.option(
                "max-length",
                "N",
                "tokens per window (default min(max_position_embeddings, " + DEFAULT_MAX_LENGTH + "))"));
        o.addOption(Cli.option("stride", "N", "window stride (default max-length / 2)"));
        o.addOption(Cli.option("batch-tokens", "N", "tokens per forward pass (default " + DEFAULT_BATCH_TOKENS + ")"));
        o.addOption(Cli.option("device", "D", "cpu (default), cuda, cuda:N"));
        o.addOption(Cli.option("dtype", "T", "compute dtype: f32 (default), bf16, f16"));
        o.addOption(
                Cli.option("ffn", "native|libtorch", "FFN activation: the native kernel (default) or LibTorch's ops"));
        Cli.addMemoryOptions(o);
        o.addOption(Cli.helpOption());
        return o;
    }

    /** The evaluation options' values as an {@link EvalJob}. */
    static EvalJob job(CommandLine cl) {
        return EvalJob.of(Path.of(Cli.required(cl, "model")))
                .withLoad(Cli.loadOptions(cl.getOptionValue("device"), cl.getOptionValue("dtype"))
                        .withFfn(KernelBackend.parse("ffn", cl.getOptionValue("ffn", KernelBackend.NATIVE.label()))))
                .withMemory(Cli.memory(cl))
                .withMaxLength(optional(cl, "max-length", 2))
                .withStride(optional(cl, "stride", 1))
                .withBatchTokens(Cli.intOption(cl, "batch-tokens", DEFAULT_BATCH_TOKENS, 1, Cli.MAX_COUNT));
    }

    private static OptionalInt optional(CommandLine cl, String name, int min) {
        return cl.hasOption(name)
                ? OptionalInt.of(Cli.intOption(cl, name, min, min, Cli.MAX_COUNT))
                : OptionalInt.empty();
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException {
        Cli.required(cl, "model");
        if (!cl.hasOption("text") && !cl.hasOption("ids") && !cl.hasOption("mc")) {
            throw new UsageException("one of --text, --ids or --mc is required");
        }
        int askedLength = Cli.intOption(cl, "max-length", 2, 2, Cli.MAX_COUNT);
        int askedStride = Cli.intOption(cl, "stride", 1, 1, Cli.MAX_COUNT);
        if (cl.hasOption("max-length") && cl.hasOption("stride") && askedStride > askedLength) {
            throw new UsageException("need --max-length >= 2 and --stride <= --max-length");
        }
        EvalJob job = job(cl);
        Path modelDir = job.model();
        ModelConfig config = job.config(); // checks the model directory
        int maxLength = job.window(config);
        if (job.stride().isPresent() && job.stride().getAsInt() > maxLength) {
            throw new UsageException("need --max-length >= 2 and --stride <= --max-length");
        }
        int s = job.stride(maxLength);
        ObjectNode result = new ObjectMapper().createObjectNode();
        result.put("model", modelDir.toString());
        boolean mc = cl.hasOption("mc");
        Path file = Path.of(
                mc
                        ? cl.getOptionValue("mc")
                        : cl.hasOption("text") ? cl.getOptionValue("text") : cl.getOptionValue("ids"));
        // the data first (it sizes the memory plan), then the model
        List<McItem> items = List.of();
        List<long[]> docs = List.of();
        long tokens;
        if (mc) {
            items = ModelEvaluator.readMultipleChoice(file, OptionalInt.empty());
            if (items.isEmpty()) {
                throw new IOException(file + ": no items");
            }
            tokens = (long) items.size() * maxLength; // at most: each choice's window is cut to max-length
        } else {
            docs = cl.hasOption("text") ? readText(file, modelDir) : EvalData.readIds(file, config.vocabSize());
            tokens = docs.stream().mapToLong(d -> d.length).sum();
        }
        MemoryPlan plan = job.plan(maxLength, tokens, docs.size());
        if (cl.hasOption("dry-run")) {
            console.out().println(plan.describe(Math.max(1, Math.min(maxLength, tokens / Math.max(1, docs.size())))));
            return Cli.OK;
        }
        try (ModelEvaluator ev = job.open(tokens, docs.size())) {
            if (mc) {
                McResult r = ev.multipleChoice(items);
                result.put("task", "multiple_choice")
                        .put("file", file.toString())
                        .put("acc", r.acc())
                        .put("acc_norm", r.accNorm())
                        .put("acc_norm_bytes", r.accNormBytes())
                        .put("n", r.n());
                print(cl, console, result, String.format("acc %.4f  acc_norm %.4f  n %d", r.acc(), r.accNorm(), r.n()));
            } else {
                PerplexityResult r = ev.perplexityOfIds(docs);
                if (r.tokens() == 0) {
                    throw new IOException(file + ": no tokens to score (documents need at least 2 tokens)");
                }
                result.put("task", "perplexity")
                        .put("file", file.toString())
                        .put("perplexity", r.perplexity())
                        .put("nll", r.nll())
                        .put("tokens", r.tokens())
                        .put("documents", docs.size())
                        .put("max_length", maxLength)
                        .put("stride", s);
                if (cl.hasOption("text")) {
                    // per byte of the file: compares models whose tokenizers differ (prune --trim-vocab); every token
                    // of the text is scored when the model starts documents with BOS
                    result.put("bits_per_byte", r.bitsPerByte(Files.size(file)));
                }
                print(
                        cl,
                        console,
                        result,
                        String.format("perplexity %.4f  nll %.6f  tokens %d", r.perplexity(), r.nll(), r.tokens()));
            }
            return Cli.OK;
        }
    }

    /** The largest text eval --text reads: its characters must fit one Java string. */
    static final long MAX_TEXT_BYTES = Integer.MAX_VALUE / 2;

    /** A UTF-8 text file as one document of token ids, encoded in bounded pieces. */
    private static List<long[]> readText(Path file, Path modelDir) throws IOException {
        String text;
        long bytes = Files.size(io.cusprun.Inputs.regularFile(file));
        if (bytes > MAX_TEXT_BYTES) {
            throw new IOException(file + ": " + bytes + " bytes, over the " + MAX_TEXT_BYTES
                    + " that eval --text reads (split it, or use --ids)");
        }
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(
                    file + ": not valid UTF-8 at byte " + io.cusprun.corpus.Utf8.firstMalformedByte(file));
        }
        try (TextTokenizer tok = TextTokenizer.load(modelDir)) {
            return List.of(tok.encodeAll(text, true));
        }
    }

    private static void print(CommandLine cl, Console console, ObjectNode json, String line) {
        console.out().println(cl.hasOption("json") ? json.toString() : line);
    }
}
