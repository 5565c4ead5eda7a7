package io.cusprun.model;

import io.cusprun.SettingException;
import io.cusprun.engine.KernelBackend;

/**
 * Where and in which precision the model runs.
 *
 * @param device  LibTorch device string: "cpu", "cuda", "cuda:1"
 * @param dtype   compute dtype of weights and activations: F32 (the CPU default), or BF16/F16 on a GPU
 * @param storage dtype the weights are kept in between layers (null: the compute dtype). When it
 *                differs, each layer's weights are converted to the compute dtype as the layer
 *                runs and freed after it: fp32 compute over a bf16 checkpoint then needs the
 *                checkpoint's size in memory instead of twice that.
 * @param ffn     the SwiGLU activation of plain inference ({@link LayerHooks#inference}): the
 *                native fused kernel (default) or LibTorch's ops; both agree to float rounding
 */
public record LoadOptions(String device, DType dtype, DType storage, KernelBackend ffn) {

    /** fp32 on the CPU: bf16/fp16 checkpoints are converted at load; the native FFN kernel. */
    public static final LoadOptions DEFAULTS = new LoadOptions("cpu", DType.F32, DType.F32, KernelBackend.NATIVE);

    public LoadOptions {
        if (!dtype.isFloatingPoint() || dtype == DType.F64) {
            throw new SettingException("dtype", "must be F32, BF16 or F16, not " + dtype);
        }
        if (storage == null) {
            storage = dtype;
        }
        if (ffn == null) {
            ffn = KernelBackend.NATIVE;
        }
        if (!storage.isFloatingPoint() || storage == DType.F64) {
            throw new SettingException("storage", "must be F32, BF16 or F16, not " + storage);
        }
    }

    public LoadOptions withDevice(String d) {
        return new LoadOptions(d, dtype, storage, ffn);
    }

    /** Computes in {@code t} with the weights stored in {@code t} too (then {@link #withStorage} to differ). */
    public LoadOptions withDtype(DType t) {
        return new LoadOptions(device, t, t, ffn);
    }

    /** The same with the weights kept in {@code storage} (see the record's doc). */
    public LoadOptions withStorage(DType storage) {
        return new LoadOptions(device, dtype, storage, ffn);
    }

    /** The same with plain inference's FFN activation computed by {@code backend}. */
    public LoadOptions withFfn(KernelBackend backend) {
        return new LoadOptions(device, dtype, storage, backend);
    }

    /** Whether weights are converted per layer (storage differs from compute). */
    public boolean convertsPerLayer() {
        return storage != dtype;
    }
}
