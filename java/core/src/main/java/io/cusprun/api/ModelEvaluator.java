package io.cusprun.api;

import io.cusprun.corpus.DocumentReader;
import io.cusprun.eval.EvalData;
import io.cusprun.eval.McItem;
import io.cusprun.eval.McResult;
import io.cusprun.eval.MultipleChoice;
import io.cusprun.eval.Perplexity;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.model.LlamaModel;
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

    private final LlamaModel model;
    private final TextTokenizer tokenizer;
    private final int maxLength;

    private ModelEvaluator(LlamaModel model, TextTokenizer tokenizer, int maxLength) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.maxLength = maxLength;
    }

    /** Loads a checkpoint for evaluation on the CPU; windows of at most {@code maxLength} tokens. */
    public static ModelEvaluator open(Path modelDir, int maxLength) throws IOException {
        LlamaModel model = LlamaModel.load(modelDir);
        try {
            TextTokenizer tokenizer = TextTokenizer.load(modelDir);
            int length = (int) Math.min(maxLength, model.config().maxPositionEmbeddings());
            return new ModelEvaluator(model, tokenizer, length);
        } catch (IOException | RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Documents of a held-out file: {@code .jsonl} (field text), {@code .txt} (blank-line separated) or a folder. */
    public static List<String> readDocuments(Path file, int limit) throws IOException {
        return DocumentReader.read(file, limit);
    }

    public static List<McItem> readMultipleChoice(Path file, int limit) throws IOException {
        List<McItem> items = EvalData.readMultipleChoice(file);
        return limit > 0 && items.size() > limit ? items.subList(0, limit) : items;
    }

    public LlamaModel model() {
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
