package io.cusprun.engine;

import static io.cusprun.engine.TestTensors.*;
import static org.junit.jupiter.api.Assertions.*;

import io.cusprun.engine.nativeapi.CusprunNative;
import io.cusprun.model.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The facade on LibTorch tensors, every CPU variant, fp32 and bf16, against LibTorch. */
class RelevanceKernelsTest {

    static Stream<Arguments> cases(Kernel kernel) {
        List<Arguments> a = new ArrayList<>();
        for (RelevanceKernels.KernelInfo k : RelevanceKernels.kernels())
            if (k.backend().equals("cpu") && k.kernel().equals(kernel))
                for (String v : k.variants())
                    for (ScalarType dt : new ScalarType[] {ScalarType.Float, ScalarType.BFloat16})
                        a.add(Arguments.of(v, dt));
        return a.stream();
    }

    static Stream<Arguments> ffnCases() {
        return cases(Kernel.FFN_SWIGLU);
    }

    static Stream<Arguments> gramCases() {
        return cases(Kernel.HEAD_GRAM);
    }

    static Stream<Arguments> qkCases() {
        return cases(Kernel.QK_NEURON);
    }

    private static void assertClose(double[] want, double[] got, double rtol, double atol, String what) {
        assertEquals(want.length, got.length, what + ": length");
        int bad = 0, first = -1;
        for (int i = 0; i < want.length; i++)
            if (!(Math.abs(got[i] - want[i]) <= rtol * Math.abs(want[i]) + atol)) {
                if (first < 0) first = i;
                bad++;
            }
        if (bad > 0)
            fail(what + ": " + bad + " of " + want.length + " differ, first at " + first + ": got " + got[first]
                    + " want " + want[first]);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("ffnCases")
    void ffnMatchesLibTorch(String variant, ScalarType dt) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7);
            long T = 37, F = 203;
            long[] offs = {0, 5, 5, 20, 37};
            Tensor gu = randn(T, 2 * F).mul(new Scalar(2.0)).to(dt); // one fused gate_up projection
            Tensor gate = gu.narrow(1, 0, F), up = gu.narrow(1, F, F); // row-strided views
            Tensor act = nans(dt, T, F);
            Tensor acc = rand(ScalarType.Double, offs.length - 1, F);
            double[] acc0 = Tensors.toDoubles(acc);
            RelevanceKernels k = RelevanceKernels.cpu().withVariant(Kernel.FFN_SWIGLU, variant);
            assertEquals(variant, k.variant(Kernel.FFN_SWIGLU));
            k.ffnSwiglu(gate, up, act, Tensors.ofLongs(offs), acc);

            Tensor ref = torch.silu(gate.to(ScalarType.Float))
                    .mul(up.to(ScalarType.Float))
                    .to(dt);
            boolean bf16 = dt == ScalarType.BFloat16;
            assertClose(
                    Tensors.toDoubles(ref),
                    Tensors.toDoubles(act),
                    bf16 ? 8e-3 : 1e-5,
                    1e-6,
                    "act " + variant + " " + dt);

