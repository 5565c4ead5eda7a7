package io.cusprun.engine;

import io.cusprun.model.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** Small helpers for building and reading CPU tensors in tests. */
final class TestTensors {
    private TestTensors() {}

    static Tensor zeros(ScalarType dt, long... shape) {
        return torch.zeros(shape, new TensorOptions(dt));
    }

    static Tensor randn(long... shape) {
        return torch.randn(shape, new TensorOptions(ScalarType.Float));
    }

    /** Uniform [0,1) values: accumulators are add-into, so tests start them non-zero. */
    static Tensor rand(ScalarType dt, long... shape) {
        return torch.rand(shape, new TensorOptions(dt));
    }

    static Tensor nans(ScalarType dt, long... shape) {
        Tensor t = zeros(dt, shape);
        t.fill_(new Scalar(Double.NaN));
        return t;
    }

    /** Additive causal mask [L,L]: 0 on and below the diagonal, -inf above. */
    static Tensor causalMask(int L, ScalarType dt) {
        float[] m = new float[L * L];
        for (int s = 0; s < L; s++) for (int t = s + 1; t < L; t++) m[s * L + t] = Float.NEGATIVE_INFINITY;
        return Tensors.ofFloats(m, L, L).to(dt);
    }

    /**
     * ||softmax(A) - softmax(A - D_u)||_F^2 for every unit u of one head on one document,
     * computed the plain way in LibTorch: D_u is removed by zeroing the unit's dims of q.
     * q, k: [L, d] in the given dtype.
     */
    static double[] qkReference(Tensor q, Tensor k, double scale, boolean ropePairs, ScalarType dt) {
        int L = (int) q.size(0), d = (int) q.size(1), units = ropePairs ? d / 2 : d;
        Tensor mask = causalMask(L, dt);
        Tensor kt = k.t();
        Tensor p = torch.softmax(q.mm(kt).mul(new Scalar(scale)).add(mask), 1);
        double[] out = new double[units];
        for (int u = 0; u < units; u++) {
            Tensor qu = q.clone();
            qu.narrow(1, u, 1).zero_();
            if (ropePairs) qu.narrow(1, u + d / 2, 1).zero_();
            Tensor p2 = torch.softmax(qu.mm(kt).mul(new Scalar(scale)).add(mask), 1);
            Tensor diff = p.sub(p2);
            double n = diff.norm().item_double();
            out[u] = n * n;
        }
        return out;
    }
}
