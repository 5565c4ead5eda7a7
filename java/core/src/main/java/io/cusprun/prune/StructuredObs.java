package io.cusprun.prune;

import io.cusprun.model.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The closed-form algebra of compensation (docs/method.md, "Compensation"), on fp64 LibTorch
 * tensors: a projection {@code W} [D, N] whose input channels have the Gram {@code G = AᵀA}
 * [N, N] over the calibration tokens loses the channels R and keeps K. The least-squares refit of
 * the kept columns, with a ridge toward their old values,
 *
 * <pre>W_K' = W_K + W_R G_RK (G_KK + λI)⁻¹,   λ = {@value #RIDGE} × mean(diag G_KK)</pre>
 *
 * makes {@code A_K W_K'ᵀ} reproduce {@code A Wᵀ} as closely as the kept channels allow; its
 * error is {@code tr(ΔW G ΔWᵀ)} with {@code ΔW = W' − W} (W' zero on R). The greedy order removes,
 * one channel at a time, the channel whose removal costs least once the rest is refitted
 * (structured OBS): {@code ‖W[:,k]‖² / [H⁻¹]_kk} with {@code H = G + λI}, then W is refitted and
 * H⁻¹ downdated.
 */
public final class StructuredObs {
    /** λ relative to the mean diagonal of the Gram. */
    public static final double RIDGE = 1e-3;

    private StructuredObs() {}

    /** A refit: W' [D, N] (zero on the removed channels) and the ridge used. */
    public record Fit(Tensor weight, double lambda) {}

    /**
     * The refit of {@code w} [D, N] keeping the channels {@code kept} (ascending), from the Gram
     * {@code g} [N, N]. The transients are freed as soon as they are used (at 8B a row block of the
     * Gram is gigabytes): at most {@code G[K, :]} with its two column blocks (2 |K| N values), then
     * G_KK + λI and its Cholesky factor; docs/memory.md counts them.
     */
    public static Fit refit(Tensor w, Tensor g, long[] kept) {
        int n = (int) g.size(0);
        long[] removed = complement(kept, n);
        Tensor out = torch.zeros_like(w);
        if (removed.length == 0) {
            double lambda;
            try (PointerScope scope = new PointerScope()) {
                Tensor k = Tensors.ofLongs(kept);
                lambda = ridge(g.index_select(0, k).index_select(1, k));
                out.index_copy_(1, k, w.index_select(1, k));
            }
            return new Fit(out, lambda);
        }
        try (PointerScope scope = new PointerScope()) {
            Tensor k = Tensors.ofLongs(kept), r = Tensors.ofLongs(removed);
            Tensor h, rhs;
            try (PointerScope rows = new PointerScope()) {
                Tensor gk = g.index_select(0, k); // G[K, :]
                h = Tensors.keep(gk.index_select(1, k)); // G_KK
                rhs = Tensors.keep(gk.index_select(1, r).mm(w.index_select(1, r).t())); // G_KR W_Rᵀ [K, D]
            }
            try {
                double lambda;
                try (PointerScope diagonal = new PointerScope()) { // no view outlives h's release below
                    lambda = ridge(h); // kept channels never active: the ridge alone keeps W_K
                    torch.diagonal(h).add_(new Scalar(lambda)); // G_KK + λI, in place
                }
                Tensor factor = torch.linalg_cholesky(h);
                Tensors.release(h);
                h = null;
                Tensor deltaT = torch.cholesky_solve(rhs, factor); // (G_KK + λI)⁻¹ G_KR W_Rᵀ
                out.index_copy_(1, k, w.index_select(1, k).add(deltaT.t()));
                return new Fit(out, lambda);
            } finally {
                Tensors.release(h);
                Tensors.release(rhs);
            }
        }
    }

    /** A refit's reconstruction errors relative to the output's energy: with the kept columns as they were, and refitted. */
    public record Errors(double before, double after) {}

    /**
     * The reconstruction errors of keeping the columns {@code kept} of {@code w} on the Gram {@code
     * g}, relative to the output's energy {@code tr(W G Wᵀ)} (0 when the output is zero): before,
     * the removed columns alone ({@code tr(W_R G_RR W_Rᵀ)}); after, the refitted weight {@code
     * refitted} ({@code tr(ΔW G ΔWᵀ)}, ΔW = refitted − W).
     */
    public static Errors relativeErrors(Tensor w, Tensor g, long[] kept, Tensor refitted) {
        double energy = quadratic(w, g);
        if (!(energy > 0)) return new Errors(0, 0);
        long[] removed = complement(kept, (int) g.size(0));
        double before = 0;
        if (removed.length > 0) {
            try (PointerScope scope = new PointerScope()) { // G[R, :] and G_RR freed right away
                Tensor r = Tensors.ofLongs(removed);
                before = quadratic(w.index_select(1, r), g.index_select(0, r).index_select(1, r));
            }
        }
        double after;
        try (PointerScope scope = new PointerScope()) {
            after = quadratic(refitted.sub(w), g);
        }
        return new Errors(before / energy, after / energy);
    }

    /**
     * tr(X G Xᵀ) = Σ (X G) ∘ X, over fixed blocks of {@value #UPDATE_ROWS} rows of X on the common
     * pool, the blocks' sums added in order: the same bits on any number of threads.
     */
    static double quadratic(Tensor x, Tensor g) {
        int rows = (int) x.size(0), blocks = (rows + UPDATE_ROWS - 1) / UPDATE_ROWS;
        double[] part = new double[blocks];
        java.util.stream.IntStream.range(0, blocks).parallel().forEach(b -> {
            try (PointerScope scope = new PointerScope()) {
                Tensor xb = x.narrow(0, (long) b * UPDATE_ROWS, Math.min(UPDATE_ROWS, rows - b * UPDATE_ROWS));
                part[b] = Tensors.toDoubles(xb.mm(g).mul(xb).sum())[0];
            }
        });
        double sum = 0;
        for (double p : part) sum += p;
        return sum;
    }

    /** The greedy order and each step's cost (the error the step adds, on the ridge objective). */
    public record Greedy(int[] order, double[] cost) {
        /** Each channel's position in the order (0 = removed first). */
        public int[] positions() {
            int[] pos = new int[order.length];
            for (int i = 0; i < order.length; i++) pos[order[i]] = i;
            return pos;
        }
    }

    /**
     * Removes the channels of {@code w} [D, N] one at a time, each time the one whose removal adds
     * the least error once the remaining channels are refitted, {@code ‖W[:,k]‖² / [H⁻¹]_kk} with
     * {@code H = g + λI} ({@code λ = } {@value #RIDGE} × the mean diagonal of {@code g}), until one
     * channel is left (it comes last). After each removal W is refitted ({@code W −= W[:,k] H⁻¹[k,:]
     * / H⁻¹_kk}) and H⁻¹ downdated ({@code H⁻¹ −= H⁻¹[:,k] H⁻¹[k,:] / H⁻¹_kk}), both O(N (N + D)).
     * Ties go to the lower index.
     */
    public static Greedy greedy(Tensor w, Tensor g) {
        int n = (int) g.size(0);
        return greedy(Tensors.toDoubles(w), (int) w.size(0), n, ridgeInverse(g));
    }

    /** {@code (g + λI)⁻¹} [N, N] row-major, λ = {@value #RIDGE} × the mean diagonal of {@code g} ({@value #RIDGE} if that is 0). */
    public static double[] ridgeInverse(Tensor g) {
        try (PointerScope scope = new PointerScope()) {
            return Tensors.toDoubles(ridgeInverseTensor(g));
        }
    }

    /**
     * {@link #greedy(Tensor, Tensor)} on Java arrays: {@code w} [D, N] and {@code hinv} = H⁻¹ [N, N],
     * both row-major ({@code hinv} is not changed). The channels still in play are kept contiguous
     * (a removed channel's place goes to the last one), so step s costs (N − s)(N − s + D) and the
     * whole order about N³/3 + D N²/2 multiply-adds.
     */
    public static Greedy greedy(double[] w, int d, int n, double[] hinv) {
        double[][] h = new double[n][];
        double[][] c = new double[n][]; // c[j] = W[:, j]
        double[] norm = new double[n];
        int[] orig = new int[n];
        for (int j = 0; j < n; j++) {
            h[j] = java.util.Arrays.copyOfRange(hinv, j * n, j * n + n);
            double[] cj = new double[d];
            double sq = 0;
            for (int i = 0; i < d; i++) {
                cj[i] = w[i * n + j];
                sq += cj[i] * cj[i];
            }
            c[j] = cj;
            norm[j] = sq;
            orig[j] = j;
        }
        int[] order = new int[n];
        double[] cost = new double[n];
        double[] col = new double[n];
        for (int step = 0, m = n; step < n; step++) {
            int best = -1;
            double bestCost = Double.POSITIVE_INFINITY;
            for (int j = 0; j < m; j++) {
                double cj = h[j][j] > 0 ? norm[j] / h[j][j] : Double.POSITIVE_INFINITY;
                if (best < 0 || cj < bestCost || (cj == bestCost && orig[j] < orig[best])) {
                    best = j;
                    bestCost = cj;
                }
            }
            order[step] = orig[best];
            cost[step] = bestCost;
            if (step == n - 1) break;
            double diag = h[best][best];
            double[] row = c[best];
            for (int j = 0; j < m; j++) col[j] = h[j][best];
            int last = m - 1; // the last channel takes the removed one's place
            h[best] = h[last];
            c[best] = c[last];
            norm[best] = norm[last];
            orig[best] = orig[last];
            col[best] = col[last];
            for (int i = 0; i < last; i++) h[i][best] = h[i][last];
            m = last;
            // W −= W[:,k] H⁻¹[k,:] / H⁻¹_kk refits the rest; H⁻¹ −= H⁻¹[:,k] H⁻¹[k,:] / H⁻¹_kk
            for (int i = 0; i < m; i++) {
                double f = col[i] / diag;
                double[] hi = h[i];
                for (int j = 0; j < m; j++) hi[j] -= f * col[j];
                double[] ci = c[i];
                double sq = 0;
                for (int k = 0; k < d; k++) {
                    ci[k] -= f * row[k];
                    sq += ci[k] * ci[k];
                }
                norm[i] = sq;
            }
        }
        return new Greedy(order, cost);
    }

    /** Up to this many channels the greedy is exact, one channel per step ({@link #greedy(double[], int, int, double[])}). */
    public static final int EXACT_CHANNELS = 2048;

    /** Above {@link #EXACT_CHANNELS}, the greedy takes about this many steps ({@link #blockedGreedy}). */
    static final int BLOCKED_STEPS = 256;

    /** Channels the greedy removes per step for {@code n} channels: 1 up to {@value #EXACT_CHANNELS}, else ⌈n / {@value #BLOCKED_STEPS}⌉. */
    public static int stepSize(int n) {
        return n <= EXACT_CHANNELS ? 1 : (n + BLOCKED_STEPS - 1) / BLOCKED_STEPS;
    }

    /** Rows per block of the blocked greedy's updates: a fixed grid, so the bits do not depend on the thread count. */
    private static final int UPDATE_ROWS = 512;

    /**
     * The greedy order of {@code w} [D, N] on H⁻¹ {@code hinv} [N, N] (fp64 tensors, not changed),
     * removing {@code step} channels at a time: the {@code step} cheapest by the current costs,
     * in cost order (ties to the lower index), then the exact block update of the rest, {@code W_R −=
     * W_B [(H⁻¹)_BB]⁻¹ (H⁻¹)_BR} and {@code (H⁻¹)_RR −= (H⁻¹)_RB [(H⁻¹)_BB]⁻¹ (H⁻¹)_BR}. Step 1 is
     * the exact greedy; larger steps turn the N rank-1 updates (memory-bound: each touches all of
     * H⁻¹) into N / step matrix products, at the price of not re-costing within a step. A channel's
     * recorded cost is its cost when its step began.
     *
     * <p>How it runs: W is held transposed (a channel per row) and H⁻¹ whole, so a step gathers
     * only the rows of the block; the update, applied to every row still held, zeroes the removed
     * channels' rows and columns (their Schur complement), which stay in place, out of play, until
     * they are an eighth of what is held, and are then dropped in one copy. The products run over
     * fixed blocks of {@value #UPDATE_ROWS} rows on the common pool, each one single-threaded BLAS
     * call.
     */
    public static Greedy blockedGreedy(Tensor w, Tensor hinv, int step) {
        int n = (int) hinv.size(0);
        if (step < 1) throw new IllegalArgumentException("step must be >= 1, not " + step);
        int[] order = new int[n];
        double[] cost = new double[n];
        int[] orig = new int[n]; // held row → channel
        for (int j = 0; j < n; j++) orig[j] = j;
        boolean[] out = new boolean[n]; // held row already removed
        Tensor h = Tensors.keep(hinv.to(torch.ScalarType.Double).clone());
        Tensor wt = Tensors.keep(w.to(torch.ScalarType.Double).t().contiguous());
        try {
            int held = n, outHeld = 0;
            for (int done = 0; done < n; ) {
                try (PointerScope scope = new PointerScope()) {
                    double[] c =
                            Tensors.toDoubles(wt.mul(wt).sum(new long[] {1}).div(torch.diagonal(h)));
                    Integer[] idx = new Integer[held - outHeld];
                    for (int j = 0, i = 0; j < held; j++) {
                        if (out[j]) continue;
                        idx[i++] = j;
                        if (!(c[j] >= 0)) c[j] = Double.POSITIVE_INFINITY; // H⁻¹_jj ≤ 0: never cheap
                    }
                    int[] channel = orig;
                    java.util.Arrays.sort(
                            idx,
                            (a, b) -> c[a] != c[b]
                                    ? Double.compare(c[a], c[b])
                                    : Integer.compare(channel[a], channel[b]));
                    int b = Math.min(step, idx.length);
                    long[] block = new long[b];
                    for (int i = 0; i < b; i++) {
                        block[i] = idx[i];
                        out[idx[i]] = true;
                        order[done + i] = orig[idx[i]];
                        cost[done + i] = c[idx[i]];
                    }
                    done += b;
                    outHeld += b;
                    if (done == n) break;
                    update(h, wt, Tensors.ofLongs(block), held);
                    if (outHeld * 8 >= held) { // drop the removed rows and columns
                        long[] keep = new long[held - outHeld];
                        int[] nextOrig = new int[keep.length];
                        for (int j = 0, i = 0; j < held; j++) {
                            if (out[j]) continue;
                            nextOrig[i] = orig[j];
                            keep[i++] = j;
                        }
                        Tensor k = Tensors.ofLongs(keep);
                        Tensor nextH = h.index_select(0, k).index_select(1, k), nextW = wt.index_select(0, k);
                        Tensors.release(h);
                        Tensors.release(wt);
                        h = Tensors.keep(nextH);
                        wt = Tensors.keep(nextW);
                        held = keep.length;
                        outHeld = 0;
                        orig = nextOrig;
                        out = new boolean[held];
                    }
                }
            }
        } finally {
            Tensors.release(h);
            Tensors.release(wt);
        }
        return new Greedy(order, cost);
    }

    /**
     * Removes the held rows {@code block} with the refit of the rest: X = [(H⁻¹)_BB]⁻¹ (H⁻¹)_B,:,
     * then H⁻¹ −= (H⁻¹)_:,B X (H⁻¹ is symmetric: (H⁻¹)_:,B = (H⁻¹)_B,:ᵀ) and Wᵀ −= Xᵀ Wᵀ_B,:.
     */
    private static void update(Tensor h, Tensor wt, Tensor block, int held) {
        Tensor hb = h.index_select(0, block); // [b, held]
        Tensor x = torch.cholesky_solve(hb, torch.linalg_cholesky(hb.index_select(1, block))); // [b, held]
        Tensor hbT = hb.t(), xT = x.t();
        Tensor wb = wt.index_select(0, block); // [b, D]
        int blocks = (held + UPDATE_ROWS - 1) / UPDATE_ROWS;
        java.util.stream.IntStream.range(0, 2 * blocks).parallel().forEach(k -> {
            try (PointerScope inner = new PointerScope()) {
                int lo = (k % blocks) * UPDATE_ROWS, len = Math.min(UPDATE_ROWS, held - lo);
                if (k < blocks) {
                    h.narrow(0, lo, len).addmm_(hbT.narrow(0, lo, len), x, new Scalar(1.0), new Scalar(-1.0));
                } else {
                    wt.narrow(0, lo, len).addmm_(xT.narrow(0, lo, len), wb, new Scalar(1.0), new Scalar(-1.0));
                }
            }
        });
    }

    /**
     * {@code (g + λI)⁻¹} as an fp64 tensor, λ = {@link #ridge}(g): three N × N tensors in the
     * caller's scope (g + λI, its Cholesky factor, the inverse); λ goes onto the diagonal in place,
     * not through an N × N identity (the same sums, so the same bits).
     */
    public static Tensor ridgeInverseTensor(Tensor g) {
        Tensor h = g.clone();
        try (PointerScope diagonal = new PointerScope()) {
            torch.diagonal(h).add_(new Scalar(ridge(g)));
        }
        return torch.cholesky_inverse(torch.linalg_cholesky(h));
    }

    /** λ = {@value #RIDGE} × the mean diagonal of {@code g}, or {@value #RIDGE} alone where that is not positive. */
    static double ridge(Tensor g) {
        double lambda = RIDGE * mean(torch.diagonal(g));
        return lambda > 0 ? lambda : RIDGE;
    }

    private static double mean(Tensor v) {
        return Tensors.toDoubles(v.mean())[0];
    }

    static long[] complement(long[] kept, int n) {
        boolean[] in = new boolean[n];
        for (long k : kept) in[(int) k] = true;
        long[] out = new long[n - kept.length];
        int j = 0;
        for (int i = 0; i < n; i++) if (!in[i]) out[j++] = i;
        return out;
    }
}
