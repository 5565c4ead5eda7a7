package io.cusprun.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch_cuda;

/**
 * The decoder with one layer resident at a time (docs/memory.md): a call to {@link #run} takes a
 * chunk of batches, embeds them (reading only the embedding rows they use), then reads layer 0
 * from the safetensors files, runs every batch of the chunk through it, reads layer 1 into the
 * same tensors (on the CPU; with prefetch each layer has its own), and so on; the
 * final norm and, when a sink asks for logits, lm_head come last. Each layer is read once per
 * chunk, with positional reads (no file mapping, so resident memory is what this class
 * allocates). With prefetch, the next layer is read and converted on a second thread while the
 * current one runs; on a GPU that thread copies on its own CUDA stream, so the copy overlaps
 * the compute. The layer arithmetic is {@link DecoderStep}, the same as {@link LlamaModel}'s,
 * so activations are bit-identical to the in-memory model's on the same batches.
 */
public final class StreamedDecoder implements Decoder {
    private static final String EMBEDDING = "model.embed_tokens.weight";
    private static final String PREFETCH_THREAD = "cusprun-layer-prefetch";
    private static final ThreadLocal<Boolean> SIDE_STREAM = ThreadLocal.withInitial(() -> false);

    private final ModelConfig config;
    private final LoadOptions options;
    private final Device device;
    private final Checkpoint checkpoint;
    private final WeightLoader loader;
    private final Rope rope;
    private final Tensor finalNorm;
    private final ExecutorService prefetcher;
    private final MemoryPlan plan;
    private Tensor lmHead;
    /** On the CPU without prefetch: the layer every next layer is read into (null until the first). */
    private LayerWeights resident;

    private java.util.function.IntConsumer layerListener = i -> {};

    private StreamedDecoder(ModelConfig config, Checkpoint checkpoint, LoadOptions options, MemoryPlan plan)
            throws IOException {
        io.cusprun.engine.CpuRuntime.configure(); // the GEMMs on the OpenMP pool, as the in-memory model runs them
        this.plan = plan;
        this.config = config;
        this.options = options.withStorage(options.dtype()); // layers are converted as they are read
        this.device = new Device(options.device());
        this.checkpoint = checkpoint;
        this.loader = WeightLoader.reading(checkpoint, config, this.options);
        this.rope = new Rope(config);
        try (PointerScope scope = new PointerScope()) {
            this.finalNorm = Tensors.keep(loader.finalNorm());
        }
        this.prefetcher = plan.prefetch() ? Executors.newSingleThreadExecutor(StreamedDecoder::prefetchThread) : null;
    }

