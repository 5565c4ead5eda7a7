package io.cusprun.score;

import io.cusprun.corpus.BatchPacker;
import io.cusprun.corpus.DocumentBatch;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.score.WorkerPool.Done;
import io.cusprun.score.WorkerPool.Job;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import me.tongfei.progressbar.ProgressBar;

/**
 * Runs the scoring pass (docs/pipeline.md, "Scoring runs"): the corpora's canonical batches (those of this shard,
 * minus those a resumed run already did) are dealt to one worker thread per device entry as
 * the workers free up ({@link WorkerPool}); workers run the forward pass with {@link RelevanceHooks}
 * and hand each batch's per-document relevance, still on their device, to this thread, which
 * alone folds it into the rank accumulators on that device ({@link CorpusAccumulators}) and
 * checkpoints them ({@link PartialCheckpoint}). Rank statistics are order-independent and sums
 * exact ({@link ExactSum}), so the result does not depend on the number of workers, devices,
 * shards or restarts.
 */
public final class Scorer {

    /**
     * How to run.
     *
     * @param devices          one worker per entry, e.g. [cpu], [cpu, cpu], [cuda:0, cuda:1]
     * @param shard            which batches this run covers
     * @param partialFile      checkpoint file (FILE.partial), null for none
     * @param resume           continue from partialFile when it exists
     * @param checkpointEvery  how often accumulators are checkpointed
     * @param stopAfterBatches stop (checkpointing first) after this many batches; empty: run to the end
     * @param progress         where the progress bar is drawn (a terminal's stream); null = no progress bar
     */
    public record Options(
            List<String> devices,
            ShardSpec shard,
            Path partialFile,
            boolean resume,
            Duration checkpointEvery,
            OptionalInt stopAfterBatches,
            PrintStream progress,
            MemorySettings memory) {
        /** One CPU worker, the whole run, no checkpoints, no progress bar, memory from the machine. */
        public static final Options DEFAULTS = new Options(
                List.of("cpu"),
                ShardSpec.ALL,
                null,
                false,
                Duration.ofMinutes(1),
                OptionalInt.empty(),
                null,
                MemorySettings.DEFAULTS);

        public Options withDevices(List<String> d) {
            return new Options(d, shard, partialFile, resume, checkpointEvery, stopAfterBatches, progress, memory);
        }

        public Options withShard(ShardSpec s) {
            return new Options(devices, s, partialFile, resume, checkpointEvery, stopAfterBatches, progress, memory);
        }

        /** Draws the progress bar on {@code stream}; null for none. */
        public Options withProgress(PrintStream stream) {
            return new Options(devices, shard, partialFile, resume, checkpointEvery, stopAfterBatches, stream, memory);
        }

        public Options withCheckpointEvery(Duration every) {
            return new Options(devices, shard, partialFile, resume, every, stopAfterBatches, progress, memory);
        }

        /** Checkpoints to {@code p} (FILE.partial), resuming from it when {@code r} and it exists. */
        public Options withPartial(Path p, boolean r) {
            return new Options(devices, shard, p, r, checkpointEvery, stopAfterBatches, progress, memory);
        }

        /** Stops, checkpointing first, after {@code batches} batches (at least 1). */
        public Options withStopAfter(int batches) {
            if (batches < 1) throw new IllegalArgumentException("stopAfterBatches must be at least 1, not " + batches);
            return new Options(
                    devices, shard, partialFile, resume, checkpointEvery, OptionalInt.of(batches), progress, memory);
        }

        /** In memory or layer-streamed, and the budget (see {@link MemorySettings}). */
        public Options withMemory(MemorySettings m) {
            return new Options(devices, shard, partialFile, resume, checkpointEvery, stopAfterBatches, progress, m);
        }
    }

    /** The result, or null scores when the run stopped early (stopAfterBatches). */
    public record Result(ScoreSet scores, boolean complete, long documents, long tokens, double seconds) {
        public double tokensPerSecond() {
            return seconds > 0 ? tokens / seconds : 0;
        }
    }

    private Scorer() {}

    /** Library entry: scores the corpora on one CPU worker, no checkpoints. */
    public static ScoreSet score(ScoreTarget target, List<TokenizedCorpus> corpora, ScoreSettings settings)
            throws IOException {
        return run(target, corpora, settings, Options.DEFAULTS).scores();
    }

