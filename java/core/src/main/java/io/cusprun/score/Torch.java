package io.cusprun.score;

import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Small LibTorch helpers of this package: exact copies between tensors and Java arrays. */
final class Torch {
    private Torch() {}

    static Tensor zerosOn(org.bytedeco.pytorch.Device device, long... shape) {
        return torch.zeros(shape, new TensorOptions(torch.ScalarType.Double).device(new org.bytedeco.pytorch.DeviceOptional(device)));
    }

    static Tensor longsOn(long[] v, org.bytedeco.pytorch.Device device) {
        Tensor t = torch.empty(new long[] {v.length}, new TensorOptions(torch.ScalarType.Long), new MemoryFormatOptional());
        t.data_ptr_long().put(v, 0, v.length);
        return t.to(device, torch.ScalarType.Long);
    }

    static long[] longs(Tensor t) {
        Tensor c = t.to(torch.ScalarType.Long).cpu().contiguous();
        long[] out = new long[(int) c.numel()];
        c.data_ptr_long().get(out);
        return out;
    }

    static double[] doubles(Tensor t) {
        Tensor c = t.to(torch.ScalarType.Double).cpu().contiguous();
        double[] out = new double[(int) c.numel()];
        c.data_ptr_double().get(out);
        return out;
    }
}
