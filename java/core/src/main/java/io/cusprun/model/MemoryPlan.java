package io.cusprun.model;

import io.cusprun.prune.StructuredObs;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The memory a run that executes the model will need, from config.json and the work alone,
 * before anything is loaded: whether it runs in memory or layer-streamed, how large a chunk of
 * batches is, and the estimated peak on the host and on the device (docs/memory.md has the
 * formula term by term). Bytes are powers of 1024 throughout.
 *
 * <p>A streamed run holds, on the compute device: one layer's weights in the compute dtype (two
 * when the next is prefetched), the hidden states [T, D] of every batch of the chunk, and the
 * transients of the one batch being computed; on the host besides: the process, the read buffer
 * of the largest fused tensor in the stored dtype, and what the pass keeps per document.
 */
public record MemoryPlan(
        boolean streamed,
        boolean prefetch,
        long budget,
        long fixedBytes,
        long perTokenBytes,
        long perDocBytes,
        long chunkBytes,
        long peakHost,
        long peakDevice,
        boolean gpu) {

    /** The process itself (JVM, LibTorch, OpenBLAS, the tokenizer), measured on a tiny model. */
    public static final long PROCESS_BYTES = 256L << 20;

    /** The CUDA context and LibTorch's CUDA kernels on the host, and the context on the device. */
    static final long CUDA_HOST_BYTES = 1L << 30;

    static final long CUDA_DEVICE_BYTES = 600L << 20;

    /** Rows evaluation pushes through lm_head at once (TokenScorer's chunk). */
    static final int EVAL_ROWS = 512;

    /** Which pass runs the model. */
    public enum Pass {
        /** Cus-Prun relevance: per-document relevance of every unit, rank accumulators per corpus. */
        SCORE,
        /** Perplexity and multiple choice: final hidden states, lm_head on the scored rows. */
        EVAL,
        /** Wanda-sp / FLAP statistics: per-layer sums over tokens. */
        CALIBRATE,
        /** ShortGPT: also each batch's residual stream in fp64 between layers. */
        CALIBRATE_BLOCKS,
        /**
         * Compensation's pass over the unpruned model (the compensated relevance and the refit):
         * layer-major, every batch's hidden state resident, one layer read at a time; on the host
         * the fp64 Grams ({@link #gramBytes}) and the working sets of the greedy and the refit
         * ({@link #compensationBytes}).
         */
        COMPENSATE
    }

    /**
     * The work, as far as memory depends on it; made by {@link #eval}, {@link #calibrate},
     * {@link #compensate} or {@link #score} (then {@link #withRanks}, {@link #withWorkers}).
     *
     * @param batchTokens  most tokens in one packed batch
     * @param batchDocs    most documents in one packed batch
     * @param maxDocTokens longest document (attention's T x T per head)
     * @param corpora      corpora scored (rank accumulators each); compensation's dimensions
     * @param bins         rank-histogram bins
     * @param neurons      neuron-level attention units too
     * @param workers      workers on this device (CPU workers share a resident model)
     * @param totalTokens  tokens of the whole run (a chunk never holds more)
     * @param totalDocs    documents of the whole run
     * @param heldGrams    compensation keeps every layer's Grams (else one layer's at a time)
     * @param relevance    compensation's pass also computes the compensated relevance (its greedy's
     *                     working set counts); else it serves the refit alone
     * @param inversesAhead above 2,048 neurons, the compensated relevance computes the later
     *                     dimensions' ridge inverses ahead, beside the first dimension's order (the
     *                     faster schedule); else each in turn, just before its order (less memory)
     * @param heldBytes    what the caller keeps on the host through the pass: the scored corpora's
     *                     rank statistics ({@code io.cusprun.score.CorpusScores#heapBytes}) while
     *                     compensation runs after scoring
     */
    public record Work(
            Pass pass,
            int batchTokens,
            int batchDocs,
            int maxDocTokens,
            int corpora,
            int bins,
            boolean neurons,
            int workers,
            long totalTokens,
            long totalDocs,
            boolean heldGrams,
            boolean relevance,
            boolean inversesAhead,
            long heldBytes) {

        /**
         * Perplexity or multiple choice: windows of at most {@code maxDocTokens} packed into
         * batches of {@code batchTokens} (as many documents as tokens at most), one worker.
         */
        public static Work eval(int batchTokens, int maxDocTokens, long totalTokens, long totalDocs) {
            return new Work(
                    Pass.EVAL,
                    batchTokens,
                    batchTokens,
                    maxDocTokens,
                    0,
                    0,
                    false,
                    1,
                    totalTokens,
                    totalDocs,
                    false,
                    false,
                    false,
                    0);
        }

        /**
         * Calibration statistics of the baselines ({@link Pass#CALIBRATE}), or also each batch's
         * residual stream between layers when {@code residuals} (ShortGPT, {@link
         * Pass#CALIBRATE_BLOCKS}); one worker.
         */
        public static Work calibrate(
                boolean residuals, int batchTokens, int batchDocs, int maxDocTokens, long totalTokens, long totalDocs) {
            return new Work(
                    residuals ? Pass.CALIBRATE_BLOCKS : Pass.CALIBRATE,
                    batchTokens,
                    batchDocs,
                    maxDocTokens,
                    0,
                    0,
                    false,
                    1,
                    totalTokens,
                    totalDocs,
                    false,
                    false,
                    false,
                    0);
        }

        /**
         * Compensation's pass ({@link Pass#COMPENSATE}) over these batches, one worker, for
         * {@code dimensions} corpora: every layer's Grams held between plans when {@code
         * heldGrams}, else one layer's at a time; with the compensated relevance's greedy when
         * {@code relevance}, else for the refit alone.
         */
        public static Work compensate(
                int batchTokens,
                int batchDocs,
                int maxDocTokens,
                long totalTokens,
                long totalDocs,
                int dimensions,
                boolean heldGrams,
                boolean relevance) {
            return new Work(
                    Pass.COMPENSATE,
                    batchTokens,
                    batchDocs,
                    maxDocTokens,
                    dimensions,
                    0,
                    false,
                    1,
                    totalTokens,
                    totalDocs,
                    heldGrams,
                    relevance,
                    true,
                    0);
        }

        /**
         * Scoring of these batches on one worker, no rank accumulators yet: add them with {@link
         * #withRanks}, more workers with {@link #withWorkers}.
         */
        public static Work score(int batchTokens, int batchDocs, int maxDocTokens, long totalTokens, long totalDocs) {
            return new Work(
                    Pass.SCORE,
                    batchTokens,
                    batchDocs,
                    maxDocTokens,
                    0,
                    0,
                    false,
                    1,
                    totalTokens,
                    totalDocs,
                    false,
                    false,
                    false,
                    0);
        }

        /** The rank accumulators: per corpus, {@code bins} histogram bins, neuron-level units too. */
        public Work withRanks(int corpora, int bins, boolean neurons) {
            return with(corpora, bins, neurons, workers, inversesAhead, heldBytes);
        }

        /** With {@code bytes} that the caller keeps on the host through the pass. */
        public Work withHeld(long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("held bytes must be >= 0");
            return with(corpora, bins, neurons, workers, inversesAhead, bytes);
        }

        /** {@code workers} workers on this device (CPU workers share a resident model). */
        public Work withWorkers(int workers) {
            return with(corpora, bins, neurons, workers, inversesAhead, heldBytes);
        }

        /**
         * The compensated relevance's ridge inverses each in turn, just before its order, instead
         * of ahead beside the first order: {@code 24 (X − 1) F²} bytes less, the same results.
         */
        public Work withInversesInTurn() {
            return with(corpora, bins, neurons, workers, false, heldBytes);
        }

        private Work with(int corpora, int bins, boolean neurons, int workers, boolean inversesAhead, long heldBytes) {
            return new Work(
                    pass,
                    batchTokens,
                    batchDocs,
                    maxDocTokens,
                    corpora,
                    bins,
                    neurons,
                    workers,
                    totalTokens,
                    totalDocs,
                    heldGrams,
                    relevance,
                    inversesAhead,
                    heldBytes);
        }
    }

    /**
     * The bytes of compensation's fp64 Grams for {@code dimensions} corpora: per layer, per
     * dimension and summed, the Grams of down_proj's input ({@code F²}) and of o_proj's input
     * ({@code (H d)²}), and the two projections ({@code D (F + H d)}), all 8 bytes a value:
     * {@code 8 ((X + 1) (F² + (H d)²) + D (F + H d))}; every layer's summed when {@code held}, else
     * the largest layer's (streamed, one layer at a time).
     */
    public static long gramBytes(ModelConfig config, int dimensions, boolean held) {
        long sum = 0, max = 0;
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            long g = layerGramBytes(config, config.layer(i), dimensions);
            sum += g;
            max = Math.max(max, g);
        }
        return held ? sum : max;
    }

    private static long layerGramBytes(ModelConfig config, LayerSize ls, int dimensions) {
        long f = ls.intermediateSize();
        long hd = (long) ls.numAttentionHeads() * config.headDim();
        long d = config.hiddenSize();
        return 8L * ((dimensions + 1L) * (f * f + hd * hd) + d * (f + hd));
    }

    /**
     * Compensation's memory on the host besides the pass itself (docs/memory.md, "Compensation"):
     * the Grams ({@link #gramBytes}; held, plus the layer being handed over as tensors), and the
     * larger of the working sets of one layer, which never run at once: where {@code withRelevance}
     * (the pass computes the compensated relevance) the compensated
     * relevance's greedy, up to 2,048 neurons the dimensions in parallel, each with its ridge
     * inverse H⁻¹, the greedy's copy of it and W's columns ({@code 8 X (2 F² + D F)}), plus one
     * inverse's transients ({@code 24 F²}: H, its Cholesky factor, the inverse as a tensor); above,
     * the X − 1 later inverses computed ahead ({@code 24 (X − 1) F²}; none where {@code
     * inversesAhead} is false: each is computed in turn) beside the first's computation ({@code 24
     * F²}) or its blocked greedy ({@code 16 F² + 16 D F}); or the block
     * form's on o_proj ({@code 8 (3 (H d)² + 2 D H d)}); and the refit of the larger projection,
     * {@code N = max(F, H d)} channels with |K| ≤ N kept: first the row block G[K, :] with its two
     * column blocks, then G_KK + λI and its Cholesky factor, or the error's G[R, :] and G_RR, each
     * at most {@code 2 N²} values ({@code 16 N²}; StructuredObs frees each set before the next),
     * and six fp64 [D, N] copies of W and its parts ({@code 48 D N}).
     */
    public static long compensationBytes(
            ModelConfig config, int dimensions, boolean held, boolean withRelevance, boolean inversesAhead) {
        long layerGrams = 0, work = 0;
        long d = config.hiddenSize();
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            LayerSize ls = config.layer(i);
            long f = ls.intermediateSize();
            long hd = (long) ls.numAttentionHeads() * config.headDim();
            long n = Math.max(f, hd);
            // exact greedy (F ≤ 2,048): per dimension H⁻¹, its copy and W's columns, one inverse's
            // transients; blocked greedy: the later dimensions' inverses computed (H, its factor, the
            // inverse each) beside the first's computation or its greedy, which works in the
            // inverse, with the gather that drops the removed rows, Wᵀ and its copy
            long greedy = f <= StructuredObs.EXACT_CHANNELS
                    ? 8L * dimensions * (2 * f * f + d * f) + 24 * f * f
                    : (inversesAhead ? 24L * (dimensions - 1) * f * f : 0)
                            + Math.max(24 * f * f, 16 * f * f + 16 * d * f);
            long heads = 8L * (3 * hd * hd + 2 * d * hd);
            long refit = 16 * n * n + 48 * d * n;
            layerGrams = Math.max(layerGrams, layerGramBytes(config, ls, dimensions));
            work = Math.max(work, withRelevance ? Math.max(Math.max(greedy, heads), refit) : refit);
        }
        return gramBytes(config, dimensions, held) + (held ? layerGrams : 0) + work;
    }

    /**
     * The plan for running {@code config}'s model, stored in {@code stored}, with {@code load}'s
     * device and compute dtype under {@code settings}. Throws {@link IllegalArgumentException}
     * when even streamed one layer and one batch do not fit the budget, saying the smallest
     * budget that works.
     */
    public static MemoryPlan of(
            ModelConfig config, DType stored, LoadOptions load, MemorySettings settings, Work work) {
        boolean gpu = io.cusprun.engine.Device.parse(load.device()).isCuda();
        long budget = settings.budget().orElseGet(() -> MemorySettings.machineBudget(load.device()));
        int c = load.dtype().byteSize();
        int s = stored.byteSize();
        long d = config.hiddenSize();
        long vocab = config.vocabSize();

        long maxLayerParams = 0, maxFused = 0, fusedParams = 0, layerParams = 0, perDocUnits = 0, batchWork = 0;
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            LayerSize ls = config.layer(i);
            long hd = (long) ls.numAttentionHeads() * config.headDim();
            long kv = (long) ls.numKeyValueHeads() * config.headDim();
            long f = ls.intermediateSize();
            long p = (hd + 2 * kv) * d + d * hd + 3 * f * d + 2 * d + biases(config, hd, kv, f, d);
            layerParams += p;
            maxLayerParams = Math.max(maxLayerParams, p);
            maxFused = Math.max(maxFused, Math.max(2 * f * d, (hd + 2 * kv) * d));
            fusedParams += 2 * f * d + (hd + 2 * kv) * d;
            perDocUnits += units(config, ls, work.neurons());
            batchWork = Math.max(batchWork, batchTransient(config, ls, work, c));
        }
        long embedding = vocab * d;
        long lmHead = config.tieWordEmbeddings() ? 0 : vocab * d;
        long accumulators = work.pass() == Pass.SCORE
                ? rankAccumulatorBytes(config, work.corpora(), work.bins(), work.neurons())
                : 0;
        long evalHead = work.pass() == Pass.EVAL ? (long) EVAL_ROWS * vocab * 4 * 3 : 0;

        long perToken = d * c + (work.pass() == Pass.CALIBRATE_BLOCKS ? d * 8 : 0);
        long perDoc = work.pass() == Pass.SCORE ? perDocUnits * 8 : 0;
        long batchState = (long) work.batchTokens() * perToken + (long) work.batchDocs() * perDoc;

        // in memory: the model is loaded from the file mapping, whose pages all count as resident once
        // read; on the CPU the tensors kept in the stored dtype stay views of it, the fused q/k/v and
        // gate/up (and everything, when converted) are copies; per-layer conversion adds one layer
        long allParams = layerParams + embedding + lmHead;
        long mapped = allParams * s;
        int residentBytes = load.storage().byteSize();
        long copies = gpu ? 0 : load.storage() == stored ? fusedParams * residentBytes : allParams * residentBytes;
        long inMemoryDevice = (gpu ? allParams * c : copies)
                + (residentBytes != c ? maxLayerParams * c : 0)
                + work.workers() * (batchWork + batchState)
                + evalHead;
        boolean compensate = work.pass() == Pass.COMPENSATE;
        long compensation = compensate
                ? compensationBytes(config, work.corpora(), work.heldGrams(), work.relevance(), work.inversesAhead())
                : 0;
        long hostExtra = PROCESS_BYTES + accumulators + compensation + work.heldBytes() + (gpu ? CUDA_HOST_BYTES : 0);
        long inMemoryPeakDevice = inMemoryDevice + (gpu ? CUDA_DEVICE_BYTES : 0);
        long inMemoryHost = gpu ? hostExtra + mapped : inMemoryDevice + mapped + hostExtra;
        long inMemoryOnDevice = gpu ? inMemoryPeakDevice : inMemoryHost;
        if (!compensate && !settings.stream() && inMemoryOnDevice <= budget) {
            return new MemoryPlan(
                    false,
                    false,
                    budget,
                    inMemoryOnDevice,
                    perToken,
                    perDoc,
                    batchState,
                    inMemoryHost,
                    gpu ? inMemoryPeakDevice : 0,
                    gpu);
        }

        // streamed: per worker one layer (two with prefetch), the lm_head only when evaluating
        long layer = maxLayerParams * c;
        long headWeights = work.pass() == Pass.EVAL ? vocab * d * c : 0;
        int w = Math.max(1, work.workers());
        if (compensate) {
            // layer-major (LayerStepper): one layer read at a time, in line, and every batch's hidden
            // state resident from the first layer to the last
            long device = layer + batchWork + d * c + (gpu ? CUDA_DEVICE_BYTES : 0);
            long host = hostExtra + maxFused * s;
            long state = Math.max(batchState, perToken * work.totalTokens());
            long need = gpu ? Math.max(device + state, host) : device + host + state;
            if ((gpu ? device + state : need) > budget) {
                long least = gpu ? device + state : need;
                throw new IllegalArgumentException("memory budget " + MemorySettings.format(budget)
                        + " is too small: compensation's pass over these documents (one layer, every document's "
                        + "hidden state, the Grams and their working sets) needs at least "
                        + MemorySettings.format(least) + " (--memory-budget "
                        + (long) Math.ceil(least / (double) (1L << 20)) + "M)");
            }
            return new MemoryPlan(
                    true,
                    false,
                    budget,
                    gpu ? device : device + host,
                    perToken,
                    0,
                    state,
                    gpu ? host : need,
                    gpu ? device + state : 0,
                    gpu);
        }
        long fixedDevice = w * (layer + headWeights + batchWork + evalHead) + d * c + (gpu ? CUDA_DEVICE_BYTES : 0);
        long fixedHostOnly = hostExtra + w * maxFused * s; // read buffer of the largest fused tensor
        long minimum = (gpu ? fixedDevice : fixedDevice + fixedHostOnly) + w * batchState;
        // a GPU copies the next layer while it computes; a CPU would only take cores from its own
        // GEMMs for a read it does in a fraction of a layer's compute, so it reads in line
        boolean prefetch = gpu && minimum + w * (layer + batchState) <= budget;
        long fixed = (gpu ? fixedDevice : fixedDevice + fixedHostOnly) + (prefetch ? w * layer : 0);
        if (minimum > budget) {
            throw new IllegalArgumentException("memory budget " + MemorySettings.format(budget)
                    + " is too small: one layer and one batch of this model need at least "
                    + MemorySettings.format(minimum) + " (--memory-budget "
                    + (long) Math.ceil(minimum / (double) (1L << 20)) + "M)");
        }
        // a chunk needs no more room than one layer's weights: by then reading the layer costs far less
        // than running the chunk through it, and a larger chunk would only hold memory
        long chunk = Math.min((budget - fixed) / w, Math.max(layer, batchState));
        long state = Math.min(chunk, Math.max(batchState, perToken * work.totalTokens() + perDoc * work.totalDocs()));
        long peakDevice = fixed + w * state;
        return new MemoryPlan(
                true,
                prefetch,
                budget,
                fixed,
                perToken,
                perDoc,
                chunk,
                gpu ? fixedHostOnly : peakDevice,
                gpu ? peakDevice : 0,
                gpu);
    }

    /**
     * The rank accumulators of {@code corpora} scored corpora ({@code RankAccumulator}), which
     * scoring fills and a prune keeps through compensation: {@code corpora × Σ_l units_l × (4 + 4
     * bins + 16)} bytes (a unit's running max, histogram and exact sum).
     */
    public static long rankAccumulatorBytes(ModelConfig config, int corpora, int bins, boolean neurons) {
        long units = 0;
        for (int i = 0; i < config.numHiddenLayers(); i++) units += units(config, config.layer(i), neurons);
        return corpora * units * (4L + 4L * bins + 16);
    }

    /** Scored units of one layer: FFN neurons, query heads, KV heads; with {@code neurons} the neuron-level attention units too. */
    private static long units(ModelConfig config, LayerSize ls, boolean neurons) {
        long hd = (long) ls.numAttentionHeads() * config.headDim();
        long u = ls.intermediateSize() + ls.numAttentionHeads() + ls.numKeyValueHeads();
        return neurons ? u + hd + hd / 2 : u;
    }

    /** Transients of one batch through one layer: activations, attention scores, the pass's per-layer work. */
    private static long batchTransient(ModelConfig config, LayerSize ls, Work work, int c) {
        long t = work.batchTokens();
        long hd = (long) ls.numAttentionHeads() * config.headDim();
        long kv = (long) ls.numKeyValueHeads() * config.headDim();
        long f = ls.intermediateSize();
        long d = config.hiddenSize();
        // q/k/v, RoPE's temporaries of q and k, z, gate|up, the activation, residual adds and norms
        long activations = t * c * ((hd + 2 * kv) + 2 * (hd + kv) + 2 * hd + 2 * f + f + 4 * d);
        // attention of the longest document: scores and their softmax, per head
        long attention = 2L * ls.numAttentionHeads() * work.maxDocTokens() * work.maxDocTokens() * 4;
        long pass = 0;
        if (work.pass() == Pass.SCORE && ls.numKeyValueHeads() > 0) {
            long gd = (long) ls.groupSize() * config.headDim();
            long grams = (long) ls.numKeyValueHeads() * gd * gd * 8;
            pass = work.batchDocs() * (f * 8 + 2 * grams) + grams + f * 8;
        } else if (work.pass() == Pass.CALIBRATE || work.pass() == Pass.CALIBRATE_BLOCKS) {
            pass = t * 8 * (f + hd) + (work.pass() == Pass.CALIBRATE_BLOCKS ? t * 8 * 3 * d : 0);
        } else if (work.pass() == Pass.COMPENSATE) {
            // a batch's Gram terms: its inputs transposed in fp32, their product in fp32 and in fp64
            pass = t * 4 * (f + hd) + 12 * (f * f + hd * hd);
        }
        return activations + attention + pass;
    }

    private static long biases(ModelConfig config, long hd, long kv, long f, long d) {
        return (config.qkvBias() ? hd + 2 * kv : 0) + (config.oBias() ? d : 0) + (config.mlpBias() ? 2 * f + d : 0);
    }

    /** What a batch of {@code tokens} tokens in {@code docs} documents adds to a chunk. */
    public long batchCost(long tokens, long docs) {
        return tokens * perTokenBytes + docs * perDocBytes;
    }

    /** Whether a chunk already holding {@code used} bytes takes a batch costing {@code cost} (a chunk always takes one). */
    public boolean admits(long used, long cost) {
        return streamed && (used == 0 || used + cost <= chunkBytes);
    }

    /**
     * The batches in chunks: each batch alone when the model is resident (it runs batch by
     * batch), else consecutive batches while the chunk has room.
     */
    public List<List<Batch>> chunks(List<Batch> batches) {
        List<List<Batch>> out = new ArrayList<>();
        List<Batch> chunk = new ArrayList<>();
        long used = 0;
        for (Batch b : batches) {
            long cost = batchCost(b.length(), b.numDocs());
            if (!chunk.isEmpty() && !admits(used, cost)) {
                out.add(chunk);
                chunk = new ArrayList<>();
                used = 0;
            }
            chunk.add(b);
            used += cost;
        }
        if (!chunk.isEmpty()) out.add(chunk);
        return out;
    }

    /** The plan in a few lines, as {@code --dry-run} prints it. */
    public String describe(long avgDocTokens) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(
                Locale.ROOT,
                "mode: %s (budget %s%s)%n",
                streamed ? "layer-streamed" + (prefetch ? ", next layer prefetched" : ", no prefetch") : "in memory",
                MemorySettings.format(budget),
                gpu ? " on the GPU" : " on the host"));
        if (streamed) {
            long docBytes = avgDocTokens * perTokenBytes + perDocBytes;
            long docs = docBytes > 0 ? chunkBytes / docBytes : 0;
            b.append(String.format(
                    Locale.ROOT,
                    "chunk: %s of batch state, about %d documents (%d tokens) of %d tokens each per layer read%n",
                    MemorySettings.format(chunkBytes),
                    docs,
                    docs * avgDocTokens,
                    avgDocTokens));
        }
        b.append(String.format(Locale.ROOT, "estimated peak: host %s", MemorySettings.format(peakHost)));
        if (gpu) b.append(String.format(Locale.ROOT, ", device %s", MemorySettings.format(peakDevice)));
        return b.toString();
    }
}
