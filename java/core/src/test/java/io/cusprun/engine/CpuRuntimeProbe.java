package io.cusprun.engine;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * Run in a fresh JVM by {@link CpuRuntimeTest} (the settings are per process and must precede the
 * first tensor): configures the CPU runtime, then prints what LibTorch does with it, one
 * {@code key=value} per line.
 */
public final class CpuRuntimeProbe {
    private CpuRuntimeProbe() {}

    public static void main(String[] args) {
        CpuRuntime.configure();
        try (PointerScope scope = new PointerScope()) {
            Tensor big = torch.empty(4L << 20); // 16 MB of fp32: above the 2 MB huge-page threshold
            System.out.println("hugePages=" + CpuRuntime.hugePages());
            // with huge pages LibTorch aligns buffers to the page size (64 bytes otherwise)
            System.out.println("pageAligned=" + (big.data_ptr().address() % 4096 == 0));
            System.out.println("torchThreads=" + torch.get_num_threads());
            System.out.println("processors=" + Runtime.getRuntime().availableProcessors());
        }
    }
}
