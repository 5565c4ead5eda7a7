package io.cusprun.engine;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
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

    static Tensor longs(long... v) {
        Tensor t = zeros(ScalarType.Long, v.length);
        new LongPointer(t.data_ptr()).put(v);
        return t;
    }

    static Tensor floats(float[] v, long... shape) {
        Tensor t = zeros(ScalarType.Float, shape);
        new FloatPointer(t.data_ptr()).put(v);
        return t;
    }

    static double[] doubles(Tensor t) {
        Tensor c = t.to(ScalarType.Double).contiguous();
        double[] a = new double[(int) c.numel()];
        new DoublePointer(c.data_ptr()).get(a);
        return a;
    }

    static float[] floatsOf(Tensor t) {
        Tensor c = t.to(ScalarType.Float).contiguous();
        float[] a = new float[(int) c.numel()];
        new FloatPointer(c.data_ptr()).get(a);
        return a;
    }

    static int[] ints(Tensor t) {
        Tensor c = t.contiguous();
        int[] a = new int[(int) c.numel()];
        new IntPointer(c.data_ptr()).get(a);
        return a;
    }

    /** Additive causal mask [L,L]: 0 on and below the diagonal, -inf above. */
    static Tensor causalMask(int L, ScalarType dt) {
        float[] m = new float[L * L];
        for (int s = 0; s < L; s++)
            for (int t = s + 1; t < L; t++) m[s * L + t] = Float.NEGATIVE_INFINITY;
        return floats(m, L, L).to(dt);
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
