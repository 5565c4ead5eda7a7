package io.cusprun.api;

import io.cusprun.corpus.DocumentReader;
import io.cusprun.engine.CpuRuntime;
import io.cusprun.eval.EvalData;
import io.cusprun.eval.McItem;
import io.cusprun.eval.McResult;
import io.cusprun.eval.MultipleChoice;
import io.cusprun.eval.Perplexity;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.model.Decoder;
import io.cusprun.model.Decoders;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/**
 * Quality of one checkpoint on held-out data: perplexity of documents (each scored on its own,
 * with sliding windows past the context) and multiple-choice accuracy. Built from an {@link
 * EvalJob} (device, dtype, memory, window limits), which plans its memory; holds the model and
 * its tokenizer until closed.
 */
public final class ModelEvaluator implements AutoCloseable {
    private final Decoder model;
    private final TextTokenizer tokenizer;
    private final int maxLength;
    private final int stride;
    private final int batchTokens;

    private ModelEvaluator(Decoder model, TextTokenizer tokenizer, int maxLength, int stride, int batchTokens) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
        this.stride = stride;
        this.batchTokens = batchTokens;
    }

    /** Loads a checkpoint for evaluation on the CPU; windows of at most {@code maxLength} tokens. */
    public static ModelEvaluator open(Path modelDir, int maxLength) throws IOException {
        return EvalJob.of(modelDir).withMaxLength(OptionalInt.of(maxLength)).open();
    }

    /** Opens {@code job}'s model with windows of {@code window} tokens under {@code plan} ({@link EvalJob#open}). */
    static ModelEvaluator open(EvalJob job, int window, MemoryPlan plan) throws IOException {
        CpuRuntime.configure(); // the shipped native libraries, before anything touches LibTorch
        int stride = job.stride(window);
        Decoder model = Decoders.open(job.model(), job.load(), plan);
        try {
            TextTokenizer tokenizer = TextTokenizer.load(job.model());
            return new ModelEvaluator(model, tokenizer, window, stride, job.batchTokens());
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /**
     * Documents of a held-out file: {@code .jsonl} (field text), {@code .txt} (blank-line
     * separated) or a folder; the first {@code limit} of them, all when empty.
     */
    public static List<String> readDocuments(Path file, OptionalInt limit) throws IOException {
        return DocumentReader.read(file, limit.orElse(0));
    }

    /** Multiple-choice items of a JSONL file; the first {@code limit} of them, all when empty. */
    public static List<McItem> readMultipleChoice(Path file, OptionalInt limit) throws IOException {
        List<McItem> items = EvalData.readMultipleChoice(file);
        return limit.isPresent() && items.size() > limit.getAsInt() ? items.subList(0, limit.getAsInt()) : items;
    }

    /** Tokens per window. */
    public int maxLength() {
        return maxLength;
    }

    /** Window stride. */
    public int stride() {
        return stride;
    }

    public Decoder model() {
        return model;
    }

    /** Perplexity over the documents, each from its own BOS, token-weighted. */
    public PerplexityResult perplexity(List<String> documents) {
        List<long[]> ids = new ArrayList<>(documents.size());
        for (String d : documents) {
            ids.add(tokenizer.encode(d, true));
        }
        return perplexityOfIds(ids);
    }

    /** Perplexity over documents already tokenized (each starts as the model expects, BOS included where it has one). */
    public PerplexityResult perplexityOfIds(List<long[]> documents) {
        return new Perplexity(model, maxLength, stride, batchTokens).evaluate(documents);
    }

    /** acc and acc_norm as lm-evaluation-harness defines them. */
    public McResult multipleChoice(List<McItem> items) {
        return new MultipleChoice(model, tokenizer, maxLength, batchTokens).evaluate(items);
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
