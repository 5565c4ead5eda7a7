package io.cusprun.prune;

import io.cusprun.model.Batch;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.Tensors;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.ScalarTypeOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

/**
 * Activation statistics of a calibration corpus for the baselines: per layer the sum and sum
 * of squares over tokens of every FFN activation a[:,k] (down_proj's input) and every attention
 * output channel z[:,c] (o_proj's input), and ShortGPT's block influence 1 - cos(x_l, x_{l+1}).
 * The residual stream x_l is rebuilt from the hooks: x_0 is the embedding, and each layer adds
 * o_proj(z) and down_proj(act).
 */
public final class CalibrationHooks {
    private final boolean blockInfluence;
    private final LayerWeights[] weights;
    final double[][] actSum, actSq, zSum, zSq;
    final double[] influence;
    long tokens;

    public CalibrationHooks(int numLayers, boolean blockInfluence) {
        this.blockInfluence = blockInfluence;
        int n = numLayers;
        weights = new LayerWeights[n];
        actSum = new double[n][];
        actSq = new double[n][];
        zSum = new double[n][];
        zSq = new double[n][];
        influence = new double[n];
    }

    /**
     * The hooks of one batch, with its own residual stream (x_0 = {@code embedding}, the batch's
     * token embeddings) when block influence is collected; close it after the batch's last layer.
     * Per-layer sums are added batch after batch in the order batches are given, whichever the
     * order of layers, so in-memory and streamed runs sum identically.
     */
    public BatchHooks forBatch(Batch batch, Tensor embedding) {
        tokens += batch.length();
        return new BatchHooks(blockInfluence ? Tensors.keep(embedding.to(torch.ScalarType.Double)) : null);
    }

    /** One batch's view: accumulates into the shared sums, keeps the batch's residual stream. */
    public final class BatchHooks implements LayerHooks, AutoCloseable {
        private Tensor residual;
        private Tensor attnOut;

        private BatchHooks(Tensor residual) {
            this.residual = residual;
        }

        @Override
        public void beginLayer(int layer, LayerWeights w) {
            weights[layer] = w;
        }

        @Override
        public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch) {
            Tensor act = torch.silu(gate).mul_(up);
            Tensor a = act.to(torch.ScalarType.Double);
            actSum[layer] = add(actSum[layer], a.sum(new long[] {0}, false, new ScalarTypeOptional()));
            actSq[layer] = add(actSq[layer], a.mul(a).sum(new long[] {0}, false, new ScalarTypeOptional()));
            if (residual != null) {
                LayerWeights w = weights[layer];
                Tensor mlp = linear(a, w.down(), w.downBias());
                Tensor before = residual;
                Tensor after =
                        attnOut == null ? before.add(mlp) : before.add(attnOut).add(mlp);
                Tensor cos = torch.cosine_similarity(before, after, 1, 1e-12);
                influence[layer] +=
                        Tensors.toFloats(cos.neg().add(new Scalar(1.0)).sum())[0];
                Tensors.release(attnOut);
                attnOut = null;
                Tensors.keep(after);
                Tensors.release(residual);
                residual = after;
            }
            return act;
        }

        @Override
        public void attentionOutput(int layer, Tensor z, Batch batch) {
            Tensor flat = z.reshape(z.size(0), z.size(1) * z.size(2)).to(torch.ScalarType.Double);
            zSum[layer] = add(zSum[layer], flat.sum(new long[] {0}, false, new ScalarTypeOptional()));
            zSq[layer] = add(zSq[layer], flat.mul(flat).sum(new long[] {0}, false, new ScalarTypeOptional()));
            if (residual != null) {
                LayerWeights w = weights[layer];
                attnOut = Tensors.keep(linear(flat, w.o(), w.oBias()));
            }
        }

        @Override
        public void close() {
            Tensors.release(residual);
            Tensors.release(attnOut);
            residual = null;
            attnOut = null;
        }
    }

    private static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        Tensor w = weight.to(torch.ScalarType.Double);
        return bias == null
                ? torch.linear(x, w)
                : torch.linear(x, w, new TensorOptional(bias.to(torch.ScalarType.Double)));
    }

    private static double[] add(double[] acc, Tensor t) {
        Tensor c = t.cpu().contiguous();
        double[] v = new double[(int) c.numel()];
        c.data_ptr_double().get(v);
        if (acc == null) return v;
        for (int i = 0; i < v.length; i++) acc[i] += v[i];
        return acc;
    }
}
