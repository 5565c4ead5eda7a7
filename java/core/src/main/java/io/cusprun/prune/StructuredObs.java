package io.cusprun.prune;

import io.cusprun.model.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
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

    /**
     * A refit: W' [D, N] (zero on the removed channels), the ridge used, and {@code G_KR W_Rᵀ} [|K|,
     * D] from its solve (null where nothing is removed), which {@link #relativeErrors} reuses.
     */
    public record Fit(Tensor weight, double lambda, Tensor cross) {}

    /** Rows of W per task of the refit's products and solves: a fixed grid, so the same calls on any number of threads. */
    static final int SOLVE_ROWS = 256;

    /**
     * The refit of {@code w} [D, N] keeping the channels {@code kept} (ascending), from the Gram
     * {@code g} [N, N]. The transients are freed as soon as they are used (at 8B a row block of the
     * Gram is gigabytes): at most {@code G[K, :]} with its two column blocks (2 |K| N values), then
     * G_KK + λI and its Cholesky factor; docs/memory.md counts them. The right-hand sides and the
     * solves run in blocks of {@value #SOLVE_ROWS} rows of W on the common pool (LibTorch's BLAS
     * and LAPACK calls are single-threaded, see CpuRuntime); the factorisation is one call.
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
            return new Fit(out, lambda, null);
        }
        Tensor rhs = Tensors.emptyCpu(torch.ScalarType.Double, kept.length, w.size(0)); // G_KR W_Rᵀ [K, D]
        try (PointerScope scope = new PointerScope()) {
            Tensor k = Tensors.ofLongs(kept), r = Tensors.ofLongs(removed);
            Tensor h;
            try (PointerScope rows = new PointerScope()) {
                Tensor gk = g.index_select(0, k); // G[K, :]
                h = Tensors.keep(gk.index_select(1, k)); // G_KK
                Tensor gkr = gk.index_select(1, r), wr = w.index_select(1, r);
                inRowBlocks(
                        (int) w.size(0),
                        SOLVE_ROWS,
                        (lo, len) -> rhs.narrow(1, lo, len)
                                .copy_(gkr.mm(wr.narrow(0, lo, len).t())));
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
                Tensor deltaT = Tensors.emptyCpu(torch.ScalarType.Double, kept.length, w.size(0));
                inRowBlocks(
                        (int) w.size(0),
                        SOLVE_ROWS,
                        (lo, len) -> deltaT.narrow(1, lo, len)
                                .copy_(torch.cholesky_solve(
                                        rhs.narrow(1, lo, len), factor))); // (G_KK + λI)⁻¹ G_KR W_Rᵀ
                out.index_copy_(1, k, w.index_select(1, k).add(deltaT.t()));
                return new Fit(out, lambda, rhs);
            } finally {
                Tensors.release(h);
            }
        }
    }

    /**
     * Runs {@code block(lo, len)} over the blocks of {@code blockRows} of {@code rows}, on the
     * common pool, each in its own PointerScope: a fixed grid, so the same calls on any number of
     * threads.
     */
    private static void inRowBlocks(int rows, int blockRows, java.util.function.BiConsumer<Integer, Integer> block) {
        int blocks = (rows + blockRows - 1) / blockRows;
        java.util.stream.IntStream.range(0, blocks).parallel().forEach(b -> {
            try (PointerScope scope = new PointerScope()) {
                int lo = b * blockRows;
                block.accept(lo, Math.min(blockRows, rows - lo));
            }
        });
    }

    /** A refit's reconstruction errors relative to the output's energy: with the kept columns as they were, and refitted. */
    public record Errors(double before, double after) {}

    /**
     * The reconstruction errors of keeping the columns {@code kept} of {@code w} on the Gram {@code
     * g}, relative to the output's energy {@code tr(W G Wᵀ)} (0 when the output is zero): before,
     * the removed columns alone ({@code tr(W_R G_RR W_Rᵀ)}); after, with the kept columns replaced
     * by {@code keptColumns} [D, |K|] and the removed ones zero ({@code tr(ΔW G ΔWᵀ)}, ΔW = W' − W).
     * {@code cross} is {@code G_KR W_Rᵀ} [|K|, D] where a refit on the same Gram has it ({@link
     * Fit#cross}), else null (computed here).
     *
     * <p>Not as written, which costs two products of {@code D N²} and a third for the energy, but
     * by blocks, with {@code B = W_R G_RK} and {@code δ = W_K' − W_K}:
     *
     * <pre>
     * energy = before + 2⟨B, W_K⟩ + tr(W_K G_KK W_Kᵀ)
     * after  = before − 2⟨B, δ⟩ + tr(δ G_KK δᵀ)</pre>
     *
     * about {@code D (R² + 2 K²)} multiply-adds, under half as many at 45 % removed (and {@code D R
     * K} more without {@code cross}); the same sums up to fp64 rounding (after ≪ before loses a few
     * of fp64's digits to the cancellation). One block of the Gram is held at a time.
     */
    public static Errors relativeErrors(Tensor w, Tensor g, long[] kept, Tensor keptColumns, Tensor cross) {
        long[] removed = complement(kept, (int) g.size(0));
        try (PointerScope scope = new PointerScope()) {
            Tensor k = Tensors.ofLongs(kept);
            Tensor wk = w.index_select(1, k),
                    delta = keptColumns.to(torch.ScalarType.Double).sub(wk);
            double before = 0, crossW = 0, crossDelta = 0;
            if (removed.length > 0) {
                try (PointerScope rows = new PointerScope()) { // G[R, :] and its blocks freed right away
                    Tensor r = Tensors.ofLongs(removed), wr = w.index_select(1, r);
                    Tensor gr = g.index_select(0, r);
                    before = quadratic(wr, gr.index_select(1, r));
                    Tensor b = cross != null ? cross.t() : product(wr, gr.index_select(1, k)); // W_R G_RK [D, K]
                    crossW = dot(b, wk);
                    crossDelta = dot(b, delta);
                }
            }
            double keptEnergy, deltaEnergy;
            try (PointerScope rows = new PointerScope()) {
                Tensor gkk = g.index_select(0, k).index_select(1, k);
                keptEnergy = quadratic(wk, gkk);
                deltaEnergy = quadratic(delta, gkk);
            }
            double energy = before + 2 * crossW + keptEnergy;
            if (!(energy > 0)) return new Errors(0, 0);
            double after = Math.max(0, before - 2 * crossDelta + deltaEnergy); // a quadratic form: ≥ 0 but for rounding
            return new Errors(before / energy, after / energy);
        }
    }

    /** x g, over fixed blocks of {@value #UPDATE_ROWS} rows of x on the common pool (BLAS runs single-threaded). */
    private static Tensor product(Tensor x, Tensor g) {
        Tensor out = Tensors.emptyCpu(x.scalar_type(), x.size(0), g.size(1));
        inRowBlocks(
                (int) x.size(0),
                UPDATE_ROWS,
                (lo, len) -> out.narrow(0, lo, len).copy_(x.narrow(0, lo, len).mm(g)));
        return out;
    }

    /** Σ a ∘ b in fp64: {@link #rowSums} of the product, added in order. */
    private static double dot(Tensor a, Tensor b) {
        double sum = 0;
        for (double v : rowSums(a, b, null)) sum += v;
        return sum;
    }

    /** tr(X G Xᵀ) = Σ (X G) ∘ X: {@link #rowSums} of X G and X, added in order. */
    static double quadratic(Tensor x, Tensor g) {
        double sum = 0;
        for (double v : rowSums(x, x, g)) sum += v;
        return sum;
    }

    /**
     * Per row i, Σ_j (A G)_ij B_ij ({@code g} null: Σ_j A_ij B_ij), over fixed blocks of {@value
     * #UPDATE_ROWS} rows on the common pool: the same bits on any number of threads. Each row is
     * summed whole by LibTorch (a reduction with one output per row keeps each row on one thread,
     * which a sum over a whole block does not), and only the rows' sums come to Java.
     */
    private static double[] rowSums(Tensor a, Tensor b, Tensor g) {
        double[] out = new double[(int) a.size(0)];
        inRowBlocks(out.length, UPDATE_ROWS, (lo, len) -> {
            Tensor ak = a.narrow(0, lo, len);
            Tensor product = (g == null ? ak : ak.mm(g)).mul(b.narrow(0, lo, len));
            System.arraycopy(Tensors.toDoubles(product.sum(new long[] {1})), 0, out, lo, len);
        });
        return out;
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
     * The greedy order of {@code w} [D, N] (fp64, not changed) on the symmetric H⁻¹ {@code hinv}
     * [N, N] (fp64, row- or column-major; taken: the greedy gives back the caller's reference, as
     * it overwrites the values and frees the storage at its first compaction, which saves an N × N
     * copy; a caller whose scope holds {@code hinv} passes {@code Tensors.keep(hinv)}), removing
     * {@code step} channels at a time: the {@code step} cheapest by the current costs, in cost
     * order (ties to the lower index), then the exact block update of the rest, {@code W_R −=
     * W_B [(H⁻¹)_BB]⁻¹ (H⁻¹)_BR} and {@code (H⁻¹)_RR −= (H⁻¹)_RB [(H⁻¹)_BB]⁻¹ (H⁻¹)_BR}. Step 1 is
     * the exact greedy; larger steps turn the N rank-1 updates (memory-bound: each touches all of
     * H⁻¹) into N / step matrix products, at the price of not re-costing within a step. A channel's
     * recorded cost is its cost when its step began.
     *
     * <p>How it runs: W is held transposed (a channel per row) and H⁻¹ as its upper triangle
     * (H⁻¹ stays symmetric, so a row block updates only its columns from its first row on: half
     * the products of the whole matrix; the rows of a step's block are read from the triangle, the
     * part left of the diagonal from the block's columns); the update zeroes the removed
     * channels' rows and columns (their Schur complement), which stay in place, out of play, until
     * they are an eighth of what is held, and are then dropped in one gather. The products run over
     * fixed blocks of {@value #UPDATE_ROWS} rows on the common pool, each one single-threaded BLAS
     * call.
     */
    public static Greedy blockedGreedy(Tensor w, Tensor hinv, int step) {
        int n = (int) hinv.size(0);
        // row-major, as a step gathers whole rows; LAPACK's inverse comes column-major, which read
        // row-major is its transpose: the same matrix, H⁻¹ being symmetric. The greedy's own
        // reference, made outside the caller's scope (which would hold a view until it closes), and
        // the caller's given back: the compactions free the storage, not the end of the order.
        Tensor h;
        try (PointerScope own = new PointerScope()) {
            h = Tensors.keep(hinv.is_contiguous() ? hinv : hinv.t());
        }
        Tensors.release(hinv);
        if (step < 1 || !Tensors.isType(h, torch.ScalarType.Double) || !h.is_contiguous()) {
            Tensors.release(h);
            throw new IllegalArgumentException(
                    step < 1 ? "step must be >= 1, not " + step : "H⁻¹ must be an fp64 tensor, row- or column-major");
        }
        int[] order = new int[n];
        double[] cost = new double[n];
        int[] orig = new int[n]; // held row → channel
        for (int j = 0; j < n; j++) orig[j] = j;
        boolean[] out = new boolean[n]; // held row already removed
        Tensor wt = Tensors.keep(w.to(torch.ScalarType.Double).t().contiguous());
        Tensor norm = Tensors.keep(wt.mul(wt).sum(new long[] {1})); // ‖W[:, j]‖², kept by the updates
        try {
            int held = n, outHeld = 0;
            for (int done = 0; done < n; ) {
                try (PointerScope scope = new PointerScope()) {
                    double[] c = Tensors.toDoubles(norm.div(torch.diagonal(h)));
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
                    update(h, wt, norm, Tensors.ofLongs(block), held);
                    if (outHeld * 8 >= held) { // drop the removed rows and columns
                        long[] keep = new long[held - outHeld];
                        int[] nextOrig = new int[keep.length];
                        for (int j = 0, i = 0; j < held; j++) {
                            if (out[j]) continue;
                            nextOrig[i] = orig[j];
                            keep[i++] = j;
                        }
                        Tensor k = Tensors.ofLongs(keep);
                        Tensor nextH = Tensors.keep(compact(h, k)), nextW = Tensors.keep(wt.index_select(0, k));
                        Tensor nextNorm = Tensors.keep(norm.index_select(0, k));
                        Tensors.release(h);
                        Tensors.release(wt);
                        Tensors.release(norm);
                        h = nextH;
                        wt = nextW;
                        norm = nextNorm;
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
            Tensors.release(norm);
        }
        return new Greedy(order, cost);
    }

    /**
     * {@code h[k][:, k]} in row-major order: each entry one element of a flat gather, in fixed
     * blocks of {@value #UPDATE_ROWS} rows on the common pool (a row block's indices {@code k_i
     * held + k_j} read each kept row of {@code h} in order; LibTorch gathers a column one strided
     * element at a time). A copy: the same values whatever the blocks or threads.
     */
    private static Tensor compact(Tensor h, Tensor k) {
        long held = h.size(0);
        int m = (int) k.size(0);
        Tensor out = Tensors.emptyCpu(torch.ScalarType.Double, m, m);
        Tensor flat = h.view(new long[] {-1});
        inRowBlocks(m, UPDATE_ROWS, (lo, len) -> {
            Tensor index = k.narrow(0, lo, len)
                    .mul(new Scalar(held))
                    .unsqueeze(1)
                    .add(k.unsqueeze(0))
                    .view(new long[] {-1});
            torch.index_select_out(out.narrow(0, lo, len).view(new long[] {-1}), flat, 0, index);
        });
        return out;
    }

    /**
     * Removes the held rows {@code block} with the refit of the rest: X = [(H⁻¹)_BB]⁻¹ (H⁻¹)_B,:,
     * then H⁻¹ −= (H⁻¹)_:,B X on the upper triangle (H⁻¹ is symmetric: (H⁻¹)_:,B = (H⁻¹)_B,:ᵀ),
     * Wᵀ −= Xᵀ Wᵀ_B,: and the rows' squared norms anew. Only the upper triangle of {@code h} is
     * current; the lower one is stale.
     */
    private static void update(Tensor h, Tensor wt, Tensor norm, Tensor block, int held) {
        Tensor j = torch.arange(new Scalar(held), new TensorOptions(torch.ScalarType.Long));
        Tensor left = j.unsqueeze(0).lt(block.unsqueeze(1)); // [b, held]: j left of block[i]'s diagonal
        // H⁻¹[j, block[i]] for every j as one flat gather (LibTorch gathers a column element by element)
        Tensor flat = j.mul(new Scalar((long) held)).unsqueeze(1).add(block.unsqueeze(0)); // [held, b]
        Tensor columns = h.view(new long[] {-1})
                .index_select(0, flat.view(new long[] {-1}))
                .view(new long[] {held, -1});
        Tensor hb = torch.where(left, columns.t(), h.index_select(0, block)); // the rows B of H⁻¹
        Tensor x = torch.cholesky_solve(hb, torch.linalg_cholesky(hb.index_select(1, block))); // [b, held]
        Tensor hbT = hb.t(), xT = x.t();
        Tensor wb = wt.index_select(0, block); // [b, D]
        int blocks = (held + UPDATE_ROWS - 1) / UPDATE_ROWS;
        java.util.stream.IntStream.range(0, 2 * blocks).parallel().forEach(k -> {
            try (PointerScope inner = new PointerScope()) {
                int lo = (k % blocks) * UPDATE_ROWS, len = Math.min(UPDATE_ROWS, held - lo);
                if (k < blocks) { // the row block's columns from its first row on
                    h.narrow(0, lo, len)
                            .narrow(1, lo, held - lo)
                            .addmm_(
                                    hbT.narrow(0, lo, len),
                                    x.narrow(1, lo, held - lo),
                                    new Scalar(1.0),
                                    new Scalar(-1.0));
                } else {
                    Tensor rows = wt.narrow(0, lo, len);
                    rows.addmm_(xT.narrow(0, lo, len), wb, new Scalar(1.0), new Scalar(-1.0));
                    norm.narrow(0, lo, len).copy_(rows.mul(rows).sum(new long[] {1}));
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
