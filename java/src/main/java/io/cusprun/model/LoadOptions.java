package io.cusprun.model;

/**
 * Where and in which precision the model runs.
 *
 * @param device LibTorch device string: "cpu", "cuda", "cuda:1"
 * @param dtype  compute dtype of weights and activations: F32 (the CPU default), or BF16/F16 on a GPU
 */
public record LoadOptions(String device, DType dtype) {

    public LoadOptions {
        if (!dtype.isFloatingPoint() || dtype == DType.F64) {
            throw new IllegalArgumentException("compute dtype must be F32, BF16 or F16, not " + dtype);
        }
    }

    /** fp32 on the CPU: bf16/fp16 checkpoints are converted at load. */
    public static LoadOptions cpu() {
        return new LoadOptions("cpu", DType.F32);
    }

    public boolean isCpu() {
        return device.equals("cpu");
    }
}
