package io.cusprun.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Means, standard deviations and paired differences of repeated cells against a direct computation. */
class RepeatedRowTest {
    static ComparisonRow run(String method, double ratio, double expert, double general, double acc) {
        return new ComparisonRow(method, ratio, ratio, ratio * 0.8, 1000, expert, general, acc);
    }

    @Test
    void meanSdAndPairedDifferenceMatchADirectComputation() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 20; trial++) {
            int k = 2 + rnd.nextInt(5);
            double[] a = new double[k];
            double[] b = new double[k];
            List<ComparisonRow> ra = new ArrayList<>();
            List<ComparisonRow> rb = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                a[i] = 100 + 10 * rnd.nextGaussian();
                b[i] = a[i] + 3 + rnd.nextGaussian();
                ra.add(run("cusprun", 0.3, a[i], 50, 0.25));
                rb.add(run("random", 0.3, b[i], 60 + i, Double.NaN));
            }
            RepeatedRow ca = new RepeatedRow("cusprun", 0.3, ra);
            RepeatedRow cb = new RepeatedRow("random", 0.3, rb);
            double mean = 0;
            for (double x : a) mean += x / k;
            double ss = 0;
            for (double x : a) ss += (x - mean) * (x - mean);
            assertEquals(mean, ca.mean(ComparisonRow::expertPerplexity), 1e-9);
            assertEquals(Math.sqrt(ss / (k - 1)), ca.sd(ComparisonRow::expertPerplexity), 1e-9);
            assertEquals(mean, ca.meanRow().expertPerplexity(), 1e-9);
            assertEquals(0, ca.sd(ComparisonRow::generalPerplexity), 0);
            assertTrue(Double.isNaN(cb.mean(ComparisonRow::expertAccuracy)), "unmeasured stays unmeasured");

            double[] d = new double[k];
            double dm = 0;
            for (int i = 0; i < k; i++) {
                d[i] = b[i] - a[i];
                dm += d[i] / k;
            }
            double dss = 0;
            for (double x : d) dss += (x - dm) * (x - dm);
            double se = Math.sqrt(dss / (k - 1)) / Math.sqrt(k);
            RepeatedRow.Difference diff = cb.differenceTo(ca, ComparisonRow::expertPerplexity);
            assertEquals(dm, diff.mean(), 1e-9);
            assertEquals(se, diff.se(), 1e-9);
            assertEquals(Math.abs(dm) > 2 * se, diff.exceedsTwoSe());
            List<RepeatedRow> all = List.of(ca, cb);
            ResultsTable table = ResultsTable.comparison(null, all);
            assertEquals(diff.exceedsTwoSe(), table.cell(1, "expert_perplexity").marked());
            assertEquals(diff, table.cell(1, "expert_perplexity").difference());
            assertFalse(table.cell(0, "expert_perplexity").marked(), "cusprun itself");
            assertEquals(null, table.cell(0, "expert_perplexity").difference(), "cusprun itself");
        }
    }

    @Test
    void meanRowCarriesTheFirstRepeatsRemovedUnits() {
        List<ComparisonRow> runs = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            io.cusprun.prune.UnitCounts layer = new io.cusprun.prune.UnitCounts(100 + k, 2 * k, k, 0, 0, 0);
            runs.add(run("random", 0.45, 200 + k, 150, 0.25).withRemoved(layer.plus(layer), List.of(layer, layer)));
        }
        ComparisonRow mean = new RepeatedRow("random", 0.45, runs).meanRow();
        assertEquals(201, mean.expertPerplexity(), 1e-9);
        assertEquals(runs.get(0).removed(), mean.removed());
        assertEquals(runs.get(0).removedPerLayer(), mean.removedPerLayer());
        // no repeat removed a head: named in the note; a later repeat that removed heads: not named
        List<ComparisonRow> ffnOnly = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            io.cusprun.prune.UnitCounts c = new io.cusprun.prune.UnitCounts(100, 0, 0, 0, 0, 0);
            ffnOnly.add(run("cusprun", 0.45, 200 + k, 150, 0.25).withRemoved(c, List.of(c)));
        }
        List<RepeatedRow> cells =
                List.of(new RepeatedRow("cusprun", 0.45, ffnOnly), new RepeatedRow("random", 0.45, runs));
        assertEquals(ComparisonRow.noHeadsNote(List.of(ffnOnly.get(0), runs.get(1))), RepeatedTable.noHeadsNote(cells));
        List<ComparisonRow> firstRuns = List.of(ffnOnly.get(0), runs.get(0));
        org.junit.jupiter.api.Assertions.assertNotEquals(
                ComparisonRow.noHeadsNote(firstRuns),
                RepeatedTable.noHeadsNote(cells),
                "repeat 1 alone removed no head anywhere");
        assertFalse(RepeatedTable.noHeadsNote(cells).contains("random"), "repeats 2 and 3 did");
    }

    @Test
    void pairingRemovesTheNoiseTheMethodsShare() {
        // both methods move together with the sample; the difference is constant: significant although
        // each cell's sd is large
        List<ComparisonRow> ra = new ArrayList<>();
        List<ComparisonRow> rb = new ArrayList<>();
        double[] shared = {-20, 5, 17};
        for (double s : shared) {
            ra.add(run("cusprun", 0.3, 100 + s, 50, 0.25));
            rb.add(run("magnitude", 0.3, 101 + s + (s > 0 ? 0.01 : -0.01), 50, 0.25));
        }
        RepeatedRow ca = new RepeatedRow("cusprun", 0.3, ra);
        RepeatedRow cb = new RepeatedRow("magnitude", 0.3, rb);
        assertTrue(cb.sd(ComparisonRow::expertPerplexity) > 10);
        assertTrue(cb.differenceTo(ca, ComparisonRow::expertPerplexity).exceedsTwoSe());
        assertFalse(cb.differenceTo(ca, ComparisonRow::generalPerplexity).exceedsTwoSe(), "no difference, no mark");
        // a single run has no standard error: nothing is marked
        RepeatedRow one = new RepeatedRow("magnitude", 0.3, rb.subList(0, 1));
        assertFalse(one.differenceTo(new RepeatedRow("cusprun", 0.3, ra.subList(0, 1)), ComparisonRow::expertPerplexity)
                .exceedsTwoSe());
        assertEquals(
                String.format(
                        java.util.Locale.ROOT,
                        "%.3f ± %.3f",
                        cb.mean(ComparisonRow::expertPerplexity),
                        cb.sd(ComparisonRow::expertPerplexity)),
                ResultsTable.comparison(null, List.of(cb))
                        .cell(0, "expert_perplexity")
                        .text("-"));
        assertEquals(
                String.format(java.util.Locale.ROOT, "%.3f", rb.get(0).expertPerplexity()),
                ResultsTable.comparison(null, List.of(one))
                        .cell(0, "expert_perplexity")
                        .text("-"),
                "a single run: no spread");
    }
}
