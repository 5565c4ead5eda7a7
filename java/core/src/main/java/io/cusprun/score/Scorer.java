package io.cusprun.score;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.Json;
import io.cusprun.NonFiniteException;
import io.cusprun.corpus.BatchPacker;
import io.cusprun.corpus.DocumentBatch;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Batch;
import io.cusprun.model.Decoder;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.SafetensorsHeader;
import io.cusprun.model.StreamedDecoder;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Runs the scoring pass (docs/pipeline.md, "Scoring runs"): the corpora's canonical batches (those of this shard,
 * minus those a resumed run already did) are dealt to one worker thread per device entry as
 * the workers free up; workers run the forward pass with {@link RelevanceHooks} and hand each
 * batch's per-document relevance to this thread, which alone owns the rank accumulators.
 * Rank statistics are order-independent and sums exact ({@link ExactSum}), so the result does
 * not depend on the number of workers, shards or restarts.
 */
public final class Scorer {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String DONE_KEY = "done_batches";
    /** Partial-file metadata: per corpus, {@link TokenizedCorpus#digest} of the documents scored. */
    static final String DIGESTS_KEY = "corpus_digests";

    /**
     * How to run.
     *
     * @param devices          one worker per entry, e.g. [cpu], [cpu, cpu], [cuda:0, cuda:1]
     * @param shard            which batches this run covers
     * @param partialFile      checkpoint file (FILE.partial), null for none
     * @param resume           continue from partialFile when it exists
     * @param checkpointEvery  how often accumulators are checkpointed
     * @param stopAfterBatches stop (checkpointing first) after this many batches; 0 = run to the end
     * @param progress         where the progress bar is drawn (a terminal's stream); null = no progress bar
     */
    public record Options(
            List<String> devices,
            ShardSpec shard,
            Path partialFile,
            boolean resume,
            Duration checkpointEvery,
            int stopAfterBatches,
            PrintStream progress,
            MemorySettings memory) {
        /** One CPU worker, the whole run, no checkpoints, no progress bar, memory from the machine. */
        public static final Options DEFAULTS = new Options(
                List.of("cpu"), ShardSpec.ALL, null, false, Duration.ofMinutes(1), 0, null, MemorySettings.DEFAULTS);

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

        public Options withPartial(Path p, boolean r, int stopAfter) {
            return new Options(devices, shard, p, r, checkpointEvery, stopAfter, progress, memory);
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

    private record Job(int corpus, DocumentBatch batch) {}

    private record Done(int corpus, int[] documents, BatchRelevance relevance, Throwable error) {}

    /** Per corpus: accumulators, counts and the batches done. */
    private static final class CorpusState {
        final Map<ModuleKey, RankAccumulator> modules = new TreeMap<>();
        final BitSet done = new BitSet();
        long documents;
        long tokens;
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
        BatchPacker packer = new BatchPacker(settings.batchTokens(), settings.batchDocs());
        List<CorpusState> states = new ArrayList<>();
        for (int i = 0; i < corpora.size(); i++) states.add(new CorpusState());
        if (options.resume() && options.partialFile() != null && Files.exists(options.partialFile())) {
            restore(options.partialFile(), target, corpora, settings, options.shard(), states);
        }
        BlockingQueue<Job> jobs = new LinkedBlockingQueue<>();
        long docsTodo = 0, docsTotal = 0;
        for (int c = 0; c < corpora.size(); c++) {
            for (DocumentBatch b : packer.pack(corpora.get(c))) {
                if (!options.shard().covers(b.index())) continue;
                docsTotal += b.numDocs();
                if (states.get(c).done.get(b.index())) continue;
                jobs.add(new Job(c, b));
                docsTodo += b.numDocs();
            }
        }
        int nJobs = jobs.size();
        Map<String, MemoryPlan> plans = plans(target, corpora.size(), settings, options, jobs);
        BlockingQueue<Done> results =
                new LinkedBlockingQueue<>(4 * options.devices().size());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> layerStatus = new AtomicReference<>("");
        List<Thread> workers =
                startWorkers(target, settings, options.devices(), plans, jobs, results, stop, layerStatus);
        long docsDone = 0, tokensDone = 0;
        int batchesDone = 0;
        long lastCheckpoint = System.nanoTime();
        boolean complete = true;
        try (ProgressBar bar = progressBar(options.progress(), docsTotal, docsTotal - docsTodo)) {
            while (batchesDone < nJobs) {
                Done d = take(results, bar, layerStatus);
                if (d.error() != null) throw failure(d.error());
                checkFinite(corpora.get(d.corpus()).spec().name(), d.documents(), d.relevance());
                accumulate(
                        states.get(d.corpus()),
                        d.relevance(),
                        settings.bins(),
                        target.backend("cpu").ranks());
                batchesDone++;
                docsDone += d.relevance().numDocs();
                tokensDone += d.relevance().tokens();
                if (bar != null) {
                    double secs = (System.nanoTime() - start) / 1e9;
                    bar.stepBy(d.relevance().numDocs());
                    bar.setExtraMessage(String.format(" %.0f tok/s", tokensDone / Math.max(secs, 1e-9)));
                }
                boolean stopping = options.stopAfterBatches() > 0
                        && batchesDone >= options.stopAfterBatches()
                        && batchesDone < nJobs;
                if (options.partialFile() != null
                        && (stopping
                                || System.nanoTime() - lastCheckpoint
                                        > options.checkpointEvery().toNanos())) {
                    writePartial(options.partialFile(), target, corpora, settings, options.shard(), states);
                    lastCheckpoint = System.nanoTime();
                }
                if (stopping) {
                    complete = false;
                    break;
                }
            }
        } finally {
            stop.set(true);
            jobs.clear();
            for (Thread w : workers) w.interrupt();
            for (Thread w : workers) joinQuietly(w);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!complete) return new Result(null, false, docsDone, tokensDone, seconds);
        ScoreSet set = build(target, corpora, settings, options.shard(), states);
        return new Result(set, true, docsDone, tokensDone, seconds);
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
            ScoreTarget target, int corpora, ScoreSettings settings, Options options, java.util.Collection<Job> jobs)
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
        Map<String, MemoryPlan> out = new java.util.LinkedHashMap<>();
        for (String device : options.devices()) {
            if (out.containsKey(device)) continue;
            int workers = java.util.Collections.frequency(options.devices(), device);
            MemoryPlan.Work work = new MemoryPlan.Work(
                    MemoryPlan.Pass.SCORE,
                    batchTokens,
                    batchDocs,
                    maxDoc,
                    corpora,
                    settings.bins(),
                    settings.neurons(),
                    workers,
                    tokens,
                    docs);
            out.put(device, target.plan(device, options.memory(), work));
        }
        return out;
    }

    // ------------------------------------------------------------------ workers

    private static List<Thread> startWorkers(
            ScoreTarget target,
            ScoreSettings settings,
            List<String> devices,
            Map<String, MemoryPlan> plans,
            BlockingQueue<Job> jobs,
            BlockingQueue<Done> results,
            AtomicBoolean stop,
            AtomicReference<String> layerStatus) {
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < devices.size(); w++) {
            String device = devices.get(w);
            MemoryPlan plan = plans.get(device);
            Thread t = new Thread(
                    () -> work(target, device, plan, settings, jobs, results, stop, layerStatus),
                    "cusprun-score-" + w + "-" + device);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        return threads;
    }

    /**
     * One worker: takes a chunk of batches (one when the model is resident; as many as the plan's
     * chunk holds when streamed), runs them, and hands each batch's relevance on in order.
     */
    private static void work(
            ScoreTarget target,
            String device,
            MemoryPlan plan,
            ScoreSettings settings,
            BlockingQueue<Job> jobs,
            BlockingQueue<Done> results,
            AtomicBoolean stop,
            AtomicReference<String> layerStatus) {
        Decoder decoder = null;
        RelevanceWeights ownWeights = null;
        try (NoGradGuard noGrad = new NoGradGuard()) {
            decoder = target.decoder(device, plan);
            if (decoder instanceof StreamedDecoder streamed) {
                int layers = target.config().numHiddenLayers();
                streamed.onLayer(i -> layerStatus.set(" " + device + " layer " + (i + 1) + "/" + layers));
            }
            // CPU workers share one read-only replica and its factors; a streamed worker has its own layers
            RelevanceWeights weights = plan.streamed()
                    ? (ownWeights = new RelevanceWeights(target.config().numHiddenLayers(), true))
                    : target.weights(device);
            RelevanceHooks hooks =
                    new RelevanceHooks(target.backend(device), weights, settings.neurons()).kvHeads(target.kvHeads());
            List<Job> chunk;
            while (!stop.get() && !(chunk = takeChunk(jobs, plan)).isEmpty()) {
                int n = chunk.size();
                List<Batch> batches = new ArrayList<>(n);
                BatchRelevance[] rel = new BatchRelevance[n];
                Tensor[] offsets = new Tensor[n];
                try (PointerScope scope = new PointerScope()) {
                    org.bytedeco.pytorch.Device dev = new org.bytedeco.pytorch.Device(device);
                    for (int i = 0; i < n; i++) {
                        DocumentBatch b = chunk.get(i).batch();
                        batches.add(new Batch(b.ids(), b.docOffsets()));
                        rel[i] = new BatchRelevance(b.index(), b.numDocs(), b.numTokens());
                        offsets[i] = Tensors.ofLongs(b.docOffsets())
                                .to(dev, org.bytedeco.pytorch.global.torch.ScalarType.Long);
                    }
                    decoder.run(
                            batches,
                            i -> {
                                hooks.begin(batches.get(i), offsets[i], rel[i]);
                                return hooks;
                            },
                            null);
                }
                for (int i = 0; i < n; i++) {
                    results.put(
                            new Done(chunk.get(i).corpus(), chunk.get(i).batch().documents(), rel[i], null));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            results.offer(new Done(-1, null, null, e));
        } finally {
            if (ownWeights != null) ownWeights.close();
            if (decoder != null && target.ownedBy(decoder)) decoder.close();
        }
    }

    /** The next chunk: one batch, then more while the plan's chunk has room (streamed only). */
    private static List<Job> takeChunk(BlockingQueue<Job> jobs, MemoryPlan plan) {
        List<Job> chunk = new ArrayList<>();
        synchronized (jobs) {
            long used = 0;
            Job next;
            while ((next = jobs.peek()) != null) {
                long cost =
                        plan.batchCost(next.batch().numTokens(), next.batch().numDocs());
                if (!chunk.isEmpty() && !plan.admits(used, cost)) break;
                chunk.add(jobs.poll());
                used += cost;
            }
        }
        return chunk;
    }

    /**
     * The next result; while waiting, the progress bar shows which layer a streamed worker is in
     * (a chunk's batches all finish at its last layer, which for a large model is minutes away).
     */
    private static Done take(BlockingQueue<Done> results, ProgressBar bar, AtomicReference<String> layerStatus)
            throws IOException {
        try {
            Done d;
            while ((d = results.poll(1, TimeUnit.SECONDS)) == null) {
                if (bar != null && !layerStatus.get().isEmpty()) bar.setExtraMessage(layerStatus.get());
            }
            return d;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("scoring interrupted");
        }
    }

    private static RuntimeException failure(Throwable e) {
        return e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
    }

    private static void joinQuietly(Thread t) {
        try {
            t.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ accumulation

    /**
     * Refuses a batch whose relevance holds a NaN or infinity, naming the corpus, the document,
     * the layer and the module where the first one is (in layer order).
     */
    static void checkFinite(String corpus, int[] documents, BatchRelevance rel) {
        int n = rel.numDocs();
        for (Map.Entry<ModuleKey, double[]> e : rel.modules().entrySet()) {
            double[] v = e.getValue();
            int units = v.length / Math.max(1, n);
            for (int i = 0; i < v.length; i++) {
                if (!Double.isFinite(v[i])) {
                    ModuleKey key = e.getKey();
                    int doc = i / Math.max(1, units);
                    throw new NonFiniteException(
                            "corpus " + corpus + ", document " + (documents[doc] + 1) + ": relevance "
                                    + NonFiniteException.describe(v[i]) + " in layer " + key.layer() + " module "
                                    + key.kind().tensorName(key.layer(), "") + " unit " + (i % Math.max(1, units))
                                    + " (the model's activations overflow)");
                }
            }
        }
    }

    private static void accumulate(CorpusState state, BatchRelevance rel, int bins, RankUpdater ranks) {
        int n = rel.numDocs();
        rel.modules()
                .forEach((key, values) -> state.modules
                        .computeIfAbsent(key, k -> new RankAccumulator(values.length / n, bins))
                        .update(values, n, ranks));
        state.documents += n;
        state.tokens += rel.tokens();
        state.done.set(rel.batchIndex());
    }

    private static ScoreSet build(
            ScoreTarget target,
            List<TokenizedCorpus> corpora,
            ScoreSettings settings,
            ShardSpec shard,
            List<CorpusState> states) {
        List<CorpusScores> out = new ArrayList<>();
        for (int c = 0; c < corpora.size(); c++) {
            CorpusState s = states.get(c);
            // no copies: accumulators change only on this thread, after the set is written or returned
            Map<ModuleKey, RankAccumulator> modules = new TreeMap<>(s.modules);
            out.add(new CorpusScores(
                    corpora.get(c).spec().kind(), corpora.get(c).spec().name(), s.documents, s.tokens, modules));
        }
        return new ScoreSet(target.fingerprint(), settings, shard, out);
    }

    // ------------------------------------------------------------------ checkpoints

    private static void writePartial(
            Path file,
            ScoreTarget target,
            List<TokenizedCorpus> corpora,
            ScoreSettings settings,
            ShardSpec shard,
            List<CorpusState> states)
            throws IOException {
        ObjectNode done = JSON.createObjectNode();
        for (int c = 0; c < corpora.size(); c++) {
            done.set(corpora.get(c).spec().name(), doneBatches(states.get(c).done));
        }
        // corpora with no batch done yet have no tensors: record them with empty modules
        ScoreSet set = build(target, corpora, settings, shard, states);
        ScoreFile.write(
                set,
                file,
                Map.of(
                        DONE_KEY,
                        JSON.writeValueAsString(done),
                        DIGESTS_KEY,
                        JSON.writeValueAsString(digests(corpora))));
    }

    private static void restore(
            Path file,
            ScoreTarget target,
            List<TokenizedCorpus> corpora,
            ScoreSettings settings,
            ShardSpec shard,
            List<CorpusState> states)
            throws IOException {
        ScoreSet partial = ScoreFile.read(file);
        if (!partial.modelFingerprint().equals(target.fingerprint())
                || !partial.settings().equals(settings)
                || !partial.shard().equals(shard)) {
            throw new IOException(
                    file + " was written for another model, settings or shard; delete it or do not resume");
        }
        Map<String, String> meta = SafetensorsHeader.read(file).metadata();
        // the same corpora, names and order: the batch indices below refer to their packing
        List<String> names = corpora.stream().map(c -> c.spec().name()).toList();
        List<String> partialNames =
                partial.corpora().stream().map(CorpusScores::name).toList();
        if (!partialNames.equals(names)) {
            throw new IOException(file + " was written for the corpora " + partialNames + ", not " + names
                    + "; delete it or do not resume");
        }
        String digestsJson = meta.get(DIGESTS_KEY);
        if (digestsJson == null) {
            throw new IOException(
                    file + ": no " + DIGESTS_KEY + " (written by an older cusprun); delete it or do not resume");
        }
        JsonNode digests = Json.parse(digestsJson, file + ": " + DIGESTS_KEY);
        ObjectNode now = digests(corpora);
        for (String name : names) {
            if (!now.get(name).equals(digests.get(name))) {
                throw new IOException(file + " was written for other contents or another document selection of corpus "
                        + name + " (its documents' digest differs); delete it or do not resume");
            }
        }
        String doneJson = meta.get(DONE_KEY);
        if (doneJson == null) throw new IOException(file + ": no " + DONE_KEY + "; delete it or drop --resume");
        JsonNode done = Json.parse(doneJson, file + ": " + DONE_KEY);
        for (int c = 0; c < corpora.size(); c++) {
            String name = corpora.get(c).spec().name();
            JsonNode bits = done.get(name);
            if (bits == null) throw new IOException(file + " has no corpus " + name + "; delete it or do not resume");
            CorpusState s = states.get(c);
            try {
                s.done.or(doneBatches(bits));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ": " + DONE_KEY + " of corpus " + name + ": " + e.getMessage());
            }
            if (s.done.isEmpty()) continue;
            CorpusScores cs = partial.corpus(name);
            cs.modules().forEach((k, a) -> s.modules.put(k, a.copy()));
            s.documents = cs.documents();
            s.tokens = cs.tokens();
        }
    }

    /** Per corpus name, the digest of its selected documents. */
    private static ObjectNode digests(List<TokenizedCorpus> corpora) {
        ObjectNode o = JSON.createObjectNode();
        for (TokenizedCorpus c : corpora) {
            o.put(c.spec().name(), c.digest());
        }
        return o;
    }

    /** The batches done as the JSON array of their indices, ascending. */
    static ArrayNode doneBatches(BitSet done) {
        ArrayNode a = JSON.createArrayNode();
        done.stream().forEach(a::add);
        return a;
    }

    /**
     * The batches done from a JSON array of indices, or from the string {@code "{0, 1, 5}"} that
     * partial files of cusprun 0.1.0 hold ({@code BitSet.toString}).
     */
    static BitSet doneBatches(JsonNode v) {
        BitSet out = new BitSet();
        if (v.isArray()) {
            for (JsonNode i : v) {
                if (!i.canConvertToInt() || !i.isIntegralNumber() || i.asInt() < 0) {
                    throw new IllegalArgumentException("not a batch index: " + i);
                }
                out.set(i.asInt());
            }
        } else if (v.isTextual() && v.asText().matches("\\{[0-9, ]*}")) {
            for (String part : v.asText().replaceAll("[{} ]", "").split(",")) {
                if (!part.isEmpty()) out.set(Integer.parseInt(part));
            }
        } else {
            throw new IllegalArgumentException("not an array of batch indices: " + v);
        }
        return out;
    }

    private static ProgressBar progressBar(PrintStream stream, long total, long already) {
        if (stream == null) return null;
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName("score")
                .setInitialMax(total)
                .setUnit(" docs", 1)
                .showSpeed()
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new me.tongfei.progressbar.ConsoleProgressBarConsumer(stream))
                .build();
        bar.stepTo(already);
        return bar;
    }
}
