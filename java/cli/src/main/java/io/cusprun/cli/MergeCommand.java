package io.cusprun.cli;

import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSet;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code cusprun merge}: combines score shards exactly (max, histogram and exact-sum addition). */
public final class MergeCommand implements Command {
    static final String NAME = "merge";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "combine score files of shards or devices";
    }

    @Override
    public String description() {
        return "Merges score files of one model, corpora and settings (e.g. shards).";
    }

    @Override
    public String examples() {
        return "  cusprun merge s0.safetensors s1.safetensors --out scores.safetensors\n";
    }

    @Override
    public String operands() {
        return "FILE FILE...";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Cli.option("out", "FILE", "merged score file"));
        o.addOption(Cli.forceOption());
        o.addOption(Cli.helpOption());
        return o;
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException {
        Cli.required(cl, "out");
        List<String> inputs = cl.getArgList();
        if (inputs.size() < 2) throw new UsageException("give at least two score files to merge");
        Path out = Cli.output(
                cl,
                "out",
                null,
                ScoreFile.OUTPUT,
                Cli.inputs(inputs.stream().map(Path::of).toList(), "score file"),
                console);
        ScoreSet merged = ScoreFile.read(Path.of(inputs.get(0)));
        for (String in : inputs.subList(1, inputs.size())) {
            try {
                merged = merged.merge(ScoreFile.read(Path.of(in)));
            } catch (IllegalArgumentException e) {
                throw new IOException("cannot merge " + in + ": " + e.getMessage());
            }
        }
        ScoreFile.write(merged, out);
        console.err().println("merged " + inputs.size() + " files (shard " + merged.shard() + ") -> " + out);
        return Cli.OK;
    }
}
