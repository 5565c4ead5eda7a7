package io.cusprun.cli;

import io.cusprun.Errors;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.OptionGroup;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;

import io.cusprun.eval.EvalData;
import io.cusprun.eval.McItem;
import io.cusprun.eval.McResult;
import io.cusprun.eval.MultipleChoice;
import io.cusprun.eval.Perplexity;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.TextTokenizer;

/**
 * {@code eval --model DIR (--text FILE | --ids FILE.jsonl | --mc FILE.jsonl) [--json]
 * [--max-length N] [--stride N] [--batch-tokens N] [--device D] [--dtype T]}: perplexity of a
 * text file (one document, BOS added as the tokenizer says) or of pre-tokenised documents, or
 * multiple-choice accuracy.
 */
public final class EvalCommand {

    static final String USAGE = "cusprun eval --model DIR (--text FILE | --ids FILE.jsonl | --mc FILE.jsonl) [options]";
    private static final int DEFAULT_MAX_LENGTH = 2048;

    private final PrintStream out;
    private final PrintStream err;

    public EvalCommand() {
        this(System.out, System.err);
    }

    public EvalCommand(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("model").hasArg().argName("DIR").required()
                .desc("model directory: config.json, *.safetensors, tokenizer.json").build());
        OptionGroup input = new OptionGroup();
        input.setRequired(true);
        input.addOption(Option.builder().longOpt("text").hasArg().argName("FILE").desc("perplexity of a UTF-8 text file").build());
        input.addOption(Option.builder().longOpt("ids").hasArg().argName("FILE")
                .desc("perplexity of pre-tokenised documents: JSONL, one array of token ids per line").build());
        input.addOption(Option.builder().longOpt("mc").hasArg().argName("FILE")
                .desc("multiple choice: JSONL {\"context\", \"choices\": [...], \"answer\": i}").build());
        o.addOptionGroup(input);
        o.addOption(Option.builder().longOpt("json").desc("print one JSON object").build());
        o.addOption(Option.builder().longOpt("max-length").hasArg().argName("N")
                .desc("tokens per window (default min(max_position_embeddings, " + DEFAULT_MAX_LENGTH + "))").build());
        o.addOption(Option.builder().longOpt("stride").hasArg().argName("N").desc("window stride (default max-length / 2)").build());
        o.addOption(Option.builder().longOpt("batch-tokens").hasArg().argName("N").desc("tokens per forward pass (default 4096)").build());
        o.addOption(Option.builder().longOpt("device").hasArg().argName("D").desc("cpu (default), cuda, cuda:N").build());
        o.addOption(Option.builder().longOpt("dtype").hasArg().argName("T").desc("compute dtype: f32 (default), bf16, f16").build());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    public int run(String[] args) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                Cli.help(out, USAGE, "Perplexity or multiple-choice accuracy of a model.", options());
                return Cli.OK;
            }
        }
        CommandLine cl;
        int maxLength;
        Integer stride;
        int batchTokens;
        try {
            cl = new DefaultParser().parse(options(), args);
            if (!cl.getArgList().isEmpty()) {
                throw new ParseException("unexpected argument " + cl.getArgList().get(0));
            }
            maxLength = cl.hasOption("max-length") ? Cli.positiveInt(cl.getOptionValue("max-length"), "max-length") : -1;
            stride = cl.hasOption("stride") ? Cli.positiveInt(cl.getOptionValue("stride"), "stride") : null;
            batchTokens = cl.hasOption("batch-tokens") ? Cli.positiveInt(cl.getOptionValue("batch-tokens"), "batch-tokens") : 4096;
            Cli.loadOptions(cl.getOptionValue("device"), cl.getOptionValue("dtype"));
        } catch (org.apache.commons.cli.MissingOptionException e) {
            err.println("cusprun eval: " + (e.getMissingOptions().contains("model") ? "--model is required"
                    : "one of --text, --ids or --mc is required"));
            err.println("usage: " + USAGE);
            return Cli.USAGE;
        } catch (ParseException | IllegalArgumentException e) {
            err.println("cusprun eval: " + e.getMessage());
            err.println("usage: " + USAGE);
            return Cli.USAGE;
        }
        Path modelDir = Path.of(cl.getOptionValue("model"));
        try (LlamaModel model = LlamaModel.load(modelDir,
                Cli.loadOptions(cl.getOptionValue("device"), cl.getOptionValue("dtype")))) {
            if (maxLength < 0) {
                maxLength = (int) Math.min(model.config().maxPositionEmbeddings(), DEFAULT_MAX_LENGTH);
            }
            int s = stride != null ? stride : Math.max(1, maxLength / 2);
            if (maxLength < 2 || s > maxLength) {
                err.println("cusprun eval: need --max-length >= 2 and --stride <= --max-length");
                return Cli.USAGE;
            }
            ObjectNode result = new ObjectMapper().createObjectNode();
            result.put("model", modelDir.toString());
            if (cl.hasOption("mc")) {
                Path file = Path.of(cl.getOptionValue("mc"));
                List<McItem> items = EvalData.readMultipleChoice(file);
                if (items.isEmpty()) {
                    err.println("cusprun eval: " + file + ": no items");
                    return Cli.FAILURE;
                }
                try (TextTokenizer tok = TextTokenizer.load(modelDir)) {
                    McResult r = new MultipleChoice(model, tok, maxLength, batchTokens).evaluate(items);
                    result.put("task", "multiple_choice").put("file", file.toString()).put("acc", r.acc())
                            .put("acc_norm", r.accNorm()).put("acc_norm_bytes", r.accNormBytes()).put("n", r.n());
                    print(cl, result, String.format("acc %.4f  acc_norm %.4f  n %d", r.acc(), r.accNorm(), r.n()));
                }
            } else {
                Path file = Path.of(cl.hasOption("text") ? cl.getOptionValue("text") : cl.getOptionValue("ids"));
                List<long[]> docs;
                if (cl.hasOption("text")) {
                    String text = Files.readString(file, StandardCharsets.UTF_8);
                    try (TextTokenizer tok = TextTokenizer.load(modelDir)) {
                        docs = List.of(tok.encode(text, true));
                    }
                } else {
                    docs = EvalData.readIds(file, model.config().vocabSize());
                }
                PerplexityResult r = new Perplexity(model, maxLength, s, batchTokens).evaluate(docs);
                if (r.tokens() == 0) {
                    err.println("cusprun eval: " + file + ": no tokens to score (documents need at least 2 tokens)");
                    return Cli.FAILURE;
                }
                result.put("task", "perplexity").put("file", file.toString()).put("perplexity", r.perplexity())
                        .put("nll", r.nll()).put("tokens", r.tokens()).put("documents", docs.size())
                        .put("max_length", maxLength).put("stride", s);
                print(cl, result, String.format("perplexity %.4f  nll %.6f  tokens %d", r.perplexity(), r.nll(), r.tokens()));
            }
            return Cli.OK;
        } catch (IOException e) {
            err.println("cusprun eval: " + Errors.describe(e));
            return Cli.FAILURE;
        } catch (RuntimeException e) {
            err.println("cusprun eval: " + modelDir + ": " + (e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("")));
            return Cli.FAILURE;
        }
    }

    private void print(CommandLine cl, ObjectNode json, String line) {
        out.println(cl.hasOption("json") ? json.toString() : line);
    }
}
