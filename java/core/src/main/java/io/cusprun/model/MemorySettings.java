package io.cusprun.model;

import io.cusprun.SettingException;
import io.cusprun.engine.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * How a run that executes the model may use memory (docs/memory.md).
 *
 * @param stream force the layer-streamed mode (one decoder layer resident at a time)
 * @param budget bytes the run may use on the device that holds the weights (the host for "cpu",
 *               the GPU for "cuda:N"); empty: from the machine ({@link #machineBudget}). When the
 *               whole model does not fit, the run streams.
 */
public record MemorySettings(boolean stream, OptionalLong budget) {

    /** In memory when the model fits the machine, streamed otherwise. */
    public static final MemorySettings DEFAULTS = new MemorySettings(false, OptionalLong.empty());

    public MemorySettings {
        if (budget == null) budget = OptionalLong.empty();
        if (budget.isPresent() && budget.getAsLong() <= 0)
            throw new SettingException("budget", "must be positive, not " + budget.getAsLong());
    }

    public MemorySettings withStream(boolean s) {
        return new MemorySettings(s, budget);
    }

    /** At most {@code b} bytes (positive). */
    public MemorySettings withBudget(long b) {
        return new MemorySettings(stream, OptionalLong.of(b));
    }

    /**
     * The default budget: 90 % of the memory available now (MemAvailable, capped by the cgroup's
     * limit where one is set) on the host; 90 % of the GPU's total memory on a GPU.
     */
    public static long machineBudget(String device) {
        Device d = Device.parse(device);
        if (d.isCuda()) {
            try {
                return (long) (0.9 * gpuTotalBytes(d.index()));
            } catch (NoClassDefFoundError e) { // org.bytedeco:cuda is an optional dependency of cusprun-core
                throw new IllegalStateException("the memory budget of " + device + " is read through JavaCPP's CUDA "
                        + "presets (org.bytedeco:cuda), which are not on the class path: add them, or give the budget "
                        + "(MemorySettings.withBudget)");
            }
        }
        long available = meminfo("MemAvailable");
        long cgroup = cgroupLimit();
        if (cgroup > 0 && cgroup < available) available = cgroup;
        return (long) (0.9 * available);
    }

    private static long gpuTotalBytes(int index) {
        org.bytedeco.cuda.global.cudart.cudaSetDevice(index);
        try (org.bytedeco.javacpp.SizeTPointer free = new org.bytedeco.javacpp.SizeTPointer(1);
                org.bytedeco.javacpp.SizeTPointer total = new org.bytedeco.javacpp.SizeTPointer(1)) {
            int rc = org.bytedeco.cuda.global.cudart.cudaMemGetInfo(free, total);
            if (rc != 0)
                throw new IllegalStateException("cudaMemGetInfo failed on cuda:" + index + " (error " + rc + ")");
            return total.get();
        }
    }

    /** A field of /proc/meminfo in bytes; Runtime's max memory where there is none. */
    static long meminfo(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux: fall through
        }
        return Runtime.getRuntime().maxMemory();
    }

    private static long cgroupLimit() {
        try {
            String v = Files.readString(Path.of("/sys/fs/cgroup/memory.max")).trim();
            return v.equals("max") ? 0 : Long.parseLong(v);
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** "6G", "512M", "1.5G", "4096" (bytes); K, M, G, T are powers of 1024. */
    public static long parseSize(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT).replaceAll("I?B$", "");
        long unit = 1;
        if (!t.isEmpty() && "KMGT".indexOf(t.charAt(t.length() - 1)) >= 0) {
            unit = 1L << (10 * ("KMGT".indexOf(t.charAt(t.length() - 1)) + 1));
            t = t.substring(0, t.length() - 1);
        }
        double v;
        try {
            v = Double.parseDouble(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a size: " + text + " (e.g. 6G, 512M)");
        }
        if (!(v > 0) || v * unit > Long.MAX_VALUE / 2) {
            throw new IllegalArgumentException("not a positive size: " + text);
        }
        return (long) Math.ceil(v * unit);
    }

    /** Bytes as "3.61 GB" (powers of 1024, as the sizes the options take). */
    public static String format(long bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.2f GB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format(Locale.ROOT, "%.1f MB", bytes / (double) (1L << 20));
        return String.format(Locale.ROOT, "%.0f KB", bytes / 1024.0);
    }
}