            // acc = acc0 + per-document sum of the (rounded) activation squared
            double[] r = Tensors.toDoubles(ref), mine = Tensors.toDoubles(act), got = Tensors.toDoubles(acc);
            double[] want = new double[got.length], self = new double[got.length];
            for (int doc = 0; doc + 1 < offs.length; doc++)
                for (int kk = 0; kk < F; kk++) {
                    double s = 0, m = 0;
                    for (long t = offs[doc]; t < offs[doc + 1]; t++) {
                        s += r[(int) (t * F + kk)] * r[(int) (t * F + kk)];
                        m += mine[(int) (t * F + kk)] * mine[(int) (t * F + kk)];
                    }
                    want[(int) (doc * F + kk)] = acc0[(int) (doc * F + kk)] + s;
                    self[(int) (doc * F + kk)] = acc0[(int) (doc * F + kk)] + m;
                }
            assertClose(want, got, bf16 ? 2e-2 : 1e-5, 1e-9, "acc vs LibTorch " + variant + " " + dt);
            assertClose(self, got, 1e-12, 1e-12, "acc vs own act " + variant + " " + dt);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("gramCases")
    void headGramMatchesLibTorch(String variant, ScalarType dt) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(11);
            long T = 41, H = 6, d = 24, gs = 3, ng = H / gs, n = gs * d;
            long[] offs = {0, 17, 17, 41};
            Tensor z = randn(T, H, d).to(dt);
            Tensor gram = rand(ScalarType.Double, offs.length - 1, ng, n, n);
            Tensor gram0 = gram.clone();
            // the [T, H*d] layout is accepted too
            RelevanceKernels.cpu()
                    .withVariant(Kernel.HEAD_GRAM, variant)
                    .headGram(z.reshape(T, H * d), (int) H, (int) gs, Tensors.ofLongs(offs), gram);
            for (int doc = 0; doc + 1 < offs.length; doc++)
                for (int g = 0; g < ng; g++) {
                    long L = offs[doc + 1] - offs[doc];
                    Tensor y = z.narrow(0, offs[doc], L)
                            .narrow(1, g * gs, gs)
                            .reshape(L, n)
                            .to(ScalarType.Double);
                    Tensor want = gram0.select(0, doc).select(0, g).add(y.t().mm(y));
                    assertClose(
                            Tensors.toDoubles(want),
                            Tensors.toDoubles(gram.select(0, doc).select(0, g)),
                            1e-6,
                            1e-5,
                            "gram doc " + doc + " group " + g + " " + variant + " " + dt);
                }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("qkCases")
    void qkNeuronMatchesLibTorch(String variant, ScalarType dt) {
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(5);
            long T = 30, H = 4, Hkv = 2, d = 16;
            long[] offs = {0, 12, 30};
            for (boolean pairs : new boolean[] {true, false}) {
                long units = pairs ? d / 2 : d;
                Tensor q = randn(T, H, d).to(dt), k = randn(T, Hkv, d).to(dt);
                Tensor acc = rand(ScalarType.Float, 2, H, units);
                double[] acc0 = Tensors.toDoubles(acc);
                float scale = (float) (1 / Math.sqrt(d));
                RelevanceKernels.cpu()
                        .withVariant(Kernel.QK_NEURON, variant)
                        .qkNeuron(q, k, (int) H, (int) Hkv, scale, pairs, Tensors.ofLongs(offs), acc);
                double[] got = Tensors.toDoubles(acc), want = acc0.clone();
                for (int doc = 0; doc < 2; doc++)
                    for (int h = 0; h < H; h++) {
                        long L = offs[doc + 1] - offs[doc];
                        Tensor qh = q.narrow(0, offs[doc], L).select(1, h).to(ScalarType.Double);
                        Tensor kh = k.narrow(0, offs[doc], L)
                                .select(1, h / (H / Hkv))
                                .to(ScalarType.Double);
                        double[] r = qkReference(qh, kh, scale, pairs, ScalarType.Double);
                        for (int u = 0; u < units; u++) want[(int) ((doc * H + h) * units + u)] += r[u];
                    }
                assertClose(want, got, 1e-4, 1e-6, "qk " + variant + " " + dt + " pairs " + pairs);
            }
        }
    }

    @Test
    void rankUpdateMatchesBruteForce() {
        for (String variant : List.of("1_naive", "2_omp_simd")) {
            for (ScalarType dt : new ScalarType[] {ScalarType.Float, ScalarType.Double}) {
                torch.manual_seed(3);
                int nDocs = 5, N = 57, nBins = 10;
                // integer values in [0, 8): many ties
                Tensor rel = torch.floor(rand(ScalarType.Float, nDocs, N).mul(new Scalar(8)))
                        .to(dt);
                Tensor rankMax = torch.full(
                        new long[] {N}, new Scalar(-1.0f), new org.bytedeco.pytorch.TensorOptions(ScalarType.Float));
                Tensor hist = zeros(ScalarType.Int, N, nBins);
                Tensor sum = zeros(ScalarType.Long, N, 2);
                RelevanceKernels.cpu().withVariant(Kernel.RANK_UPDATE, variant).rankUpdate(rel, rankMax, hist, sum);
                double[] v = Tensors.toDoubles(rel);
                float[] wantMax = new float[N];
                java.util.Arrays.fill(wantMax, -1f);
                int[] wantHist = new int[N * nBins];
                double[] wantSum = new double[N];
                for (int doc = 0; doc < nDocs; doc++)
                    for (int k = 0; k < N; k++) {
                        int less = 0, eq = 0;
                        for (int j = 0; j < N; j++) {
                            less += v[doc * N + j] < v[doc * N + k] ? 1 : 0;
                            eq += v[doc * N + j] == v[doc * N + k] ? 1 : 0;
                        }
                        double p = (less + (eq - 1) / 2.0) / (N - 1);
                        wantMax[k] = Math.max(wantMax[k], (float) p);
                        wantHist[k * nBins + Math.min(nBins - 1, (int) Math.floor(p * nBins))]++;
                        wantSum[k] += v[doc * N + k];
                    }
                assertArrayEquals(wantMax, Tensors.toFloats(rankMax), 1e-7f, "rankMax " + variant + " " + dt);
                assertArrayEquals(wantHist, Tensors.toInts(hist), "rankHist " + variant + " " + dt);
                // integer relevance: the exact sums are integers with no fraction
                long[] got = Tensors.toLongs(sum);
                for (int k = 0; k < N; k++) {
                    assertEquals((long) wantSum[k], got[2 * k], "relevanceSum " + variant + " " + dt + " unit " + k);
                    assertEquals(0L, got[2 * k + 1], "relevanceSum fraction " + variant + " " + dt + " unit " + k);
                }
            }
        }
    }

    // ------------------------------------------------------------------ errors, registry

    @Test
    void badArgumentsThrowInsteadOfCrashing() {
        RelevanceKernels k = RelevanceKernels.cpu();
        Tensor g = randn(4, 8), u = randn(4, 8), act = randn(4, 8), acc = zeros(ScalarType.Float, 1, 8);
        Tensor offs = Tensors.ofLongs(new long[] {0, 4});
        var e1 = assertThrows(
                IllegalArgumentException.class,
                () -> k.ffnSwiglu(g.to(ScalarType.Int), u.to(ScalarType.Int), null, offs, acc));
        assertTrue(e1.getMessage().contains("Float, BFloat16 or Half"), e1.getMessage());
        assertThrows(IllegalArgumentException.class, () -> k.ffnSwiglu(g, randn(4, 9), act, offs, acc));
        assertThrows(IllegalArgumentException.class, () -> k.ffnSwiglu(g, u, null, offs, null));
        assertThrows(IllegalArgumentException.class, () -> k.ffnSwiglu(null, u, act, offs, acc));
        var e2 = assertThrows(
                IllegalArgumentException.class,
                () -> k.ffnSwiglu(g, u, randn(8, 4).t(), offs, acc));
        assertTrue(e2.getMessage().contains("contiguous"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> k.ffnSwiglu(g, u, act, offs.to(ScalarType.Int), acc));
        assertThrows(IllegalArgumentException.class, () -> k.ffnSwiglu(g, u, act.to(ScalarType.BFloat16), offs, acc));
        // offsets are checked natively: the status comes back as a KernelException
        var e3 = assertThrows(
                KernelException.class,
                () -> k.ffnSwiglu(g, u, act, Tensors.ofLongs(new long[] {0, 3, 2}), zeros(ScalarType.Float, 2, 8)));
        assertTrue(e3.getMessage().contains("doc_offsets"), e3.getMessage());
        assertEquals(CusprunNative.CUSPRUN_ERR_ARGUMENT, e3.status());

        Tensor z = randn(4, 6, 8);
        assertThrows(
                IllegalArgumentException.class,
                () -> k.headGram(z, 6, 4, offs, zeros(ScalarType.Double, 1, 1, 32, 32)));
        assertThrows(
                IllegalArgumentException.class, () -> k.headGram(z, 6, 2, offs, zeros(ScalarType.Double, 1, 3, 8, 8)));
        assertThrows(
                IllegalArgumentException.class,
                () -> k.headGram(z.transpose(0, 1), 4, 1, offs, zeros(ScalarType.Double, 1, 4, 8, 8)));
        Tensor q = randn(4, 2, 7);
        var e4 = assertThrows(
                IllegalArgumentException.class,
                () -> k.qkNeuron(q, q, 2, 2, 0.5f, true, offs, zeros(ScalarType.Float, 1, 2, 3)));
        assertTrue(e4.getMessage().contains("even"), e4.getMessage());
        assertThrows(
                IllegalArgumentException.class,
                () -> k.qkNeuron(q, q, 2, 3, 0.5f, false, offs, zeros(ScalarType.Float, 1, 2, 7)));
        assertThrows(
                IllegalArgumentException.class,
                () -> k.rankUpdate(
                        randn(2, 5),
                        zeros(ScalarType.Float, 5),
                        zeros(ScalarType.Long, 5, 4),
                        zeros(ScalarType.Long, 5, 2)));
        var e5 = assertThrows(
                KernelException.class,
                () -> k.rankUpdate(
                        nans(ScalarType.Float, 2, 5),
                        zeros(ScalarType.Float, 5),
                        zeros(ScalarType.Int, 5, 4),
                        zeros(ScalarType.Long, 5, 2)));
        assertTrue(e5.getMessage().contains("NaN"), e5.getMessage());
        Tensor negative = torch.ones(new long[] {2, 5}, new org.bytedeco.pytorch.TensorOptions(ScalarType.Double));
        negative.select(0, 1).select(0, 3).fill_(new Scalar(-0.5));
        Tensor untouched = zeros(ScalarType.Long, 5, 2);
        var e6 = assertThrows(
                KernelException.class,
                () -> k.rankUpdate(negative, zeros(ScalarType.Float, 5), zeros(ScalarType.Int, 5, 4), untouched));
        assertTrue(e6.getMessage().contains("relevance[1][3] is negative"), e6.getMessage());
        assertArrayEquals(new long[10], Tensors.toLongs(untouched));
    }

    @Test
    void variantsAndDevices() {
        var e = assertThrows(
                IllegalArgumentException.class, () -> RelevanceKernels.cpu().withVariant(Kernel.FFN_SWIGLU, "9_turbo"));
        assertTrue(e.getMessage().contains("1_naive") && e.getMessage().contains("2_omp_simd"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> Kernel.parse("attention"));
        assertTrue(e2.getMessage().contains("qk_neuron"), e2.getMessage());
        assertEquals(Kernel.HEAD_GRAM, Kernel.parse(" Head_Gram "));
        assertEquals(
                "1_naive",
                RelevanceKernels.cpu().withVariant(Kernel.HEAD_GRAM, "1").variant(Kernel.HEAD_GRAM));
        assertEquals("cpu", RelevanceKernels.forDevice("cpu").device());
        assertThrows(IllegalArgumentException.class, () -> RelevanceKernels.forDevice("tpu:0"));
        assertThrows(IllegalArgumentException.class, () -> RelevanceKernels.forDevice("cuda:x"));

        List<RelevanceKernels.KernelInfo> infos = RelevanceKernels.kernels();
        List<Kernel> cpuKernels = infos.stream()
                .filter(i -> i.backend().equals("cpu"))
                .map(RelevanceKernels.KernelInfo::kernel)
                .toList();
        assertEquals(List.of(Kernel.FFN_SWIGLU, Kernel.HEAD_GRAM, Kernel.QK_NEURON, Kernel.RANK_UPDATE), cpuKernels);
        for (var i : infos) {
            assertEquals("1_naive", i.variants().get(0), i.toString());
            assertTrue(i.variants().contains(i.defaultVariant()), i.toString());
        }
    }

    @Test
    void cudaWithoutCudaIsAClearError() {
        Assumptions.assumeTrue(CusprunNative.cusprun_cuda_device_count() == 0, "a CUDA device is present");
        var e = assertThrows(KernelException.class, () -> RelevanceKernels.forDevice("cuda:0"));
        assertEquals(CusprunNative.CUSPRUN_ERR_NO_CUDA, e.status());
        assertTrue(
                e.getMessage().startsWith("cannot use device cuda:0: ")
                        && e.getMessage().length() > 30,
                e.getMessage());
        // a CPU tensor handed to CPU kernels that were asked to be CUDA is impossible; the other way round:
        assertTrue(
                RelevanceKernels.kernels().stream().noneMatch(i -> i.backend().equals("cuda")));
    }
}
