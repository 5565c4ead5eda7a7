package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.model.Batch;
import io.cusprun.model.LayerHooks;
import io.cusprun.model.LayerWeights;
import io.cusprun.model.Tensors;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Relevance is the actual effect of removal: for random FFN neurons, heads, KV groups and
 * value/output neurons, zero the unit in the layer's real activations and measure how much the
 * MLP / attention block output (after down_proj / o_proj, biases included) changes.
 */
class RelevanceAblationTest {
    @TempDir
    Path dir;

    /** Runs the scoring hooks and keeps each layer's activation and attention output. */
    static final class Capture implements LayerHooks {
        final RelevanceHooks inner;
        final Map<Integer, Tensor> act = new HashMap<>(), z = new HashMap<>();

        Capture(RelevanceHooks inner) {
            this.inner = inner;
        }

        @Override
        public void beginLayer(int layer, io.cusprun.model.LayerWeights w) {
            inner.beginLayer(layer, w);
        }

        @Override
        public Tensor ffnActivation(int layer, Tensor gate, Tensor up, Batch batch) {
            Tensor a = inner.ffnActivation(layer, gate, up, batch);
            act.put(layer, Tensors.keep(a.clone()));
            return a;
        }

        @Override
        public void attentionOutput(int layer, Tensor zz, Batch batch) {
            inner.attentionOutput(layer, zz, batch);
            z.put(layer, Tensors.keep(zz.clone()));
        }
    }

    @Test
    void relevanceEqualsTheChangeOfTheBlockOutput() throws Exception {
        Path model = PlantedModel.write(dir.resolve("m"), 4, true);
        Random rnd = new Random(9);
        try (ScoreTarget t = ScoreTarget.open(model, RelevanceBackends.byName("native"));
                PointerScope scope = new PointerScope()) {
            long[] doc = PlantedModel.documents(rnd.nextBoolean() ? 'a' : 'b', 1, 20, 20, 4)
                    .get(0);
            for (int i = 0; i < 6; i++) doc[i] = rnd.nextInt(PlantedModel.VOCAB); // mixed text: every unit active
            Batch batch = Batch.of(doc);
            BatchRelevance rel = new BatchRelevance(0, 1, doc.length);
            RelevanceHooks hooks = new RelevanceHooks(t.backend("cpu"), t.weights("cpu"), true).kvHeads(t.kvHeads());
            hooks.begin(batch, Tensors.ofLongs(batch.docOffsets()), rel);
            Capture cap = new Capture(hooks);
            t.model("cpu").hiddenStates(batch, cap);
            int d = PlantedModel.HEAD_DIM, g = PlantedModel.HEADS / PlantedModel.KV_HEADS;
            int checked = 0;
            for (int l = 0; l < PlantedModel.LAYERS; l++) {
                LayerWeights w = t.model("cpu").layer(l);
                Tensor a = cap.act.get(l).to(torch.ScalarType.Double);
                Tensor z = cap.z.get(l).to(torch.ScalarType.Double).reshape(doc.length, PlantedModel.HEADS * d);
                for (int pick = 0; pick < 5; pick++) {
                    int k = rnd.nextInt(PlantedModel.FFN);
                    double measured = change(a, w.down(), w.downBias(), k, 1);
                    assertClose(
                            measured,
                            Tensors.toDoubles(rel.modules().get(new ModuleKey(l, ModuleKind.MLP)))[k],
                            "FFN " + l + "/" + k);
                    int h = rnd.nextInt(PlantedModel.HEADS);
                    assertClose(
                            change(z, w.o(), w.oBias(), h * d, d),
                            Tensors.toDoubles(rel.modules().get(new ModuleKey(l, ModuleKind.HEAD)))[h],
                            "head " + h);
                    int grp = rnd.nextInt(PlantedModel.KV_HEADS);
                    assertClose(
                            change(z, w.o(), w.oBias(), grp * g * d, g * d),
                            Tensors.toDoubles(rel.modules().get(new ModuleKey(l, ModuleKind.GROUP)))[grp],
                            "group " + grp);
                    int c = rnd.nextInt(PlantedModel.HEADS * d);
                    assertClose(
                            change(z, w.o(), w.oBias(), c, 1),
                            Tensors.toDoubles(rel.modules().get(new ModuleKey(l, ModuleKind.VO)))[c],
                            "vo " + c);
                    checked += 4;
                }
            }
            assertEquals(40, checked);
            cap.act.values().forEach(Tensors::release);
            cap.z.values().forEach(Tensors::release);
        }
    }

    /** ||proj(x) - proj(x with columns [from, from+count) zeroed)||_F, computed through the real projection. */
    static double change(Tensor x, Tensor weight, Tensor bias, int from, int count) {
        Tensor wd = weight.to(torch.ScalarType.Double);
        Tensor ablated = x.clone();
        ablated.narrow(1, from, count).zero_();
        Tensor full = bias == null
                ? torch.linear(x, wd)
                : torch.linear(x, wd, new TensorOptional(bias.to(torch.ScalarType.Double)));
        Tensor cut = bias == null
                ? torch.linear(ablated, wd)
                : torch.linear(ablated, wd, new TensorOptional(bias.to(torch.ScalarType.Double)));
        Tensor diff = full.sub(cut);
        return Math.sqrt(Tensors.toFloats(diff.mul(diff).sum().to(torch.ScalarType.Float))[0]);
    }

    static void assertClose(double measured, double relevance, String what) {
        assertTrue(measured >= 0);
        assertEquals(measured, relevance, 1e-4 * Math.max(1, measured), what);
    }
}
