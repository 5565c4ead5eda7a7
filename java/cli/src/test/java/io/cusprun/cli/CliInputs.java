package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cusprun.score.PlantedModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The small inputs the reliability tests run every command on: a planted model, a corpus, a
 * held-out text and the corpus' scores as two shards (so that merge has something to merge),
 * with the command lines built over them.
 */
record CliInputs(Path model, Path corpus, Path held, Path scores, Path scores1) {

    /** Writes the inputs under {@code dir/in}. */
    static CliInputs write(Path dir) throws IOException {
        Path in = dir.resolve("in");
        Path model = PlantedModel.write(in.resolve("model"), 13);
        Path corpus =
                Files.writeString(in.resolve("a.txt"), PlantedModel.text(PlantedModel.documents('a', 4, 4, 20, 1)));
        Path held =
                Files.writeString(in.resolve("held.txt"), PlantedModel.text(PlantedModel.documents('a', 2, 4, 20, 2)));
        CliInputs c = new CliInputs(model, corpus, held, in.resolve("s0.safetensors"), in.resolve("s1.safetensors"));
        for (String shard : List.of("0/2", "1/2")) {
            Path out = shard.startsWith("0") ? c.scores : c.scores1;
            CompareCommandTest.Run r = CompareCommandTest.run(c.score(out, "--shard", shard));
            assertEquals(0, r.code(), r.err());
        }
        return c;
    }

    static String[] args(List<String> base, String... more) {
        List<String> a = new ArrayList<>(base);
        a.addAll(List.of(more));
        return a.toArray(new String[0]);
    }

    /** {@code args} with the value of {@code option} replaced. */
    static String[] replaced(String[] args, String option, String value) {
        String[] out = args.clone();
        out[List.of(args).indexOf(option) + 1] = value;
        return out;
    }

    String[] score(Path out, String... more) {
        return args(
                List.of(
                        "score",
                        "--model",
                        model.toString(),
                        "--corpus",
                        "language:a=" + corpus,
                        "--out",
                        out.toString(),
                        "--no-progress"),
                more);
    }

    String[] prune(Path out, String method, String... more) {
        return args(
                List.of(
                        "prune",
                        "--model",
                        model.toString(),
                        "--corpus",
                        "language:a=" + corpus,
                        "--method",
                        method,
                        "--ratio",
                        "0.3",
                        "--out",
                        out.toString()),
                more);
    }

    String[] merge(Path out, String... more) {
        return args(List.of("merge", scores.toString(), scores1.toString(), "--out", out.toString()), more);
    }

    String[] compare(String... more) {
        return compareWith("random", more);
    }

    /** {@code compare} of {@code methods} (comma-separated), evaluated on the held-out text. */
    String[] compareWith(String methods, String... more) {
        return args(
                List.of(
                        "compare",
                        "--model",
                        model.toString(),
                        "--corpus",
                        "language:a=" + corpus,
                        "--ratio",
                        "0.3",
                        "--method",
                        methods,
                        "--eval-expert",
                        held.toString(),
                        "--eval-general",
                        held.toString()),
                more);
    }
}
