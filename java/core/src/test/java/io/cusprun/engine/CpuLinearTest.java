package io.cusprun.engine;

import static io.cusprun.engine.TestTensors.randn;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AutoGradMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** The OpenMP-pool Linear against an fp64 LibTorch reference, and the cases that must fall back. */
class CpuLinearTest {

    private static double maxRelError(Tensor got, Tensor x, Tensor w, Tensor bias) {
        Tensor xd = x.to(ScalarType.Double), wd = w.to(ScalarType.Double);
        Tensor ref = xd.mm(wd.t());
        if (bias != null) {
            ref = ref.add(bias.to(ScalarType.Double));
        }
        Tensor scale = xd.abs().mm(wd.abs().t()).add(new org.bytedeco.pytorch.Scalar(1e-30)); // sum |x||w| per element
        return got.to(ScalarType.Double).sub(ref).abs().div(scale).max().item_double();
    }

    @Test
    void matchesTheReferenceOnRandomShapesAndStridedInputs() {
        assumeTrue(System.getenv("OPENBLAS_NUM_THREADS") == null, "OPENBLAS_NUM_THREADS set: LibTorch's GEMM is used");
        assertTrue(CpuRuntime.gemmOnOpenMp(), "OpenBLAS was not found in the process");
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(7);
            long[][] shapes = {{1, 64, 300}, {37, 129, 300}, {512, 256, 1000}, {2048, 64, 4097}};
            for (long[] s : shapes) {
                long n = s[0], k = s[1], m = s[2];
                Tensor x = randn(n, k);
                Tensor w = randn(m, k);
                assertTrue(CpuLinear.applies(x, w), "fp32 CPU without grad must take the OpenMP path");
                Tensor y = CpuLinear.linear(x, w, null);
                assertArrayEquals(new long[] {n, m}, y.sizes().vec().get(), "shape");
                assertTrue(maxRelError(y, x, w, null) < 1e-5, "n=" + n + " k=" + k + " m=" + m);
                // x as a column slice of a wider tensor (row stride > k), with a bias
                Tensor wide = randn(n, k + 5).narrow(1, 3, k);
                Tensor bias = randn(m);
                assertEquals(k + 5, wide.stride(0));
                assertTrue(CpuLinear.applies(wide, w), "a row stride > k is supported");
                assertTrue(maxRelError(CpuLinear.linear(wide, w, bias), wide, w, bias) < 1e-5, "strided, bias");
            }
        }
    }

    /**
     * The same bits for any OpenMP thread count: OpenBLAS's result for an element depends on the
     * shape of the GEMM call it comes from, so the tiles must not depend on the thread count.
     */
    @Test
    void theBitsDoNotDependOnTheThreadCount() {
        assumeTrue(System.getenv("OPENBLAS_NUM_THREADS") == null, "OPENBLAS_NUM_THREADS set: LibTorch's GEMM is used");
        int threads = torch.get_num_threads();
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(9);
            long[][] shapes = {{333, 256, 1536}, {700, 333, 1000}, {2048, 256, 768}};
            for (long[] s : shapes) {
                Tensor x = randn(s[0], s[1]);
                Tensor w = randn(s[2], s[1]);
                torch.set_num_threads(1);
                Tensor one = CpuLinear.linear(x, w, null);
                for (int t : new int[] {2, 3, 5}) {
                    torch.set_num_threads(t);
                    assertTrue(
                            torch.equal(one, CpuLinear.linear(x, w, null)),
                            t + " threads, shape " + s[0] + "x" + s[1] + "x" + s[2]);
                }
            }
        } finally {
            torch.set_num_threads(threads);
        }
    }

    /**
     * The Gram x xᵀ: against fp64, exactly symmetric, on and above the diagonal tiles the bits of
     * linear(x, x), and the same bits on any thread count; a bf16 x goes to LibTorch.
     */
    @Test
    void theGramMatchesTheReferenceAndLinearOnItsUpperTiles() {
        assumeTrue(System.getenv("OPENBLAS_NUM_THREADS") == null, "OPENBLAS_NUM_THREADS set: LibTorch's GEMM is used");
        int threads = torch.get_num_threads();
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(11);
            // one tile, 2 x 2 tiles (768: the demo model's FFN), a partial third tile
            long[][] shapes = {{300, 64}, {768, 2048}, {1100, 333}};
            for (long[] s : shapes) {
                long n = s[0];
                Tensor x = randn(n, s[1]);
                torch.set_num_threads(1);
                Tensor g = CpuLinear.gram(x);
                assertArrayEquals(new long[] {n, n}, g.sizes().vec().get(), "shape");
                assertTrue(maxRelError(g, x, x, null) < 1e-5, "n=" + n + " k=" + s[1]);
                assertTrue(torch.equal(g, g.t().contiguous()), "symmetric, n=" + n);
                Tensor linear = CpuLinear.linear(x, x, null);
                for (long r = 0; r < n; r += 512) {
                    long c = r; // the tile row from its diagonal tile on
                    Tensor upper = g.narrow(0, r, Math.min(512, n - r)).narrow(1, c, n - c);
                    Tensor same = linear.narrow(0, r, Math.min(512, n - r)).narrow(1, c, n - c);
                    assertTrue(torch.equal(upper, same), "tile row " + r / 512 + " of n=" + n + " differs from linear");
                }
                for (int t : new int[] {2, 3}) {
                    torch.set_num_threads(t);
                    assertTrue(torch.equal(g, CpuLinear.gram(x)), t + " threads, n=" + n);
                }
            }
            Tensor xb = randn(40, 24).to(ScalarType.BFloat16);
            assertSame(ScalarType.BFloat16, CpuLinear.gram(xb).scalar_type().intern());
        } finally {
            torch.set_num_threads(threads);
        }
    }

    @Test
    void autogradAndOtherDtypesUseLibTorch() {
        try (PointerScope scope = new PointerScope();
                AutoGradMode grad = new AutoGradMode(true)) {
            torch.manual_seed(8);
            Tensor x = randn(16, 32);
            Tensor w = randn(24, 32).requires_grad_(true);
            assertFalse(CpuLinear.applies(x, w), "autograd goes to LibTorch");
            Tensor y = CpuLinear.linear(x, w, null);
            assertTrue(y.requires_grad(), "a weight that requires grad must keep the graph");
            y.sum().backward();
            assertTrue(w.grad().defined());
            Tensor xb = randn(16, 32).to(ScalarType.BFloat16),
                    wb = randn(24, 32).to(ScalarType.BFloat16);
            assertFalse(CpuLinear.applies(xb, wb), "bf16 goes to LibTorch");
            assertSame(
                    ScalarType.BFloat16,
                    CpuLinear.linear(xb, wb, null).scalar_type().intern());
            assertFalse(CpuLinear.applies(x.t(), randn(24, 16)), "a transposed x goes to LibTorch");
        }
    }
}
