package io.cusprun.model;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Rotary position embedding in HF's rotate-half convention: x*cos + rotate_half(x)*sin with
 * rotate_half([x1, x2]) = [-x2, x1], frequencies theta^(-2i/d) (optionally scaled, see
 * {@link RopeScaling}); cos/sin are formed in fp32 and cast to the activation dtype, as HF does.
 */
final class Rope {

    private final Tensor invFreq; // [d/2], fp32, on the model's device

    Rope(ModelConfig config, Device device) {
        int half = config.headDim() / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim());
        }
        double[] scaled = config.ropeScaling().apply(inv);
        float[] f = new float[half];
        for (int i = 0; i < half; i++) {
            f[i] = (float) scaled[i];
        }
        this.invFreq = Tensors.keep(Tensors.ofFloats(f).to(device, torch.ScalarType.Float));
    }

    /** cos and sin for positions [N] (int64, on the device): two [N, 1, d] tensors in {@code dtype}. */
    Tensor[] cosSin(Tensor positions, torch.ScalarType dtype) {
        Tensor freqs = positions.to(torch.ScalarType.Float).unsqueeze(1).mul(invFreq.unsqueeze(0)); // [N, d/2]
        Tensor emb = torch.cat(new TensorVector(freqs, freqs), 1).unsqueeze(1); // [N, 1, d]
        return new Tensor[] {emb.cos().to(dtype), emb.sin().to(dtype)};
    }

    /** Applies the rotation to x [N, heads, d]; returns a new tensor. */
    static Tensor apply(Tensor x, Tensor cos, Tensor sin) {
        long half = x.size(2) / 2;
        Tensor x1 = x.narrow(2, 0, half);
        Tensor x2 = x.narrow(2, half, half);
        Tensor rotated = torch.cat(new TensorVector(x2.neg(), x1), 2);
        return x.mul(cos).add_(rotated.mul_(sin));
    }

    void close() {
        Tensors.release(invFreq);
    }
}
