package io.cusprun.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.model.Batch;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.ModelConfig;
import io.cusprun.testing.Fixtures;
import java.util.List;
import org.bytedeco.pytorch.AdamWOptions;
import org.junit.jupiter.api.Test;

class TrainerTest {

    private static final int VOCAB = Fixtures.VOCAB;
    private static final Trainer.Hyper HYPER = Trainer.Hyper.DEFAULTS;

    static ModelConfig tinyConfig() {
        ObjectNode c = new ObjectMapper().createObjectNode();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("vocab_size", VOCAB)
                .put("hidden_size", 32)
                .put("intermediate_size", 64)
                .put("num_hidden_layers", 2)
                .put("num_attention_heads", 4)
                .put("num_key_value_heads", 2)
                .put("rms_norm_eps", 1e-5)
                .put("tie_word_embeddings", true);
        return ModelConfig.parse(c);
    }

    @Test
    void stepsLowerTheLossOnAFixedBatch() {
        PackedSequences data = new PackedSequences(Fixtures.randomDocs(1, 40, 25, 70, 33), 32);
        PackedSequences.Rows rows = data.rows(0, 1, 2);
        try (LlamaModel model = LlamaModel.initialize(tinyConfig(), LoadOptions.DEFAULTS, 42);
                Trainer trainer = new Trainer(model, HYPER)) {
            double before = trainer.loss(rows);
            assertEquals(Math.log(VOCAB), before, 0.3, "a fresh model is near uniform");
            double first = trainer.step(rows, 1e-2).loss();
            assertEquals(before, first, 1e-4, "the step reports the loss before its update");
            Trainer.StepResult last = null;
            for (int i = 0; i < 40; i++) {
                last = trainer.step(rows, 1e-2);
            }
            double after = trainer.loss(rows);
            assertTrue(after < before - 1.0, "loss " + before + " -> " + after);
            assertEquals(last.targets(), 3 * 32 - 2, "the two document starts inside the rows are not targets");
        }
    }

    @Test
    void optimiserGroupsDecayMatricesOnly() {
        try (LlamaModel model = LlamaModel.initialize(tinyConfig(), LoadOptions.DEFAULTS, 1);
                Trainer trainer = new Trainer(model, HYPER)) {
            AdamWOptions decay = trainer.groupOptions(0);
            AdamWOptions noDecay = trainer.groupOptions(1);
            assertEquals(0.1, decay.weight_decay().get());
            assertEquals(0.0, noDecay.weight_decay().get());
            for (AdamWOptions o : List.of(decay, noDecay)) {
                double[] betas = {o.betas().get(0), o.betas().get(1)};
                java.util.Arrays.sort(betas);
                assertArrayEquals(new double[] {0.9, 0.95}, betas);
                assertEquals(1e-8, o.eps().get());
            }
            long matrices = model.parameters().values().stream()
                    .filter(p -> p.dim() >= 2)
                    .mapToLong(p -> p.numel())
                    .sum();
            assertEquals(
                    matrices, VOCAB * 32 + 2 * (32 * (32 + 2 * 16) + 32 * 32 + 3 * 32 * 64), "tied: embedding once");
            assertEquals(matrices + 32 * 5, trainer.numParameters());
        }
    }

    @Test
    void rowsKeepDocumentsApart() {
        List<long[]> docs =
                List.of(new long[] {10, 11, 12, 13, 14}, new long[] {20, 21, 22}, new long[] {30, 31, 32, 33});
        PackedSequences data = new PackedSequences(docs, 4);
        assertEquals(12, data.numTokens());
        assertEquals(2, data.numRows(), "(12 - 1) / 4 complete rows");
        PackedSequences.Rows r = data.rows(1, 0);
        // row 1 = stream [4, 8): 14 | 20 21 22, targets 20(ignored: a document start) 21 22 30(ignored)
        assertArrayEquals(new long[] {14, 20, 21, 22, 10, 11, 12, 13}, r.batch().tokens());
        assertArrayEquals(new long[] {0, 1, 4, 8}, r.batch().docOffsets());
        long i = PackedSequences.IGNORE;
        assertArrayEquals(new long[] {i, 21, 22, i, 11, 12, 13, 14}, r.targets());
        assertArrayEquals(new long[] {0, 0, 1, 2, 0, 1, 2, 3}, r.batch().positions());
        assertThrows(IndexOutOfBoundsException.class, () -> data.rows(2));
        assertThrows(IllegalArgumentException.class, () -> new PackedSequences(List.of(new long[] {1, 2}), 4));
        Batch b = data.rows(0).batch();
        assertEquals(1, b.numDocs());
    }

    @Test
    void scheduleWarmsUpThenDecays() {
        CosineSchedule s = new CosineSchedule(1.0, 4, 14, 0.1);
        assertEquals(0.25, s.at(0), 1e-12);
        assertEquals(1.0, s.at(3), 1e-12);
        assertEquals(1.0, s.at(4), 1e-12);
        assertEquals(0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * 4 / 9)), s.at(8), 1e-12, "4 of the 9 decay intervals");
        assertEquals(0.1, s.at(13), 1e-12);
        for (int k = 4; k < 13; k++) {
            assertTrue(s.at(k + 1) < s.at(k));
        }
        assertThrows(IllegalArgumentException.class, () -> new CosineSchedule(1.0, 5, 4, 0.1));
    }
}
