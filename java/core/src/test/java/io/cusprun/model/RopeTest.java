package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.testing.Fixtures;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** The cos/sin tables computed in Java against LibTorch's own cos and sin of the same fp32 angles. */
class RopeTest {

    @Test
    void tablesMatchLibTorchWithinOneRoundingOnLongDocuments() {
        ModelConfig config = ModelConfig.parse(Fixtures.config(Fixtures.spec(Fixtures.Family.LLAMA3, DType.F32)));
        Rope rope = new Rope(config);
        int d = config.headDim();
        try (PointerScope scope = new PointerScope()) {
            // positions of two packed documents, restarting at 0, up to 5000 (large angles)
            long[] positions = new long[5000 + 300];
            for (int i = 0; i < positions.length; i++) positions[i] = i < 5000 ? i : i - 5000;
            Tensor[] cs = rope.cosSin(Tensors.ofLongs(positions), torch.ScalarType.Float);
            assertArrayEquals(new long[] {positions.length, 1, d}, Tensors.shape(cs[0]));
            // the reference: HF's formula in LibTorch, fp32 angles = position * inv_freq
            Tensor inv = Tensors.ofFloats(rope.invFreq());
            Tensor freqs = Tensors.ofLongs(positions)
                    .to(torch.ScalarType.Float)
                    .unsqueeze(1)
                    .mul(inv.unsqueeze(0));
            Tensor emb = torch.cat(new TensorVector(freqs, freqs), 1).unsqueeze(1);
            double cosErr = cs[0].sub(emb.cos()).abs().max().item_double();
            double sinErr = cs[1].sub(emb.sin()).abs().max().item_double();
            // both in [-1, 1]: one fp32 rounding apart is at most 6e-8 (half an ulp below 1 each side)
            assertTrue(cosErr <= 1.2e-7, "cos differs by " + cosErr);
            assertTrue(sinErr <= 1.2e-7, "sin differs by " + sinErr);
            assertTrue(cs[0].pow(new Scalar(2))
                            .add(cs[1].pow(new Scalar(2)))
                            .sub(new Scalar(1))
                            .abs()
                            .max()
                            .item_double()
                    < 1e-6);
        }
    }
}
