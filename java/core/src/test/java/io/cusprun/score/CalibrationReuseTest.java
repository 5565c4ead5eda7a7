package io.cusprun.score;

import static org.junit.jupiter.api.Assertions.assertThrows;

import io.cusprun.api.ExpertPruner;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.testing.Fixtures;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One ExpertPruner reuses its last calibration pass for the next method on the same calibration
 * list (a comparison's wanda-sp, flap and shortgpt): the statistics equal those of a fresh pruner
 * per method, bit for bit, in either order, and another list is never served the last one's sums.
 */
class CalibrationReuseTest {
    @TempDir
    static Path dir;

    /** Two families (the reuse does not depend on the architecture; the suite's time does). */
    static List<Fixtures.Spec> families() {
        return StreamingTest.families().subList(0, 2);
    }

    private static List<TokenizedCorpus> calibration(Fixtures.Spec spec, long seed) {
        return List.of(new TokenizedCorpus(
                new CorpusSpec(CorpusKind.DOMAIN, "c", dir), Fixtures.randomDocs(seed, 30, 12, 25, 8, 19, 4)));
    }

    @ParameterizedTest
    @MethodSource("families")
    void aReusedPassGivesTheStatisticsOfAFreshOne(Fixtures.Spec spec) throws Exception {
        Path model = Fixtures.write(dir.resolve("reuse-" + spec.name()), spec);
        List<TokenizedCorpus> calibration = calibration(spec, spec.seed() + 5);
        for (Method[] order : new Method[][] {
            {Method.WANDA_SP, Method.FLAP, Method.SHORTGPT}, {Method.SHORTGPT, Method.FLAP, Method.WANDA_SP}
        }) {
            ExpertPruner shared = ExpertPruner.open(model);
            for (Method m : order) {
                PruneStatistics fresh = ExpertPruner.open(model)
                        .statistics(
                                m,
                                io.cusprun.api.PruneData.documents(calibration),
                                io.cusprun.prune.PruneSettings.DEFAULTS.withSeed(1));
                PruneStatistics reused = shared.statistics(
                        m,
                        io.cusprun.api.PruneData.documents(calibration),
                        io.cusprun.prune.PruneSettings.DEFAULTS.withSeed(1));
                StreamingTest.assertSameStatistics(fresh, reused, spec.name() + " " + m.label());
            }
            // another list (other documents) after the first: its own pass, not the last one's sums
            List<TokenizedCorpus> other = calibration(spec, spec.seed() + 6);
            PruneStatistics want = ExpertPruner.open(model)
                    .statistics(
                            Method.FLAP,
                            io.cusprun.api.PruneData.documents(other),
                            io.cusprun.prune.PruneSettings.DEFAULTS.withSeed(1));
            PruneStatistics got = shared.statistics(
                    Method.FLAP,
                    io.cusprun.api.PruneData.documents(other),
                    io.cusprun.prune.PruneSettings.DEFAULTS.withSeed(1));
            StreamingTest.assertSameStatistics(want, got, spec.name() + " other documents");
            PruneStatistics stale = ExpertPruner.open(model)
                    .statistics(
                            Method.FLAP,
                            io.cusprun.api.PruneData.documents(calibration),
                            io.cusprun.prune.PruneSettings.DEFAULTS.withSeed(1));
            assertThrows(
                    AssertionError.class,
                    () -> StreamingTest.assertSameStatistics(stale, got, "the documents make a difference"));
        }
    }
}
