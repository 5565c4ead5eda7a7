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
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Quality of one checkpoint on held-out data: perplexity of documents (each scored on its own,
 * with sliding windows past the context) and multiple-choice accuracy. Holds the model and its
 * tokenizer until closed.
 */
public final class ModelEvaluator implements AutoCloseable {
    /** Tokens per forward pass while evaluating. */
    static final int BATCH_TOKENS = 4096;

    private final Decoder model;
    private final TextTokenizer tokenizer;
    private final int maxLength;

    private ModelEvaluator(Decoder model, TextTokenizer tokenizer, int maxLength) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /** Loads a checkpoint for evaluation on the CPU; windows of at most {@code maxLength} tokens. */
    public static ModelEvaluator open(Path modelDir, int maxLength) throws IOException {
        return open(modelDir, maxLength, MemorySettings.DEFAULTS);
    }

    /**
     * The same, in memory or layer-streamed as {@code memory} and the model's size decide (fp32
     * on the CPU either way: the results agree to rounding).
     */
    public static ModelEvaluator open(Path modelDir, int maxLength, MemorySettings memory) throws IOException {
        CpuRuntime.configure(); // the shipped native libraries, before anything touches LibTorch
        MemoryPlan plan = plan(modelDir, maxLength, memory, Long.MAX_VALUE / 4);
        Decoder model = Decoders.open(modelDir, LoadOptions.DEFAULTS, plan);
        try {
            TextTokenizer tokenizer = TextTokenizer.load(modelDir);
            int length = (int) Math.min(maxLength, model.config().maxPositionEmbeddings());
            return new ModelEvaluator(model, tokenizer, length);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The memory plan of evaluating {@code tokens} tokens in windows of {@code maxLength}. */
    public static MemoryPlan plan(Path modelDir, int maxLength, MemorySettings memory, long tokens) throws IOException {
        MemoryPlan.Work work = MemoryPlan.Work.eval(BATCH_TOKENS, maxLength, tokens, tokens);
        return Decoders.plan(modelDir, LoadOptions.DEFAULTS, memory, work);
    }

    /** Documents of a held-out file: {@code .jsonl} (field text), {@code .txt} (blank-line separated) or a folder. */
    public static List<String> readDocuments(Path file, int limit) throws IOException {
        return DocumentReader.read(file, limit);
    }

    public static List<McItem> readMultipleChoice(Path file, int limit) throws IOException {
        List<McItem> items = EvalData.readMultipleChoice(file);
        return limit > 0 && items.size() > limit ? items.subList(0, limit) : items;
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
        return new Perplexity(model, maxLength, Math.max(1, maxLength / 2), BATCH_TOKENS).evaluate(ids);
    }

    /** acc and acc_norm as lm-evaluation-harness defines them. */
    public McResult multipleChoice(List<McItem> items) {
        return new MultipleChoice(model, tokenizer, maxLength, BATCH_TOKENS).evaluate(items);
    }

    @Override
    public void close() {
        tokenizer.close();
        model.close();
    }
}
