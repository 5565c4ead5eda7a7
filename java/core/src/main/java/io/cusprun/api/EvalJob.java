package io.cusprun.api;

import io.cusprun.Inputs;
import io.cusprun.SettingException;
import io.cusprun.model.Decoders;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * One evaluation run: which checkpoint, on which device and in which precision ({@link LoadOptions}),
 * in memory or layer-streamed under which budget ({@link MemorySettings}), and the limits of the
 * windows (length, stride, tokens per forward pass). {@code cusprun eval}, {@link Comparison} and
 * other Java callers build one and {@link #open} a {@link ModelEvaluator} from it; the memory plan is
 * made here ({@link #plan}), once for all of them. The model directory is checked here
 * ({@link #checkInputs}).
 *
 * <pre>{@code
 * EvalJob job = EvalJob.of(Path.of("llama-de")).withMaxLength(OptionalInt.of(512));
 * try (ModelEvaluator ev = job.open()) {
 *     double ppl = ev.perplexity(ModelEvaluator.readDocuments(Path.of("heldout.jsonl"), OptionalInt.empty()))
 *             .perplexity();
 * }
 * }</pre>
 *
 * @param model       the checkpoint's directory (config.json, *.safetensors, tokenizer.json)
 * @param load        device and dtypes
 * @param memory      in memory or streamed, and the budget
 * @param maxLength   tokens per window; empty: the model's context, at most {@link #DEFAULT_MAX_LENGTH}
 * @param stride      window stride; empty: half the window
 * @param batchTokens tokens per forward pass
 */
public record EvalJob(
        Path model,
        LoadOptions load,
        MemorySettings memory,
        OptionalInt maxLength,
        OptionalInt stride,
        int batchTokens) {
    /** The window when no length is asked for: the model's context, at most this. */
    public static final int DEFAULT_MAX_LENGTH = 2048;
    /** Tokens per forward pass unless asked otherwise. */
    public static final int DEFAULT_BATCH_TOKENS = 4096;

    public EvalJob {
        if (maxLength.isPresent() && maxLength.getAsInt() < 2) {
            throw new SettingException("maxLength", "must be at least 2, not " + maxLength.getAsInt());
        }
        if (stride.isPresent() && stride.getAsInt() < 1) {
            throw new SettingException("stride", "must be at least 1, not " + stride.getAsInt());
        }
        if (stride.isPresent() && maxLength.isPresent() && stride.getAsInt() > maxLength.getAsInt()) {
            throw new SettingException(
                    "stride", "must not exceed maxLength (" + stride.getAsInt() + " > " + maxLength.getAsInt() + ")");
        }
        if (batchTokens < 1) {
            throw new SettingException("batchTokens", "must be at least 1, not " + batchTokens);
        }
    }

    /** The checkpoint on the CPU in fp32, memory as the model's size decides, default windows. */
    public static EvalJob of(Path model) {
        return new EvalJob(
                model,
                LoadOptions.DEFAULTS,
                MemorySettings.DEFAULTS,
                OptionalInt.empty(),
                OptionalInt.empty(),
                DEFAULT_BATCH_TOKENS);
    }

    public EvalJob withLoad(LoadOptions l) {
        return new EvalJob(model, l, memory, maxLength, stride, batchTokens);
    }

    public EvalJob withMemory(MemorySettings m) {
        return new EvalJob(model, load, m, maxLength, stride, batchTokens);
    }

    public EvalJob withMaxLength(OptionalInt n) {
        return new EvalJob(model, load, memory, n, stride, batchTokens);
    }

    public EvalJob withStride(OptionalInt n) {
        return new EvalJob(model, load, memory, maxLength, n, batchTokens);
    }

    public EvalJob withBatchTokens(int n) {
        return new EvalJob(model, load, memory, maxLength, stride, n);
    }

    /**
     * The inputs, checked once before any work: the model directory exists and holds a
     * config.json (one-line IOException naming the path).
     */
    public EvalJob checkInputs() throws IOException {
        Inputs.modelDirectory(model);
        return this;
    }

    /** The model's config (checks the inputs first). */
    public ModelConfig config() throws IOException {
        return ModelConfig.read(Inputs.modelDirectory(model));
    }

    /**
     * The window length this job evaluates with on {@code config}'s model: the asked length (or
     * {@link #DEFAULT_MAX_LENGTH}), at most the model's context.
     */
    public int window(ModelConfig config) {
        long context = config.maxPositionEmbeddings();
        return (int) Math.min(maxLength.orElse(DEFAULT_MAX_LENGTH), context);
    }

    /** The stride for windows of {@code window} tokens: the asked one (at most the window), else half the window. */
    public int stride(int window) {
        int s = stride.orElse(Math.max(1, window / 2));
        if (s > window) {
            throw new SettingException("stride", "must not exceed the window of " + window + " tokens, not " + s);
        }
        return s;
    }

    /**
     * The memory plan of evaluating {@code tokens} tokens in {@code documents} documents (each
     * window at most {@code window} tokens): in memory or streamed, as the settings and the
     * model's size decide.
     */
    public MemoryPlan plan(int window, long tokens, long documents) throws IOException {
        MemoryPlan.Work work = MemoryPlan.Work.eval(batchTokens, window, tokens, documents);
        return Decoders.plan(Inputs.modelDirectory(model), load, memory, work);
    }

    /** Opens the model for any amount of data (the plan sized for it; see {@link #open(long, long)}). */
    public ModelEvaluator open() throws IOException {
        return open(Long.MAX_VALUE / 4, Long.MAX_VALUE / 4);
    }

    /** Opens the model, planned for {@code tokens} tokens in {@code documents} documents. */
    public ModelEvaluator open(long tokens, long documents) throws IOException {
        int window = window(config());
        return ModelEvaluator.open(this, window, plan(window, tokens, documents));
    }
}
