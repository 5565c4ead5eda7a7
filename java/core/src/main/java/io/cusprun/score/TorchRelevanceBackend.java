package io.cusprun.score;

import io.cusprun.model.Tensors;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The kernels' contract written with plain LibTorch ops, one document at a time: a reference
 * for tests and a fallback where the native library is not wanted. Slower and with temporary
 * tensors (the qk reference materialises T x T per head), which is what the kernels avoid.
 */
public final class TorchRelevanceBackend implements RelevanceBackend {
    public static final TorchRelevanceBackend INSTANCE = new TorchRelevanceBackend();

    private TorchRelevanceBackend() {}

    @Override
    public String name() {
        return "libtorch-reference";
    }

    @Override
    public Tensor ffnSwiglu(Tensor gate, Tensor up, Tensor docOffsets, Tensor acc) {
        Tensor act = torch.silu(gate).mul_(up);
        long[] off = Tensors.toLongs(docOffsets);
        for (int i = 0; i + 1 < off.length; i++) {
            Tensor a = act.narrow(0, off[i], off[i + 1] - off[i]).to(torch.ScalarType.Double);
            acc.select(0, i).add_(a.mul(a).sum(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional()));
        }
        return act;
    }

    @Override
    public void headGram(Tensor z, int numHeads, int groupSize, Tensor docOffsets, Tensor gram) {
        long t = z.size(0), d = z.size(2);
        int groups = numHeads / groupSize;
        Tensor y = z.reshape(t, groups, groupSize * d).to(torch.ScalarType.Double);
        long[] off = Tensors.toLongs(docOffsets);
        for (int i = 0; i + 1 < off.length; i++) {
            Tensor yd = y.narrow(0, off[i], off[i + 1] - off[i]).permute(1, 0, 2); // [G, Td, gd]
            gram.select(0, i).add_(torch.bmm(yd.transpose(1, 2), yd));
        }
    }

    @Override
    public void qkNeuron(Tensor q, Tensor k, int numHeads, int numKvHeads, float scale, Tensor docOffsets, Tensor acc) {
        long d = q.size(2), half = d / 2;
        int g = numHeads / numKvHeads;
        long[] off = Tensors.toLongs(docOffsets);
        for (int i = 0; i + 1 < off.length; i++) {
            long len = off[i + 1] - off[i];
            Tensor mask = torch.ones(
                            new long[] {len, len}, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Bool))
                    .triu(1)
                    .to(q.device(), torch.ScalarType.Bool);
            for (int h = 0; h < numHeads; h++) {
                Tensor qh = q.narrow(0, off[i], len).select(1, h).to(torch.ScalarType.Double);
                Tensor kh = k.narrow(0, off[i], len).select(1, h / g).to(torch.ScalarType.Double);
                Tensor a = torch.matmul(qh, kh.t()).mul_(new org.bytedeco.pytorch.Scalar(scale));
                Tensor p = torch.softmax(
                        a.masked_fill(mask, new org.bytedeco.pytorch.Scalar(Double.NEGATIVE_INFINITY)), 1);
                for (long j = 0; j < half; j++) {
                    Tensor qj = torch.stack(
                            new org.bytedeco.pytorch.TensorVector(qh.select(1, j), qh.select(1, j + half)), 1);
                    Tensor kj = torch.stack(
                            new org.bytedeco.pytorch.TensorVector(kh.select(1, j), kh.select(1, j + half)), 1);
                    Tensor dj = torch.matmul(qj, kj.t()).mul_(new org.bytedeco.pytorch.Scalar(scale));
                    Tensor pj = torch.softmax(
                            a.sub(dj).masked_fill(mask, new org.bytedeco.pytorch.Scalar(Double.NEGATIVE_INFINITY)), 1);
                    Tensor diff = p.sub(pj);
                    acc.select(0, i)
                            .select(0, h)
                            .select(0, j)
                            .add_(diff.mul(diff).sum());
                }
            }
        }
    }

    /**
     * The Java reference of {@code rank_update} ({@link RankUpdater#JAVA}, {@link ExactSum}) on
     * host copies, written back to the tensors.
     */
    @Override
    public void rankUpdate(Tensor relevance, Tensor rankMax, Tensor rankHist, Tensor relevanceSum) {
        int nDocs = (int) relevance.size(0), n = (int) relevance.size(1), bins = (int) rankHist.size(1);
        double[] rel = Tensors.toDoubles(relevance);
        for (int i = 0; i < rel.length; i++) {
            if (!(rel[i] >= 0 && rel[i] < 0x1p62))
                throw new ArithmeticException("relevance[" + i / n + "][" + i % n + "] is out of range: " + rel[i]);
        }
        float[] max = Tensors.toFloats(rankMax);
        int[] hist = Tensors.toInts(rankHist);
        long[] sum = Tensors.toLongs(relevanceSum);
        long[] hi = new long[n], lo = new long[n];
        for (int k = 0; k < n; k++) {
            hi[k] = sum[2 * k];
            lo[k] = sum[2 * k + 1];
        }
        ExactSum exact = ExactSum.of(hi, lo);
        RankUpdater.JAVA.update(rel, nDocs, n, max, hist, bins);
        for (int i = 0; i < rel.length; i++) exact.add(i % n, rel[i]);
        hi = exact.hi();
        lo = exact.lo();
        for (int k = 0; k < n; k++) {
            sum[2 * k] = hi[k];
            sum[2 * k + 1] = lo[k];
        }
        rankMax.copy_(Tensors.ofFloats(max));
        rankHist.copy_(Tensors.ofInts(hist, n, bins));
        relevanceSum.copy_(Tensors.ofLongs(sum, n, 2));
    }
}
