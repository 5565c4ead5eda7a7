package io.cusprun.train;

import io.cusprun.Json;
import io.cusprun.eval.EvalData;
import io.cusprun.eval.McItem;
import io.cusprun.eval.McResult;
import io.cusprun.eval.MultipleChoice;
import io.cusprun.eval.Perplexity;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Perplexity of a model on every held-out split of the corpora directory ({@code
 * language/*}/heldout.jsonl, then {@code domain/*}, {@code task/*}, {@code general}) and on the
 * text files of {@code eval/}, plus multiple-choice accuracy on the {@code eval/} files whose
 * items have {@code choices}. Each document is encoded with BOS (no EOS) and scored with
 * {@link Perplexity}'s sliding window.
 */
public final class HeldOutEvaluation {

    /**
     * Perplexity of one corpus file; {@code name} is its path under the corpora directory without
     * "/heldout.jsonl"; {@code characters} counts the documents' code points.
     */
    public record PerplexityRow(String name, Path file, int documents, long characters, PerplexityResult result) {

        /** The summed negative log-likelihood in bits per character of text (every text token is scored). */
        public double bitsPerCharacter() {
            return result.nll() * result.tokens() / characters / Math.log(2);
        }
    }

    public record ChoiceRow(String name, Path file, McResult result) {}

    public record Results(int maxLength, int stride, List<PerplexityRow> perplexity, List<ChoiceRow> choices) {}

    private static final int BATCH_TOKENS = 4096;

    private final LlamaModel model;
    private final TextTokenizer tokenizer;
    private final int maxLength;
    private final int stride;

    public HeldOutEvaluation(LlamaModel model, TextTokenizer tokenizer, int maxLength, int stride) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.stride = stride;
    }

    /** Evaluates every held-out and eval file under {@code corpora}; reports each result as it comes. */
    public Results run(Path corpora, Consumer<String> log) throws IOException {
        List<PerplexityRow> ppl = new ArrayList<>();
        List<ChoiceRow> mc = new ArrayList<>();
        for (String dimension : List.of("language", "domain", "task")) {
            for (Path dir : subdirectories(corpora.resolve(dimension))) {
                addPerplexity(ppl, corpora, dir.resolve("heldout.jsonl"), log);
            }
        }
        addPerplexity(ppl, corpora, corpora.resolve("general/heldout.jsonl"), log);
        for (Path file : files(corpora.resolve("eval"))) {
            if (isMultipleChoice(file)) {
                List<McItem> items = EvalData.readMultipleChoice(file);
                McResult r = new MultipleChoice(model, tokenizer, maxLength, BATCH_TOKENS).evaluate(items);
                String name = name(corpora, file);
                mc.add(new ChoiceRow(name, file, r));
                log.accept(
                        String.format("%-28s acc %.4f  acc_norm %.4f  (%d items)", name, r.acc(), r.accNorm(), r.n()));
            } else {
                addPerplexity(ppl, corpora, file, log);
            }
        }
        if (ppl.isEmpty()) {
            throw new IOException(corpora + ": no held-out or eval files (expected language/*/heldout.jsonl, ...)");
        }
        return new Results(maxLength, stride, ppl, mc);
    }

    /** Perplexity of one JSONL file of texts. */
    public PerplexityResult perplexity(Path file) throws IOException {
        List<long[]> docs = TextCorpus.tokenize(TextCorpus.read(file), tokenizer, null);
        return new Perplexity(model, maxLength, stride, BATCH_TOKENS).evaluate(docs);
    }

    private void addPerplexity(List<PerplexityRow> rows, Path corpora, Path file, Consumer<String> log)
            throws IOException {
        if (!Files.isRegularFile(file)) {
            return;
        }
        List<String> texts = TextCorpus.read(file);
        List<long[]> docs = TextCorpus.tokenize(texts, tokenizer, null);
        PerplexityResult r = new Perplexity(model, maxLength, stride, BATCH_TOKENS).evaluate(docs);
        String name = name(corpora, file);
        long chars =
                texts.stream().mapToLong(t -> t.codePointCount(0, t.length())).sum();
        PerplexityRow row = new PerplexityRow(name, file, texts.size(), chars, r);
        rows.add(row);
        log.accept(String.format(
                "%-28s perplexity %8.3f  nll %.4f  bits/char %.3f  (%d documents, %d tokens)",
                name, r.perplexity(), r.nll(), row.bitsPerCharacter(), texts.size(), r.tokens()));
    }

    private static String name(Path corpora, Path file) {
        String rel = corpora.relativize(file).toString().replace('\\', '/');
        return rel.endsWith("/heldout.jsonl")
                ? rel.substring(0, rel.length() - "/heldout.jsonl".length())
                : rel.replaceFirst("\\.jsonl$", "");
    }

    /** Whether the first item of a JSONL file is a multiple-choice item (has "choices"). */
    private static boolean isMultipleChoice(Path file) throws IOException {
        String first;
        try (Stream<String> lines = Files.lines(file)) {
            first = lines.filter(l -> !l.isBlank()).findFirst().orElse("{}");
        } catch (UncheckedIOException e) {
            throw new IOException(file + ": " + e.getCause().getMessage());
        }
        return Json.parse(first, file + ":1").has("choices");
    }

    private static List<Path> subdirectories(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        }
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".jsonl"))
                    .sorted()
                    .toList();
        }
    }
}
