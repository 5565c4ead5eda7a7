package io.cusprun.score;

import io.cusprun.model.Checkpoint;
import io.cusprun.model.DType;
import io.cusprun.model.Decoder;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.StreamedDecoder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The model side of a score run: its fingerprint and sizes, and per device one replica, its
 * weight-side relevance factors and the kernels. Replicas load on first use; workers on the
 * same device share one (the weights are read-only).
 */
public final class ScoreTarget implements AutoCloseable {
    private final Path modelDir;
    private final ModelConfig config;
    private final String fingerprint;
    private final Function<String, RelevanceBackend> backends;
    private final Map<String, LlamaModel> models = new HashMap<>();
    private final Map<String, RelevanceWeights> weights = new HashMap<>();

    private ScoreTarget(
            Path modelDir, ModelConfig config, String fingerprint, Function<String, RelevanceBackend> backends) {
        this.modelDir = modelDir;
        this.config = config;
        this.fingerprint = fingerprint;
        this.backends = backends;
    }

    /** Opens a model directory; {@code backends} gives the kernels for a device string. */
    public static ScoreTarget open(Path modelDir, Function<String, RelevanceBackend> backends) throws IOException {
        io.cusprun.engine.CpuRuntime.configure(); // before any tensor: huge pages, threads
        return new ScoreTarget(modelDir, ModelConfig.read(modelDir), ModelFingerprint.of(modelDir), backends);
    }

    public String fingerprint() {
        return fingerprint;
    }

    public ModelConfig config() {
        return config;
    }

    public int[] kvHeads() {
        int[] kv = new int[config.numHiddenLayers()];
        for (int i = 0; i < kv.length; i++) kv[i] = config.layer(i).numKeyValueHeads();
        return kv;
    }

    public RelevanceBackend backend(String device) {
        return backends.apply(device);
    }

    /**
     * The replica on a device (fp32 on the CPU, bf16 on a GPU). On the CPU a checkpoint stored
     * entirely in bf16 (or fp16) keeps its weights in that dtype and converts one layer at a
     * time to fp32 as it runs (exact, so scores are the same): the resident weights are the
     * checkpoint's size instead of twice it, for a conversion per layer and batch that costs
     * about 1/T of the layer's matmuls.
     */
    public synchronized LlamaModel model(String device) {
        return models.computeIfAbsent(device, d -> {
            try {
                LoadOptions opts = d.equals("cpu")
                        ? LoadOptions.DEFAULTS.withStorage(storedHalfType(modelDir))
                        : LoadOptions.DEFAULTS.withDevice(d).withDtype(DType.BF16);
                return LlamaModel.load(modelDir, opts);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** BF16 or F16 when every floating-point tensor of the checkpoint has that dtype, else F32. */
    static DType storedHalfType(Path modelDir) throws IOException {
        DType common = null;
        try (Checkpoint cp = Checkpoint.open(modelDir)) {
            for (String name : cp.tensorNames()) {
                DType t = cp.info(name).dtype();
                if (!t.isFloatingPoint()) continue;
                if (common == null) common = t;
                else if (common != t) return DType.F32;
            }
        }
        return common == DType.BF16 || common == DType.F16 ? common : DType.F32;
    }

    /** The weight-side factors for the in-memory replica on a device (shared by its workers). */
    public synchronized RelevanceWeights weights(String device) {
        return weights.computeIfAbsent(device, d -> new RelevanceWeights(config.numHiddenLayers(), false));
    }

    /** Compute options on a device: fp32 on the CPU, bf16 on a GPU. */
    static LoadOptions loadOptions(String device) {
        return device.equals("cpu")
                ? LoadOptions.DEFAULTS
                : LoadOptions.DEFAULTS.withDevice(device).withDtype(DType.BF16);
    }

    /** The memory plan of {@code work} on {@code device} (see {@link MemoryPlan}); in memory, as {@link #model} loads. */
    public MemoryPlan plan(String device, MemorySettings memory, MemoryPlan.Work work) throws IOException {
        DType stored = storedHalfType(modelDir);
        LoadOptions resident = device.equals("cpu") ? LoadOptions.DEFAULTS.withStorage(stored) : loadOptions(device);
        return MemoryPlan.of(config, stored, resident, memory, work);
    }

    /**
     * A decoder for one worker on {@code device}: the device's shared in-memory replica, or, when
     * the plan streams, a streamed decoder of the worker's own (which the worker closes; see
     * {@link #ownedBy}).
     */
    public Decoder decoder(String device, MemoryPlan plan) throws IOException {
        return plan.streamed() ? StreamedDecoder.open(modelDir, loadOptions(device), plan) : model(device);
    }

    /** Whether the worker that asked for {@code d} must close it (the target owns its replicas). */
    public synchronized boolean ownedBy(Decoder d) {
        return !models.containsValue(d);
    }

    @Override
    public synchronized void close() {
        weights.values().forEach(RelevanceWeights::close);
        models.values().forEach(LlamaModel::close);
        weights.clear();
        models.clear();
    }
}