    /**
     * Opens a model directory for streamed runs on {@code options}' device and compute dtype;
     * the files stay open until {@link #close}. The plan sizes the chunks and says whether the
     * next layer is read while the current one runs (twice the layer memory).
     */
    public static StreamedDecoder open(Path dir, LoadOptions options, MemoryPlan plan) throws IOException {
        ModelConfig config = ModelConfig.read(dir);
        Checkpoint checkpoint = Checkpoint.open(dir);
        try {
            CheckpointLayout.check(config, checkpoint);
            return new StreamedDecoder(config, checkpoint, options, plan);
        } catch (IOException | RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    private static Thread prefetchThread(Runnable r) {
        Thread t = new Thread(r, PREFETCH_THREAD);
        t.setDaemon(true);
        return t;
    }

    @Override
    public ModelConfig config() {
        return config;
    }

    @Override
    public LoadOptions options() {
        return options;
    }

    @Override
    public String device() {
        return options.device();
    }

    /** Runs the batches chunk by chunk as the plan sizes them; each chunk reads every layer once. */
    @Override
    public void run(List<Batch> batches, IntFunction<LayerHooks> hooks, HiddenSink sink) {
        int first = 0;
        for (List<Batch> chunk : plan.chunks(batches)) {
            int offset = first;
            runChunk(chunk, b -> hooks.apply(offset + b), sink == null ? null : (b, h) -> sink.accept(offset + b, h));
            first += chunk.size();
        }
    }

    private void runChunk(List<Batch> batches, IntFunction<LayerHooks> hooks, HiddenSink sink) {
        int n = batches.size();
        Tensor[] x = new Tensor[n];
        Future<LayerWeights> next = null;
        try (NoGradGuard noGrad = new NoGradGuard();
                PointerScope scope = new PointerScope()) {
            AttentionLayout[] layouts = new AttentionLayout[n];
            Tensor[][] cosSin = new Tensor[n][];
            for (int b = 0; b < n; b++) {
                Batch batch = batches.get(b);
                layouts[b] = new AttentionLayout.Packed(batch, device);
                cosSin[b] = rope.cosSin(layouts[b].positions(), options.dtype().scalarType());
                x[b] = Tensors.keep(embed(batch));
            }
            next = prefetcher == null ? null : prefetcher.submit(() -> readLayer(0, null));
            boolean reuse = prefetcher == null && !device.is_cuda();
            for (int i = 0; i < config.numHiddenLayers(); i++) {
                LayerWeights w = next == null ? readLayer(i, reuse ? resident : null) : take(next);
                if (reuse && w != resident) {
                    if (resident != null) resident.release(); // a layer of another size
                    resident = w;
                }
                next = prefetcher != null && i + 1 < config.numHiddenLayers() ? submit(i + 1) : null;
                layerListener.accept(i);
                try {
                    for (int b = 0; b < n; b++) {
                        try (PointerScope layerScope = new PointerScope()) {
                            LayerHooks h = hooks.apply(b);
                            h.beginLayer(i, w);
                            Tensor y = DecoderStep.layer(config, i, w, null, null, x[b], layouts[b], cosSin[b], h);
                            Tensors.keep(y);
                            Tensors.release(x[b]);
                            x[b] = y;
                        }
                    }
                } finally {
                    if (device.is_cuda()) {
                        // the layer was allocated on the prefetch stream: the compute using it must be done first
                        torch_cuda.getCurrentCUDAStream(deviceIndex()).synchronize();
                    }
                    if (!reuse) w.release();
                    // freed memory back to the system: without it the activations' heap grows (benchmarks/README.md)
                    org.bytedeco.javacpp.Pointer.trimMemory();
                }
            }
            for (int b = 0; b < n; b++) {
                try (PointerScope finalScope = new PointerScope()) {
                    Tensor h = DecoderStep.rmsNorm(x[b], finalNorm, config.rmsNormEps());
                    Tensors.release(x[b]);
                    x[b] = null;
                    if (sink != null) sink.accept(b, h);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            // after an error: the chunk's hidden states and a layer still being read
            for (Tensor t : x) Tensors.release(t);
            if (next != null) {
                try {
                    take(next).release();
                } catch (IOException | RuntimeException ignored) {
                    // the error that stopped the chunk is the one to report
                }
            }
            releaseHead();
        }
    }

    /** Called with each layer's index as a chunk starts it (progress for long streamed runs). */
    public StreamedDecoder onLayer(java.util.function.IntConsumer listener) {
        this.layerListener = listener;
        return this;
    }

    private Future<LayerWeights> submit(int layer) {
        return prefetcher.submit(() -> readLayer(layer, null));
    }

    private static LayerWeights take(Future<LayerWeights> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading a layer");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) throw io;
            if (c instanceof RuntimeException r) throw r;
            throw new IllegalStateException(c);
        }
    }

    /**
     * Layer i read from the files and converted to the compute dtype on the device, into {@code
     * into}'s tensors when it is a layer of the same size (see {@link WeightLoader#layer(int,
     * LayerWeights)}). On a GPU the copies run on this thread's own stream and are complete when
     * this returns.
     */
    private LayerWeights readLayer(int i, LayerWeights into) throws IOException {
        boolean cuda = device.is_cuda();
        if (cuda && Thread.currentThread().getName().equals(PREFETCH_THREAD) && !SIDE_STREAM.get()) {
            // copies on this thread go to a stream of their own, beside the compute on the current one
            torch_cuda.setCurrentCUDAStream(torch_cuda.getStreamFromPool(false, deviceIndex()));
            SIDE_STREAM.set(true);
        }
        try (PointerScope scope = new PointerScope()) {
            LayerWeights w = loader.layer(i, into);
            if (cuda) torch_cuda.getCurrentCUDAStream(deviceIndex()).synchronize();
            return w;
        }
    }

    private byte deviceIndex() {
        return (byte) Math.max(0, device.index());
    }

    /** Token embeddings [T, D] in the compute dtype, from only the rows the batch uses. */
    @Override
    public Tensor embed(Batch batch) {
        LlamaModel.checkTokens(batch.tokens(), config);
        try {
            return readEmbedding(batch);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Tensor readEmbedding(Batch batch) throws IOException {
        return embedRows(checkpoint, batch, device, options);
    }

    /** A batch's token embeddings read from only the rows it uses, in the compute dtype on the device. */
    static Tensor embedRows(Checkpoint checkpoint, Batch batch, Device device, LoadOptions options) throws IOException {
        long[] tokens = batch.tokens();
        long[] unique = java.util.Arrays.stream(tokens).distinct().sorted().toArray();
        Tensor rows = checkpoint.readRows(EMBEDDING, unique); // [U, D], stored dtype
        long[] index = new long[tokens.length];
        for (int t = 0; t < tokens.length; t++) index[t] = java.util.Arrays.binarySearch(unique, tokens[t]);
        return rows.index_select(0, Tensors.ofLongs(index))
                .to(device, options.dtype().scalarType());
    }

    @Override
    public synchronized Tensor project(Tensor hidden) {
        if (lmHead == null) {
            try (PointerScope scope = new PointerScope()) {
                lmHead = Tensors.keep(config.tieWordEmbeddings() ? loader.embedding() : loader.lmHead());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return DecoderStep.linear(hidden, lmHead, null);
    }

    /** lm_head is read for a chunk's sink phase and released after it. */
    private synchronized void releaseHead() {
        Tensors.release(lmHead);
        lmHead = null;
    }

    @Override
    public void close() {
        if (prefetcher != null) prefetcher.shutdownNow();
        if (resident != null) resident.release();
        resident = null;
        loader.close();
        releaseHead();
        Tensors.release(finalNorm);
        checkpoint.close();
    }
}
