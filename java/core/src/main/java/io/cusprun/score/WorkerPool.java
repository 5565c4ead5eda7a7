package io.cusprun.score;

import io.cusprun.corpus.DocumentBatch;
import io.cusprun.model.Batch;
import io.cusprun.model.Decoder;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.StreamedDecoder;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import me.tongfei.progressbar.ProgressBar;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * The scheduling side of a score run (docs/pipeline.md, "Scoring runs"): one worker thread per
 * device entry takes batches from a shared queue as it frees up (one at a time when the model is
 * resident, a chunk that fits the memory plan when streamed), runs the forward pass with
 * {@link RelevanceHooks} and hands each batch's relevance, still on its device, to the thread
 * that calls {@link #take}.
 */
final class WorkerPool implements AutoCloseable {
    /** A batch of corpus {@code corpus} to score. */
    record Job(int corpus, DocumentBatch batch) {}

    /** A scored batch (relevance on {@code device}), or the error that stopped a worker. */
    record Done(int corpus, int[] documents, String device, BatchRelevance relevance, Throwable error) {}

    private final BlockingQueue<Job> jobs;
    private final BlockingQueue<Done> results;
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicReference<String> layerStatus = new AtomicReference<>("");
    private final List<Thread> threads = new ArrayList<>();

    private WorkerPool(BlockingQueue<Job> jobs, int devices) {
        this.jobs = jobs;
        this.results = new LinkedBlockingQueue<>(4 * devices);
    }

    /** Starts one worker per entry of {@code devices}, each with its device's plan. */
    static WorkerPool start(
            ScoreTarget target,
            ScoreSettings settings,
            List<String> devices,
            Map<String, MemoryPlan> plans,
            BlockingQueue<Job> jobs) {
        WorkerPool pool = new WorkerPool(jobs, devices.size());
        for (int w = 0; w < devices.size(); w++) {
            String device = devices.get(w);
            MemoryPlan plan = plans.get(device);
            Thread t = new Thread(() -> pool.work(target, device, plan, settings), "cusprun-score-" + w + "-" + device);
            t.setDaemon(true);
            t.start();
            pool.threads.add(t);
        }
        return pool;
    }

    /**
     * The next result; while waiting, the progress bar shows which layer a streamed worker is in
     * (a chunk's batches all finish at its last layer, which for a large model is minutes away).
     */
    Done take(ProgressBar bar) throws IOException {
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

    /** Stops the workers, waits for them, and frees the relevance of results nobody took. */
    @Override
    public void close() {
        stop.set(true);
        jobs.clear();
        for (Thread w : threads) w.interrupt();
        for (Thread w : threads) joinQuietly(w);
        Done left;
        while ((left = results.poll()) != null) {
            if (left.relevance() != null) left.relevance().close();
        }
    }

    /**
     * One worker: takes a chunk of batches (one when the model is resident; as many as the plan's
     * chunk holds when streamed), runs them, and hands each batch's relevance on in order.
     */
    private void work(ScoreTarget target, String device, MemoryPlan plan, ScoreSettings settings) {
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
            while (!stop.get() && !(chunk = takeChunk(plan)).isEmpty()) {
                runChunk(decoder, hooks, device, chunk);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Throwable e) {
            results.offer(new Done(-1, null, device, null, e));
        } finally {
            if (ownWeights != null) ownWeights.close();
            if (decoder != null && target.ownedBy(decoder)) decoder.close();
        }
    }

    private void runChunk(Decoder decoder, RelevanceHooks hooks, String device, List<Job> chunk)
            throws InterruptedException {
        int n = chunk.size();
        List<Batch> batches = new ArrayList<>(n);
        BatchRelevance[] rel = new BatchRelevance[n];
        Tensor[] offsets = new Tensor[n];
        int handed = 0;
        try {
            try (PointerScope scope = new PointerScope()) {
                org.bytedeco.pytorch.Device dev = new org.bytedeco.pytorch.Device(device);
                for (int i = 0; i < n; i++) {
                    DocumentBatch b = chunk.get(i).batch();
                    batches.add(new Batch(b.ids(), b.docOffsets()));
                    rel[i] = new BatchRelevance(b.index(), b.numDocs(), b.numTokens());
                    offsets[i] =
                            Tensors.ofLongs(b.docOffsets()).to(dev, org.bytedeco.pytorch.global.torch.ScalarType.Long);
                }
                decoder.run(
                        batches,
                        i -> {
                            hooks.begin(batches.get(i), offsets[i], rel[i]);
                            return hooks;
                        },
                        null);
            }
            for (; handed < n; handed++) {
                Job j = chunk.get(handed);
                results.put(new Done(j.corpus(), j.batch().documents(), device, rel[handed], null));
            }
        } finally {
            for (int i = handed; i < n; i++) if (rel[i] != null) rel[i].close();
        }
    }

    /** The next chunk: one batch, then more while the plan's chunk has room (streamed only). */
    private List<Job> takeChunk(MemoryPlan plan) {
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

    private static void joinQuietly(Thread t) {
        try {
            t.join(60_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
