package io.cusprun.bench;

import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Per-invocation work, reported by JMH as rates next to ops/s: {@code elements} (kernel
 * elements per second, defined per benchmark), {@code bytes} (bytes moved to or from memory per
 * second, counted from the tensors' sizes: GB/s = bytes / 1e9) and {@code flops}.
 */
@AuxCounters(AuxCounters.Type.OPERATIONS)
@State(Scope.Thread)
public class Traffic {
    public long elements;
    public long bytes;
    public long flops;

    @Setup(Level.Iteration)
    public void reset() {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        elements = 0;
        bytes = 0;
        flops = 0;
    }

    void add(long elements, long bytes, long flops) {
        this.elements += elements;
        this.bytes += bytes;
        this.flops += flops;
    }
}
