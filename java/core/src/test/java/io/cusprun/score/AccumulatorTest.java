package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AccumulatorTest {

    @Test
    void exactSumDoesNotDependOnOrder() {
        Random rnd = new Random(1);
        double[] v = new double[2000];
        for (int i = 0; i < v.length; i++) v[i] = Math.scalb(rnd.nextDouble(), rnd.nextInt(60) - 40); // 1e-12 .. 1e6
        ExactSum forward = new ExactSum(1),
                backward = new ExactSum(1),
                halves = new ExactSum(1),
                other = new ExactSum(1);
        double plainF = 0, plainB = 0;
        for (int i = 0; i < v.length; i++) {
            forward.add(0, v[i]);
            backward.add(0, v[v.length - 1 - i]);
            (i % 2 == 0 ? halves : other).add(0, v[i]);
            plainF += v[i];
            plainB += v[v.length - 1 - i];
        }
        halves.addAll(other);
        assertArrayEquals(forward.hi(), backward.hi());
        assertArrayEquals(forward.lo(), backward.lo());
        assertArrayEquals(forward.lo(), halves.lo());
        assertEquals(plainF, forward.get(0), 1e-9 * plainF);
        assertNotEquals(0, plainF - plainB + (plainF == plainB ? 1 : 0), "plain fp64 sums would differ (or coincide)");
        assertThrows(ArithmeticException.class, () -> forward.add(0, -1));
        assertThrows(ArithmeticException.class, () -> forward.add(0, Double.NaN));
    }

    @Test
    void javaRanksFollowTheContract() {
        float[] max = new float[4];
        int[] hist = new int[4 * 4];
        // ties share their mean rank: values 5,1,1,9 -> ranks 2, 0.5, 0.5, 3 -> p = 2/3, 1/6, 1/6, 1
        RankUpdater.JAVA.update(new double[] {5, 1, 1, 9}, 1, 4, max, hist, 4);
        assertArrayEquals(new float[] {2f / 3, 1f / 6, 1f / 6, 1f}, max, 1e-7f);
        assertEquals(1, hist[0 * 4 + 2]);
        assertEquals(1, hist[1 * 4 + 0]);
        assertEquals(1, hist[3 * 4 + 3]); // p = 1 lands in the last bin
    }

    @Test
    void quantileComesFromTheHistogram() {
        RankAccumulator a = new RankAccumulator(2, 10);
        // unit 0 is lowest in 9 of 10 documents, highest in one
        for (int doc = 0; doc < 10; doc++)
            a.update(doc == 0 ? new double[] {2, 1} : new double[] {1, 2}, 1, RankUpdater.JAVA);
        assertEquals(1.0, a.rankStatistic(0, 1.0));
        assertEquals(0.1, a.rankStatistic(0, 0.9), 1e-12); // bin [0, 0.1) holds the 90% quantile
        assertEquals(1.0, a.rankStatistic(1, 0.9));
        assertEquals(10, a.documents());
    }

    @Test
    void shardSpecsParseAndUnite() {
        ShardSpec a = ShardSpec.parse("0/3"), b = ShardSpec.parse("2/3");
        assertTrue(a.covers(3) && !a.covers(4));
        ShardSpec ab = a.union(b);
        assertEquals("0,2/3", ab.toString());
        assertEquals(ab, ShardSpec.parseStored("0,2/3"));
        assertEquals(ShardSpec.ALL, ab.union(ShardSpec.parse("1/3")));
        assertThrows(IllegalArgumentException.class, () -> ab.union(a));
        assertThrows(IllegalArgumentException.class, () -> a.union(ShardSpec.parse("1/2")));
        assertThrows(IllegalArgumentException.class, () -> ShardSpec.parse("3/3"));
        assertThrows(IllegalArgumentException.class, () -> ShardSpec.parse("x"));
    }
}
