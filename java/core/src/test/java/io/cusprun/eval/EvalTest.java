package io.cusprun.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.model.Batch;
import io.cusprun.model.DType;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.Tensors;
import io.cusprun.model.TextTokenizer;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Golden;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvalTest {

    @TempDir
    Path tmp;

    private static Path llama2() {
        return Golden.fixtureDir(Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32));
    }

    /** log p(ids[t] | ids[..t-1]) from the logits of ids alone, by hand in double precision. */
    private static double logProb(float[] logits, long[] ids, int t) {
        int v = Fixtures.VOCAB;
        int row = (t - 1) * v;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            max = Math.max(max, logits[row + i]);
        }
        double sum = 0;
        for (int i = 0; i < v; i++) {
            sum += Math.exp(logits[row + i] - max);
        }
        return logits[row + (int) ids[t]] - max - Math.log(sum);
    }

    @Test
    void windowsFollowTheHfGuide() {
        assertEquals(
                List.of(
                        new Perplexity.Window(0, 4, 1),
                        new Perplexity.Window(2, 6, 4),
                        new Perplexity.Window(4, 8, 6),
                        new Perplexity.Window(6, 10, 8)),
                Perplexity.windows(10, 4, 2));
        assertEquals(
                List.of(
                        new Perplexity.Window(0, 4, 1),
                        new Perplexity.Window(4, 8, 5),
                        new Perplexity.Window(8, 10, 9)),
                Perplexity.windows(10, 4, 4));
        assertEquals(List.of(new Perplexity.Window(0, 3, 1)), Perplexity.windows(3, 8, 4));
        assertEquals(List.of(), Perplexity.windows(1, 8, 4));
    }

    @Test
    void perplexityMatchesAHandComputation() throws IOException {
        long[] doc = {1, 5, 9, 3, 17, 22, 8, 40, 11};
        try (LlamaModel m = LlamaModel.load(llama2());
                PointerScope scope = new PointerScope()) {
            // one window: every token after the first, each given all before it
            float[] logits = Tensors.toFloats(m.logits(Batch.of(doc)));
            double sum = 0;
            for (int t = 1; t < doc.length; t++) {
                sum += logProb(logits, doc, t);
            }
            PerplexityResult r = new Perplexity(m, 16, 8, 4096).evaluate(List.of(doc));
            assertEquals(doc.length - 1, r.tokens());
            assertEquals(-sum / (doc.length - 1), r.nll(), 1e-5);
            assertEquals(Math.exp(r.nll()), r.perplexity(), 1e-12);

            // windows of 4 every 2 tokens: each window run alone, scoring its new tokens
            double windowed = 0;
            long count = 0;
            for (Perplexity.Window w : Perplexity.windows(doc.length, 4, 2)) {
                long[] ids = java.util.Arrays.copyOfRange(doc, w.begin(), w.end());
                float[] wl = Tensors.toFloats(m.logits(Batch.of(ids)));
                for (int t = w.firstTarget(); t < w.end(); t++) {
                    windowed += logProb(wl, ids, t - w.begin());
                    count++;
                }
            }
            PerplexityResult s = new Perplexity(m, 4, 2, 7).evaluate(List.of(doc, new long[] {4}));
            assertEquals(count, s.tokens());
            assertEquals(doc.length - 1, count);
            assertEquals(-windowed / count, s.nll(), 1e-5);
        }
    }

    @Test
    void accAndAccNormAsLmEvalDefinesThem() {
        List<McItem> items = List.of(
                new McItem("q1", List.of("a", "bbbb"), 1, " "), // acc picks 0, acc_norm (-4/4 > -2/1) picks 1
                new McItem("q2", List.of("xx", "y"), 0, " "), // both pick 0
                new McItem("q3", List.of("ü", "ab"), 1, " ")); // chars: -1/1 < -1.5/2 -> 1; bytes: -1/2 > -1.5/2 -> 0
        double[] ll = {-2, -4, -1, -3, -1, -1.5};
        McResult r = MultipleChoice.metrics(items, ll);
        assertEquals(3, r.n());
        assertEquals(1.0 / 3, r.acc(), 1e-12);
        assertEquals(1.0, r.accNorm(), 1e-12);
        assertEquals(2.0 / 3, r.accNormBytes(), 1e-12);
        assertEquals(
                0.0,
                MultipleChoice.metrics(List.of(new McItem("t", List.of("a", "b"), 1, " ")), new double[] {-1, -1})
                        .acc(),
                "ties go to the first choice, as numpy's argmax");
    }

    @Test
    void multipleChoiceLogLikelihoodsMatchAHandComputation() throws IOException {
        Path file = tmp.resolve("mc.jsonl");
        Files.writeString(file, """
                {"context": "The cat sat on the ", "choices": ["mat", "big red tree"], "answer": 0}

                {"context": "One, two,", "choices": ["three", "four five"], "answer": 1, "delimiter": " "}
                """);
        List<McItem> items = EvalData.readMultipleChoice(file);
        assertEquals(2, items.size());
        try (LlamaModel m = LlamaModel.load(llama2());
                TextTokenizer tok = TextTokenizer.load(llama2());
                PointerScope scope = new PointerScope()) {
            MultipleChoice mc = new MultipleChoice(m, tok, 64, 16);
            double[] ll = mc.logLikelihoods(items);
            int k = 0;
            for (McItem item : items) {
                for (String choice : item.choices()) {
                    long[] ctx = tok.encode(item.context().stripTrailing(), true);
                    long[] cont = tok.encode(choice);
                    long[] all = new long[ctx.length + cont.length];
                    System.arraycopy(ctx, 0, all, 0, ctx.length);
                    System.arraycopy(cont, 0, all, ctx.length, cont.length);
                    float[] logits = Tensors.toFloats(m.logits(Batch.of(all)));
                    double expected = 0;
                    for (int t = ctx.length; t < all.length; t++) {
                        expected += logProb(logits, all, t);
                    }
                    assertEquals(expected, ll[k++], 1e-4, item.context() + " / " + choice);
                }
            }
            McResult r = mc.evaluate(items);
            assertEquals(MultipleChoice.metrics(items, ll), r);
            ScoreRequest req = mc.request("The cat sat on the ", " mat");
            assertArrayEquals(new long[] {1, 3, 32, 34, 13, 3, 35}, req.ids());
            assertEquals(6, req.firstTarget());
        }
    }

    @Test
    void dataFilesReportTheirLine() throws IOException {
        Path ids = tmp.resolve("ids.jsonl");
        Files.writeString(ids, "[1, 2, 3]\n\n[4, 99]\n");
        IOException e = assertThrows(IOException.class, () -> EvalData.readIds(ids, 64));
        assertEquals(ids + ":3: token 99 is not an id in [0, 64)", e.getMessage());
        Files.writeString(ids, "[1, 2, 3]\n{oops\n");
        e = assertThrows(IOException.class, () -> EvalData.readIds(ids, 64));
        assertTrue(e.getMessage().startsWith(ids + ":2: not valid JSON"), e.getMessage());
        Path mc = tmp.resolve("mc.jsonl");
        Files.writeString(mc, "{\"context\": \"x\", \"choices\": [\"a\"], \"answer\": 3}\n");
        e = assertThrows(IOException.class, () -> EvalData.readMultipleChoice(mc));
        assertTrue(e.getMessage().startsWith(mc + ":1: answer 3"), e.getMessage());
    }
}