    public static Result run(ScoreTarget target, List<TokenizedCorpus> corpora, ScoreSettings settings, Options options)
            throws IOException {
        long start = System.nanoTime();
        try (CorpusAccumulators state = new CorpusAccumulators(corpora, settings.bins())) {
            if (options.resume() && options.partialFile() != null && Files.exists(options.partialFile())) {
                PartialCheckpoint.restore(options.partialFile(), target, corpora, settings, options.shard(), state);
            }
            BatchPacker packer = new BatchPacker(settings.batchTokens(), settings.batchDocs());
            BlockingQueue<Job> jobs = new LinkedBlockingQueue<>();
            long docsTodo = 0, docsTotal = 0;
            for (int c = 0; c < corpora.size(); c++) {
                for (DocumentBatch b : packer.pack(corpora.get(c))) {
                    if (!options.shard().covers(b.index())) continue;
                    docsTotal += b.numDocs();
                    if (state.done(c).get(b.index())) continue;
                    jobs.add(new Job(c, b));
                    docsTodo += b.numDocs();
                }
            }
            int nJobs = jobs.size();
            Map<String, MemoryPlan> plans = plans(target, corpora.size(), settings, options, jobs);
            Map<String, RelevanceBackend> backends = new HashMap<>();
            long docsDone = 0, tokensDone = 0;
            int batchesDone = 0;
            long lastCheckpoint = System.nanoTime();
            boolean complete = true;
            try (WorkerPool pool = WorkerPool.start(target, settings, options.devices(), plans, jobs);
                    ProgressBar bar = progressBar(options.progress(), docsTotal, docsTotal - docsTodo)) {
                while (batchesDone < nJobs) {
                    Done d = pool.take(bar);
                    if (d.error() != null) throw failure(d.error());
                    try (BatchRelevance rel = d.relevance()) {
                        RelevanceBackend backend = backends.computeIfAbsent(d.device(), target::backend);
                        state.add(d.corpus(), d.device(), backend, d.documents(), rel);
                    }
                    batchesDone++;
                    docsDone += d.relevance().numDocs();
                    tokensDone += d.relevance().tokens();
                    if (bar != null) {
                        double secs = (System.nanoTime() - start) / 1e9;
                        bar.stepBy(d.relevance().numDocs());
                        bar.setExtraMessage(String.format(" %.0f tok/s", tokensDone / Math.max(secs, 1e-9)));
                    }
                    boolean stopping = options.stopAfterBatches().isPresent()
                            && batchesDone >= options.stopAfterBatches().getAsInt()
                            && batchesDone < nJobs;
                    if (options.partialFile() != null
                            && (stopping
                                    || System.nanoTime() - lastCheckpoint
                                            > options.checkpointEvery().toNanos())) {
                        PartialCheckpoint.write(
                                options.partialFile(), target, corpora, settings, options.shard(), state);
                        lastCheckpoint = System.nanoTime();
                    }
                    if (stopping) {
                        complete = false;
                        break;
                    }
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (!complete) return new Result(null, false, docsDone, tokensDone, seconds);
            ScoreSet set = state.build(target.fingerprint(), settings, options.shard());
            return new Result(set, true, docsDone, tokensDone, seconds);
        }
    }

    /**
     * The memory plan per device of a run over these corpora (what {@code --dry-run} prints):
     * in memory or layer-streamed, chunk size, estimated peaks.
     */
    public static Map<String, MemoryPlan> plans(
            ScoreTarget target, List<TokenizedCorpus> corpora, ScoreSettings settings, Options options)
            throws IOException {
        BatchPacker packer = new BatchPacker(settings.batchTokens(), settings.batchDocs());
        List<Job> jobs = new ArrayList<>();
        for (int c = 0; c < corpora.size(); c++) {
            for (DocumentBatch b : packer.pack(corpora.get(c))) {
                if (options.shard().covers(b.index())) jobs.add(new Job(c, b));
            }
        }
        return plans(target, corpora.size(), settings, options, jobs);
    }

    private static Map<String, MemoryPlan> plans(
            ScoreTarget target, int corpora, ScoreSettings settings, Options options, Collection<Job> jobs)
            throws IOException {
        int batchTokens = 1, batchDocs = 1, maxDoc = 1;
        long tokens = 0, docs = 0;
        for (Job j : jobs) {
            DocumentBatch b = j.batch();
            batchTokens = Math.max(batchTokens, b.numTokens());
            batchDocs = Math.max(batchDocs, b.numDocs());
            long[] off = b.docOffsets();
            for (int d = 0; d + 1 < off.length; d++) maxDoc = (int) Math.max(maxDoc, off[d + 1] - off[d]);
            tokens += b.numTokens();
            docs += b.numDocs();
        }
        Map<String, MemoryPlan> out = new LinkedHashMap<>();
        for (String device : options.devices()) {
            if (out.containsKey(device)) continue;
            int workers = Collections.frequency(options.devices(), device);
            MemoryPlan.Work work = MemoryPlan.Work.score(batchTokens, batchDocs, maxDoc, tokens, docs)
                    .withRanks(corpora, settings.bins(), settings.neurons())
                    .withWorkers(workers);
            out.put(device, target.plan(device, options.memory(), work));
        }
        return out;
    }

    private static RuntimeException failure(Throwable e) {
        return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }

    private static ProgressBar progressBar(PrintStream stream, long total, long already) {
        if (stream == null) return null;
        ProgressBar bar = io.cusprun.ProgressBars.builder(stream, "score", " docs", total)
                .showSpeed()
                .build();
        bar.stepTo(already);
        return bar;
    }
}
