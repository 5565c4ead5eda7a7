package io.cusprun.engine;

import static io.cusprun.engine.TestTensors.*;
import static org.junit.jupiter.api.Assertions.*;

import io.cusprun.model.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/**
 * docs/method.md ("Relevance of a unit") is exact, not an estimate: actually remove a neuron / head / KV group / q-k unit
 * in a LibTorch computation (fp32) of the block output and compare the Frobenius norm of the
 * change with the relevance the kernels give.
 */
class RelevanceExactnessTest {
    private static final double RTOL = 1e-4;

    private static void assertRel(double want, double got, String what) {
        assertTrue(want > 1e-6, what + ": degenerate case (norm " + want + ")");
        assertEquals(want, got, RTOL * want, what);
    }

    private static double norm(Tensor t) {
        return t.norm().item_double();
    }

    @Test
    void ffnNeuronRelevanceIsTheOutputChange() {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(21);
            long T = 29, D = 64, F = 96;
            long[] offs = {0, 13, 29};
            Tensor x = randn(T, D);
            Tensor wg = randn(F, D).div(new Scalar(8.0)), wu = randn(F, D).div(new Scalar(8.0));
            Tensor wd = randn(D, F).div(new Scalar(10.0));
            Tensor gate = x.mm(wg.t()), up = x.mm(wu.t());
            Tensor acc = zeros(ScalarType.Double, 2, F);
            RelevanceKernels.cpu().ffnSwiglu(gate, up, null, Tensors.ofLongs(offs), acc);
            double[] a = Tensors.toDoubles(acc);

            Tensor act = torch.silu(gate).mul(up); // the MLP in LibTorch
            Tensor out = act.mm(wd.t());
            for (int k : new int[] {0, 17, 58, 95}) {
                Tensor cut = act.clone();
                cut.narrow(1, k, 1).zero_(); // remove neuron k
                Tensor delta = out.sub(cut.mm(wd.t()));
                double wnorm = norm(wd.narrow(1, k, 1));
                for (int doc = 0; doc < 2; doc++) {
                    double change = norm(delta.narrow(0, offs[doc], offs[doc + 1] - offs[doc]));
                    assertRel(change, Math.sqrt(a[(int) (doc * F + k)]) * wnorm, "FFN neuron " + k + " doc " + doc);
                }
            }
        }
    }

    @Test
    void headAndGroupRelevanceIsTheOutputChange() {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(22);
            int T = 21, D = 48, H = 6, Hkv = 2, d = 8, gs = H / Hkv, n = gs * d;
            Tensor x = randn(T, D);
            Tensor wq = randn(H * d, D).div(new Scalar(7.0)),
                    wk = randn(Hkv * d, D).div(new Scalar(7.0));
            Tensor wv = randn(Hkv * d, D).div(new Scalar(7.0)),
                    wo = randn(D, H * d).div(new Scalar(7.0));
            Tensor q = x.mm(wq.t()).reshape(T, H, d), k = x.mm(wk.t()).reshape(T, Hkv, d);
            Tensor v = x.mm(wv.t()).reshape(T, Hkv, d);
            Tensor mask = causalMask(T, ScalarType.Float);
            Tensor z = zeros(ScalarType.Float, T, H, d); // causal GQA attention, head by head
            for (int h = 0; h < H; h++) {
                Tensor p = torch.softmax(
                        q.select(1, h)
                                .mm(k.select(1, h / gs).t())
                                .div(new Scalar(Math.sqrt(d)))
                                .add(mask),
                        1);
                z.select(1, h).copy_(p.mm(v.select(1, h / gs)));
            }
            Tensor out = z.reshape(T, H * d).mm(wo.t()); // o_proj
            Tensor gram = zeros(ScalarType.Double, 1, Hkv, n, n);
            RelevanceKernels.cpu().headGram(z, H, gs, Tensors.ofLongs(new long[] {0, T}), gram);

            for (int h = 0; h < H; h++) { // one head: sqrt(trace(G_h S_h))
                Tensor cut = z.clone();
                cut.select(1, h).zero_();
                double change = norm(out.sub(cut.reshape(T, H * d).mm(wo.t())));
                Tensor woh = wo.narrow(1, (long) h * d, d).to(ScalarType.Double);
                Tensor s = gram.select(0, 0)
                        .select(0, h / gs)
                        .narrow(0, (long) (h % gs) * d, d)
                        .narrow(1, (long) (h % gs) * d, d);
                double rel = Math.sqrt(torch.trace(woh.t().mm(woh).mm(s)).item_double());
                assertRel(change, rel, "head " + h);
            }
            for (int g = 0; g < Hkv; g++) { // a KV group: its query heads together, cross-head Gram
                Tensor cut = z.clone();
                cut.narrow(1, (long) g * gs, gs).zero_();
                double change = norm(out.sub(cut.reshape(T, H * d).mm(wo.t())));
                Tensor wog = wo.narrow(1, (long) g * n, n).to(ScalarType.Double);
                double rel = Math.sqrt(
                        torch.trace(wog.t().mm(wog).mm(gram.select(0, 0).select(0, g)))
                                .item_double());
                assertRel(change, rel, "group " + g);
            }
        }
    }

    @Test
    void qkUnitRelevanceIsTheAttentionChange() {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(23);
            int T = 24, H = 2, Hkv = 1, d = 8;
            long[] offs = {0, 10, 24};
            Tensor q = randn(T, H, d), k = randn(T, Hkv, d);
            float scale = (float) (1 / Math.sqrt(d));
            for (boolean pairs : new boolean[] {true, false}) {
                int units = pairs ? d / 2 : d;
                Tensor acc = zeros(ScalarType.Double, 2, H, units);
                RelevanceKernels.cpu().qkNeuron(q, k, H, Hkv, scale, pairs, Tensors.ofLongs(offs), acc);
                double[] a = Tensors.toDoubles(acc);
                for (int doc = 0; doc < 2; doc++)
                    for (int h = 0; h < H; h++) {
                        long L = offs[doc + 1] - offs[doc];
                        // fp32 attention probabilities with and without the unit's q.k part
                        double[] r = qkReference(
                                q.narrow(0, offs[doc], L).select(1, h).contiguous(),
                                k.narrow(0, offs[doc], L).select(1, 0).contiguous(),
                                scale,
                                pairs,
                                ScalarType.Float);
                        for (int u = 0; u < units; u++)
                            assertEquals(
                                    Math.sqrt(r[u]),
                                    Math.sqrt(a[(doc * H + h) * units + u]),
                                    2e-4 * Math.sqrt(r[u]) + 1e-6,
                                    "qk unit " + u + " head " + h + " doc " + doc + " pairs " + pairs);
                    }
            }
        }
    }
}
