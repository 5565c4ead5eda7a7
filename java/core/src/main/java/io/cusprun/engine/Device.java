package io.cusprun.engine;

import java.util.Locale;

/**
 * Where a model or a kernel runs: the CPU, or CUDA device {@code index}. The one parser of the
 * device names every front end takes ({@code cpu}, {@code cuda} = {@code cuda:0}, {@code cuda:N}),
 * and the one place that turns a LibTorch tensor's device into a name.
 *
 * @param index -1 for the CPU, else the CUDA device index
 */
public record Device(int index) {
    /** The CPU. */
    public static final Device CPU = new Device(-1);

    public Device {
        if (index < -1) throw new IllegalArgumentException("device index " + index + " < -1");
    }

    /** CUDA device {@code index}. */
    public static Device cuda(int index) {
        if (index < 0) throw new IllegalArgumentException("negative CUDA device index " + index);
        return new Device(index);
    }

    /**
     * {@code cpu}, {@code cuda} or {@code cuda:N} (case and surrounding blanks ignored); anything
     * else is an {@link IllegalArgumentException} naming the value.
     */
    public static Device parse(String name) {
        String d = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (d.equals("cpu")) return CPU;
        if (d.equals("cuda")) return cuda(0);
        if (d.matches("cuda:\\d{1,4}")) return cuda(Integer.parseInt(d.substring(5)));
        throw new IllegalArgumentException("bad device '" + name + "': expected cpu, cuda or cuda:N");
    }

    /** The device a LibTorch tensor lives on. */
    public static Device of(org.bytedeco.pytorch.Tensor t) {
        return t.is_cuda() ? cuda(t.device().index()) : CPU;
    }

    public boolean isCuda() {
        return index >= 0;
    }

    /** {@code cpu} or {@code cuda:N}, the name LibTorch and the flags take. */
    @Override
    public String toString() {
        return isCuda() ? "cuda:" + index : "cpu";
    }
}
