package io.cusprun.score;

import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.testing.Fixtures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Run in a fresh JVM by {@link ThreadCountTest} (the OpenMP thread count is fixed per process):
 * scores every model directory under {@code args[0]} on the same random documents, with the
 * workers {@code args[2]} (e.g. {@code cpu} or {@code cpu,cpu}), and writes one score file per
 * model into {@code args[1]}.
 */
public final class ThreadCountProbe {
    private ThreadCountProbe() {}

    /** Long enough that a packed batch has 2048 tokens: GEMMs tiled, RoPE tables above LibTorch's grain. */
    static final int[] LENGTHS = {500, 480, 510, 300, 499, 470, 200, 505, 333};

    static final ScoreSettings SETTINGS =
            ScoreSettings.DEFAULTS.withMaxTokens(512).withBins(32).withNeurons(true);

    public static void main(String[] args) throws Exception {
        Path models = Path.of(args[0]), out = Files.createDirectories(Path.of(args[1]));
        List<String> devices = Arrays.asList(args[2].split(","));
        List<Path> dirs;
        try (var s = Files.list(models)) {
            dirs = s.sorted().toList();
        }
        for (Path model : dirs) {
            List<TokenizedCorpus> corpora = List.of(
                    new TokenizedCorpus(
                            new CorpusSpec(CorpusKind.LANGUAGE, "a", model), Fixtures.randomDocs(1, LENGTHS)),
                    new TokenizedCorpus(
                            new CorpusSpec(CorpusKind.DOMAIN, "b", model), Fixtures.randomDocs(2, LENGTHS)));
            try (ScoreTarget target = ScoreTarget.open(model, RelevanceBackends.byName("native"))) {
                Scorer.Result r = Scorer.run(target, corpora, SETTINGS, Scorer.Options.DEFAULTS.withDevices(devices));
                ScoreFile.write(r.scores(), out.resolve(model.getFileName() + ".safetensors"));
            }
        }
    }
}
