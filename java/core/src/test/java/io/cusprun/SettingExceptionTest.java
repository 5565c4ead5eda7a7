package io.cusprun;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.cusprun.api.ComparisonSpec;
import io.cusprun.prune.Granularity;
import io.cusprun.prune.Method;
import io.cusprun.prune.PruneSettings;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.ShardSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The library names its settings, never a command-line flag. */
class SettingExceptionTest {
    private static SettingException thrown(Executable e) {
        SettingException s = assertThrows(SettingException.class, e);
        assertFalse(s.getMessage().contains("--"), s.getMessage());
        assertEquals(s.setting() + " " + s.problem(), s.getMessage());
        return s;
    }

    @Test
    void settingsNameTheirField() {
        SettingException ratio = thrown(() -> PruneSettings.DEFAULTS.withRatio(1.5));
        assertEquals("ratio", ratio.setting());
        assertEquals("ratio must be in [0, 1), not 1.5", ratio.getMessage());
        assertEquals(
                "docQuantile",
                thrown(() -> PruneSettings.DEFAULTS.withDocQuantile(0)).setting());
        assertEquals(
                "masked",
                thrown(() -> PruneSettings.DEFAULTS.withGranularity(Granularity.NEURONS))
                        .setting());
        assertEquals("bins", thrown(() -> ScoreSettings.DEFAULTS.withBins(0)).setting());
        assertEquals("method", thrown(() -> Method.parse("lottery")).setting());
        assertEquals("shard", thrown(() -> ShardSpec.parse("3/2")).setting());
        assertEquals("model", thrown(() -> ComparisonSpec.DEFAULTS.check()).setting());
    }

    @Test
    void defaultsAreTheDocumentedValues() {
        assertEquals(
                ScoreSettings.DEFAULTS,
                ScoreSettings.DEFAULTS
                        .withMaxTokens(512)
                        .withAllDocs()
                        .withBins(100)
                        .withBatchTokens(2048)
                        .withBatchDocs(16)
                        .withNeurons(false));
        assertEquals(0.1, PruneSettings.DEFAULTS.minFfnFraction());
        assertEquals("cusprun,random,magnitude,wanda-sp,flap,shortgpt,cusprun-general", Method.labels(","));
    }
}
