package io.cusprun.model;

import io.cusprun.engine.Device;
import io.cusprun.engine.RelevanceKernels;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.pytorch.BoolOptional;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.LayoutOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * act = silu(gate) * up by the native engine's fused kernel ({@code ffn_swiglu} without
 * accumulation), one pass over gate/up straight from the strided [T, 2F] projection. The kernels
 * of each device are looked up once.
 */
final class NativeFfnActivation implements FfnActivation {

    private final Map<Device, RelevanceKernels> kernels = new ConcurrentHashMap<>();

    @Override
    public Tensor apply(int layer, Tensor gate, Tensor up, Batch batch) {
        Device device = Device.of(gate);
        Tensor act = torch.empty(
                new long[] {gate.size(0), gate.size(1)},
                new ScalarTypeOptional(gate.scalar_type()),
                new LayoutOptional(),
                new DeviceOptional(gate.device()),
                new BoolOptional(),
                new MemoryFormatOptional());
        kernels.computeIfAbsent(device, d -> RelevanceKernels.forDevice(d)).ffnSwiglu(gate, up, act, null, null);
        return act;
    }
}
