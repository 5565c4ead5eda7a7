package io.cusprun.bench;

import io.cusprun.model.DType;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemoryPlan;
import io.cusprun.model.MemorySettings;
import io.cusprun.model.ModelConfig;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The memory plan of scoring the public shapes under benchmarks/shapes (config.json only; bf16
 * checkpoints) on a 24 GB host, one 80 GB GPU and eight of them, as a Markdown table for
 * docs/memory.md. The work: three corpora of 512-token documents in 2048-token batches, 100
 * rank bins, 1.5 M tokens in all.
 *
 * <p>Args: the shape folders (default the three under benchmarks/shapes).
 */
public final class MemoryPlanTable {
    private static final long GIB = 1L << 30;

    private MemoryPlanTable() {}

    public static void main(String[] args) throws Exception {
        String[] shapes = args.length > 0
                ? args
                : new String[] {
                    "benchmarks/shapes/llama-3-8b",
                    "benchmarks/shapes/mistral-nemo-12b",
                    "benchmarks/shapes/llama-3-70b"
                };
        System.out.println(
                "| model | checkpoint (bf16) | machine | budget | mode | chunk (tokens) | peak host | peak per GPU |");
        System.out.println("|---|---:|---|---:|---|---:|---:|---:|");
        for (String shape : shapes) {
            ModelConfig config = ModelConfig.read(Path.of(shape));
            for (Machine m : Machine.values()) {
                LoadOptions load = m.gpu
                        ? LoadOptions.DEFAULTS.withDevice("cuda:0").withDtype(DType.BF16)
                        : LoadOptions.DEFAULTS.withStorage(DType.BF16);
                MemoryPlan.Work work = MemoryPlan.Work.score(2048, 4, 512, 1_500_000L / m.devices, 2_930 / m.devices)
                        .withRanks(3, 100, false);
                MemoryPlan p =
                        MemoryPlan.of(config, DType.BF16, load, MemorySettings.DEFAULTS.withBudget(m.budget), work);
                long chunkTokens = p.streamed() ? p.chunkBytes() / Math.max(1, p.batchCost(512, 1) / 512) : 0;
                System.out.printf(
                        Locale.ROOT,
                        "| %s | %.1f GB | %s | %.1f GB | %s | %s | %.1f GB | %s |%n",
                        Path.of(shape).getFileName(),
                        checkpointBytes(config) / 1e9,
                        m.label,
                        m.budget / (double) GIB,
                        p.streamed() ? (p.prefetch() ? "streamed, prefetch" : "streamed") : "in memory",
                        p.streamed() ? String.format(Locale.ROOT, "%,d", chunkTokens) : "—",
                        p.peakHost() / (double) GIB,
                        m.gpu ? String.format(Locale.ROOT, "%.1f GB", p.peakDevice() / (double) GIB) : "—");
            }
        }
    }

    /** The machines of the table: a workstation, one GPU, eight GPUs (one worker each, the corpus dealt). */
    enum Machine {
        HOST_24("24 GB host (CPU)", false, 1, (long) (0.9 * 24 * GIB)),
        GPU_80("1 × 80 GB GPU", true, 1, (long) (0.9 * 80 * GIB)),
        GPU_8X80("8 × 80 GB GPUs (per GPU)", true, 8, (long) (0.9 * 80 * GIB));

        final String label;
        final boolean gpu;
        final int devices;
        final long budget;

        Machine(String label, boolean gpu, int devices, long budget) {
            this.label = label;
            this.gpu = gpu;
            this.devices = devices;
            this.budget = budget;
        }
    }

    static long checkpointBytes(ModelConfig c) {
        long d = c.hiddenSize(), params = c.vocabSize() * d * (c.tieWordEmbeddings() ? 1 : 2) + d;
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            var s = c.layer(i);
            long hd = (long) s.numAttentionHeads() * c.headDim(), kv = (long) s.numKeyValueHeads() * c.headDim();
            params += (hd + 2 * kv) * d + d * hd + 3L * s.intermediateSize() * d + 2 * d;
        }
        return params * 2;
    }
}
