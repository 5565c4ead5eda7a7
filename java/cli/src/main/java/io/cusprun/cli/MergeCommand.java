package io.cusprun.cli;

import io.cusprun.score.ScoreFile;
import io.cusprun.score.ScoreSet;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

import java.nio.file.Path;
import java.util.List;

/** {@code cusprun merge}: combines score shards exactly (max, histogram and exact-sum addition). */
public final class MergeCommand {
    static final String NAME = "merge";

    private MergeCommand() {}

    public static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("out").hasArg().argName("FILE").desc("merged score file").build());
        o.addOption(Option.builder("h").longOpt("help").desc("show this help").build());
        return o;
    }

    public static int run(String[] args) {
        if (Cli.wantsHelp(args)) {
            Cli.printHelp(NAME + " A B ...", "Merges score files of one model, corpora and settings (e.g. shards).", options(),
                    "  cusprun merge s0.safetensors s1.safetensors --out scores.safetensors\n");
            return Cli.OK;
        }
        return Cli.guard(NAME, () -> {
            CommandLine cl = Cli.parse(NAME, options(), args);
            Path out = Path.of(Cli.required(cl, NAME, "out"));
            List<String> inputs = cl.getArgList();
            if (inputs.size() < 2) throw new UsageException(NAME + ": give at least two score files to merge");
            ScoreSet merged = ScoreFile.read(Path.of(inputs.get(0)));
            for (String in : inputs.subList(1, inputs.size())) {
                try {
                    merged = merged.merge(ScoreFile.read(Path.of(in)));
                } catch (IllegalArgumentException e) {
                    throw new java.io.IOException("cannot merge " + in + ": " + e.getMessage());
                }
            }
            ScoreFile.write(merged, out);
            System.err.println("merged " + inputs.size() + " files (shard " + merged.shard() + ") -> " + out);
            return Cli.OK;
        });
    }
}
