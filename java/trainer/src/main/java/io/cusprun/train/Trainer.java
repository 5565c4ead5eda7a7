package io.cusprun.train;

import io.cusprun.model.LlamaModel;
import io.cusprun.model.Tensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.OptimizerParamGroup;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * Next-token training of a {@link LlamaModel} with LibTorch's AdamW: matrices (embeddings
 * included) get weight decay, RMSNorm weights and biases do not; the gradient norm is clipped
 * before each step; the learning rate follows a {@link CosineSchedule}. {@link #train} is the
 * whole loop (batches in a seeded random order, logging, the loss curve), {@link #step} one step.
 * The model's parameters are switched to {@code requires_grad} here and stay so until {@link #close}.
 */
public final class Trainer implements AutoCloseable {

    /**
     * @param weightDecay decoupled weight decay of the matrices
     * @param beta1       AdamW's first-moment decay
     * @param beta2       AdamW's second-moment decay
     * @param gradClip    largest gradient L2 norm (over all parameters); 0 for no clipping
     */
    public record Hyper(double weightDecay, double beta1, double beta2, double eps, double gradClip) {
        /** The committed demo model's optimiser settings. */
        public static final Hyper DEFAULTS = new Hyper(0.1, 0.9, 0.95, 1e-8, 1.0);

        public Hyper withWeightDecay(double v) {
            return new Hyper(v, beta1, beta2, eps, gradClip);
        }

        public Hyper withGradClip(double v) {
            return new Hyper(weightDecay, beta1, beta2, eps, v);
        }
    }

    /** One step's outcome: the loss before the update, the gradient norm before clipping, the rate used. */
    public record StepResult(double loss, double gradNorm, double lr, long targets) {}

    private static final long REDUCTION_MEAN = 1; // at::Reduction::Mean

    private final LlamaModel model;
    private final Hyper hyper;
    private final TensorVector params;
    private final AdamW optimizer;

    public Trainer(LlamaModel model, Hyper hyper) {
        this.model = model;
        this.hyper = hyper;
        List<Tensor> decay = new ArrayList<>();
        List<Tensor> noDecay = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : model.parameters().entrySet()) {
            Tensor p = e.getValue();
            p.requires_grad_(true);
            (p.dim() >= 2 ? decay : noDecay).add(p);
        }
        List<Tensor> all = new ArrayList<>(decay);
        all.addAll(noDecay);
        this.params = new TensorVector(all.toArray(new Tensor[0]));
        // AdamW copies its default options; a group added without options gets a clone of them. (Options
        // handed to OptimizerParamGroup would move into a C++ unique_ptr that Java also frees.)
        this.optimizer = new AdamW(new TensorVector(decay.toArray(new Tensor[0])), options(hyper.weightDecay()));
        optimizer.add_param_group(new OptimizerParamGroup(new TensorVector(noDecay.toArray(new Tensor[0]))));
        groupOptions(1).weight_decay().put(0.0);
    }

    private AdamWOptions options(double weightDecay) {
        AdamWOptions o = new AdamWOptions(0.0);
        setBetas(o, hyper.beta1(), hyper.beta2());
        o.eps().put(hyper.eps());
        o.weight_decay().put(weightDecay);
        return o;
    }

    /** The live options of a parameter group (a view: AdamWOptions derives from OptimizerOptions alone). */
    AdamWOptions groupOptions(int group) {
        return new AdamWOptions(optimizer.param_groups().get(group).options());
    }

    /**
     * AdamWOptions exposes betas as a pointer to a C++ std::tuple, whose element order in memory
     * depends on the standard library (libstdc++ stores it reversed); the defaults (0.9, 0.999)
     * tell which slot is which.
     */
    static void setBetas(AdamWOptions o, double beta1, double beta2) {
        DoublePointer b = o.betas();
        if (b.get(0) == 0.9 && b.get(1) == 0.999) {
            b.put(0, beta1).put(1, beta2);
        } else if (b.get(0) == 0.999 && b.get(1) == 0.9) {
            b.put(0, beta2).put(1, beta1);
        } else {
            throw new IllegalStateException("unexpected AdamW default betas " + b.get(0) + ", " + b.get(1));
        }
    }

    /** Number of scalar parameters being trained. */
    public long numParameters() {
        long n = 0;
        for (Tensor p : model.parameters().values()) {
            n += p.numel();
        }
        return n;
    }

    /** Mean next-token cross-entropy of the rows under the current weights, without autograd (evaluation). */
    public double loss(PackedSequences.Rows rows) {
        try (PointerScope scope = new PointerScope()) {
            Tensor logits = model.logits(rows.batch());
            return crossEntropy(logits, rows.targets()).item_double();
        }
    }

    /** One optimisation step on the rows at learning rate {@code lr}. */
    public StepResult step(PackedSequences.Rows rows, double lr) {
        try (PointerScope scope = new PointerScope()) {
            for (int g = 0; g < optimizer.param_groups().size(); g++) {
                optimizer.param_groups().get(g).options().set_lr(lr);
            }
            optimizer.zero_grad(true);
            Tensor loss = crossEntropy(model.logitsWithGrad(rows.batch()), rows.targets());
            loss.backward();
            double norm = hyper.gradClip() > 0
                    ? torch.clip_grad_norm_(params, hyper.gradClip())
                    : torch.clip_grad_norm_(params, Double.MAX_VALUE);
            optimizer.step();
            long counted = 0;
            for (long t : rows.targets()) {
                counted += t == PackedSequences.IGNORE ? 0 : 1;
            }
            return new StepResult(loss.item_double(), norm, lr, counted);
        }
    }

    /** What a training run reports (the card's training section). */
    public record Run(
            double seconds,
            double tokensPerSecond,
            double firstMinuteTokensPerSecond,
            List<ModelCard.LossPoint> curve,
            double finalLoss,
            int finalLossSteps) {}

    /**
     * The training loop: {@code schedule.totalSteps()} steps of {@code batchRows} rows of {@code data},
     * drawn in a random order (a new permutation, from {@code seed}, each time the rows run out); logs
     * progress every {@code logEvery} steps. Fails on a non-finite loss.
     */
    public Run train(
            PackedSequences data,
            CosineSchedule schedule,
            int batchRows,
            long seed,
            int logEvery,
            Consumer<String> log) {
        int steps = schedule.totalSteps();
        Random random = new Random(seed);
        int[] order = permutation(data.numRows(), random);
        int next = 0;
        double[] losses = new double[steps];
        List<ModelCard.LossPoint> curve = new ArrayList<>();
        int curveEvery = Math.max(1, steps / 12);
        long tokensPerStep = (long) batchRows * data.context();
        long start = System.nanoTime();
        double firstMinuteRate = 0;
        log.accept(format(
                "model: %d parameters; %d steps of %d rows x %d tokens, peak lr %s, warm-up %d, %d threads",
                numParameters(),
                steps,
                batchRows,
                data.context(),
                schedule.peak(),
                schedule.warmupSteps(),
                torch.get_num_threads()));
        for (int step = 0; step < steps; step++) {
            int[] rows = new int[batchRows];
            for (int i = 0; i < rows.length; i++) {
                if (next == order.length) {
                    order = permutation(data.numRows(), random);
                    next = 0;
                }
                rows[i] = order[next++];
            }
            StepResult r = step(data.rows(rows), schedule.at(step));
            if (!Double.isFinite(r.loss())) {
                throw new IllegalStateException("loss is " + r.loss() + " at step " + (step + 1));
            }
            losses[step] = r.loss();
            double elapsed = (System.nanoTime() - start) / 1e9;
            int done = step + 1;
            double rate = tokensPerStep * done / elapsed;
            if (firstMinuteRate == 0 && (elapsed >= 60 || done == steps)) {
                firstMinuteRate = rate;
                log.accept(format(
                        "measured %.0f tokens/s over the first %d steps (%.1f s): %d steps take about %s",
                        rate, done, elapsed, steps, ModelCard.duration(elapsed / done * steps)));
            }
            if (done % logEvery == 0 || done == steps || done == 1) {
                log.accept(format(
                        "step %5d/%d  loss %.4f  lr %.2e  |g| %.3f  %.0f tok/s  elapsed %s  ETA %s",
                        done,
                        steps,
                        r.loss(),
                        r.lr(),
                        r.gradNorm(),
                        rate,
                        ModelCard.duration(elapsed),
                        ModelCard.duration(elapsed / done * (steps - done))));
            }
            if (done % curveEvery == 0 || done == steps) {
                int from = curve.isEmpty() ? 0 : curve.get(curve.size() - 1).step();
                curve.add(new ModelCard.LossPoint(done, mean(losses, from, done), r.lr()));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int last = Math.max(1, Math.min(50, steps / 10));
        double finalLoss = mean(losses, steps - last, steps);
        log.accept(format(
                "trained %d steps in %s; final training loss %.4f (mean of the last %d steps)",
                steps, ModelCard.duration(seconds), finalLoss, last));
        return new Run(seconds, tokensPerStep * steps / seconds, firstMinuteRate, curve, finalLoss, last);
    }

    private static String format(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    private static double mean(double[] v, int from, int to) {
        double sum = 0;
        for (int i = from; i < to; i++) {
            sum += v[i];
        }
        return sum / (to - from);
    }

    private static int[] permutation(int n, Random random) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static Tensor crossEntropy(Tensor logits, long[] targets) {
        Tensor t = Tensors.ofLongs(targets).to(logits.device(), torch.ScalarType.Long);
        return torch.cross_entropy_loss(logits, t, new TensorOptional(), REDUCTION_MEAN, PackedSequences.IGNORE, 0.0);
    }

    /** Stops tracking gradients (the parameters keep their values). */
    @Override
    public void close() {
        optimizer.zero_grad(true);
        for (Tensor p : model.parameters().values()) {
            p.requires_grad_(false);
        }
        optimizer.close();
    }
}
