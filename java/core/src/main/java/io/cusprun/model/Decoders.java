package io.cusprun.model;

import java.io.IOException;
import java.nio.file.Path;

/** Opens the decoder a memory plan asks for: the whole model resident, or layer-streamed. */
public final class Decoders {
    private Decoders() {}

    /**
     * The plan of {@code work} for the model in {@code dir} on {@code load}'s device under {@code
     * memory}; see {@link MemoryPlan#of}.
     */
    public static MemoryPlan plan(Path dir, LoadOptions load, MemorySettings memory, MemoryPlan.Work work)
            throws IOException {
        ModelConfig config = ModelConfig.read(dir);
        DType stored;
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            stored = storedType(checkpoint);
        }
        return MemoryPlan.of(config, stored, load, memory, work);
    }

    /** The decoder for a plan: {@link LlamaModel} with {@code load}, or a {@link StreamedDecoder}. */
    public static Decoder open(Path dir, LoadOptions load, MemoryPlan plan) throws IOException {
        return plan.streamed() ? StreamedDecoder.open(dir, load, plan) : LlamaModel.load(dir, load);
    }

    /** The widest floating-point dtype among the checkpoint's tensors (what a read buffer holds). */
    static DType storedType(Checkpoint checkpoint) throws IOException {
        DType widest = DType.BF16;
        for (String name : checkpoint.tensorNames()) {
            DType t = checkpoint.info(name).dtype();
            if (t.isFloatingPoint() && t.byteSize() > widest.byteSize()) widest = t;
        }
        return widest;
    }
}
