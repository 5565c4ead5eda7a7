package io.cusprun.model;

import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Rotary position embedding in HF's rotate-half convention: x*cos + rotate_half(x)*sin with
 * rotate_half([x1, x2]) = [-x2, x1], frequencies theta^(-2i/d) (optionally scaled, see
 * {@link RopeScaling}); the angles are formed in fp32 and cos/sin cast to the activation dtype,
 * as HF does.
 *
 * <p>cos and sin are computed here in Java ({@link StrictMath}, one rounding to fp32), not with
 * LibTorch's {@code cos}/{@code sin}: those evaluate a tensor in chunks per thread, vectorized
 * inside a chunk and by a scalar formula at its tail, so their last bit depended on the number
 * of threads; the tables must be the same on every machine (docs/scores.md, "Determinism").
 */
final class Rope {

    private final float[] invFreq; // [d/2]

    Rope(ModelConfig config) {
        int half = config.headDim() / 2;
        double[] inv = new double[half];
        for (int i = 0; i < half; i++) {
            inv[i] = 1.0 / Math.pow(config.ropeTheta(), (2.0 * i) / config.headDim());
        }
        double[] scaled = config.ropeScaling().apply(inv);
        this.invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            invFreq[i] = (float) scaled[i];
        }
    }

    /** cos and sin for positions [N] (int64, on the device): two [N, 1, d] tensors in {@code dtype}. */
    Tensor[] cosSin(Tensor positions, torch.ScalarType dtype) {
        long[] pos = Tensors.toLongs(positions);
        int half = invFreq.length, d = 2 * half;
        float[] cos = new float[pos.length * d], sin = new float[pos.length * d];
        for (int t = 0; t < pos.length; t++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos[t] * invFreq[i]; // fp32, as HF's position * inv_freq
                float c = (float) StrictMath.cos(angle), s = (float) StrictMath.sin(angle);
                cos[t * d + i] = cos[t * d + half + i] = c; // both halves: cat(freqs, freqs)
                sin[t * d + i] = sin[t * d + half + i] = s;
            }
        }
        Device device = positions.device();
        return new Tensor[] {
            Tensors.ofFloats(cos, pos.length, 1, d).to(device, dtype),
            Tensors.ofFloats(sin, pos.length, 1, d).to(device, dtype)
        };
    }

    /** The inverse frequencies, fp32 [d/2]. */
    float[] invFreq() {
        return invFreq.clone();
    }

    /** Applies the rotation to x [N, heads, d]; returns a new tensor. */
    static Tensor apply(Tensor x, Tensor cos, Tensor sin) {
        long half = x.size(2) / 2;
        Tensor x1 = x.narrow(2, 0, half);
        Tensor x2 = x.narrow(2, half, half);
        Tensor rotated = torch.cat(new TensorVector(x2.neg(), x1), 2);
        return x.mul(cos).add_(rotated.mul_(sin));
    }
}
