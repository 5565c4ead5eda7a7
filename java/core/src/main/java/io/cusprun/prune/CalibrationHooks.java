package io.cusprun.prune;

import io.cusprun.model.Batch;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.LlamaModel;
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
public final class CalibrationHooks implements LayerHooks {
    private final LlamaModel model;
    private final boolean blockInfluence;
    final double[][] actSum, actSq, zSum, zSq;
    final double[] influence;
    long tokens;
    private Tensor residual;
    private Tensor attnOut;

    public CalibrationHooks(LlamaModel model, boolean blockInfluence) {
        this.model = model;
        this.blockInfluence = blockInfluence;
        int n = model.numLayers();
        actSum = new double[n][];
        actSq = new double[n][];
        zSum = new double[n][];
        zSq = new double[n][];
        influence = new double[n];
    }

    /** Call before each batch's forward pass. */
    public void begin(Batch batch) {
        tokens += batch.length();
        if (blockInfluence) {
            Tensor ids = Tensors.ofLongs(batch.tokens()).to(model.embedding().device(), torch.ScalarType.Long);
            residual = Tensors.keep(torch.embedding(model.embedding(), ids).to(torch.ScalarType.Double));
        }
    }

    /** Call after each batch's forward pass. */
    public void end() {
        Tensors.release(residual);
        residual = null;
    }

    @Override
    public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch) {
        Tensor act = torch.silu(gate).mul_(up);
        Tensor a = act.to(torch.ScalarType.Double);
        actSum[layer] = add(actSum[layer], a.sum(new long[] {0}, false, new ScalarTypeOptional()));
        actSq[layer] = add(actSq[layer], a.mul(a).sum(new long[] {0}, false, new ScalarTypeOptional()));
        if (blockInfluence) {
            LayerWeights w = model.layer(layer);
            Tensor mlp = linear(a, w.down(), w.downBias());
            Tensor before = residual;
            Tensor after =
                    attnOut == null ? before.add(mlp) : before.add(attnOut).add(mlp);
            Tensor cos = torch.cosine_similarity(before, after, 1, 1e-12);
            influence[layer] += Tensors.toFloats(cos.neg().add(new Scalar(1.0)).sum())[0];
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
        if (blockInfluence) {
            LayerWeights w = model.layer(layer);
            attnOut = Tensors.keep(linear(flat, w.o(), w.oBias()));
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
