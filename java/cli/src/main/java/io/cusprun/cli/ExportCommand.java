package io.cusprun.cli;

import io.cusprun.export.GgufExporter;
import io.cusprun.export.GgufType;
import io.cusprun.export.GgufWriter;
import java.nio.file.Path;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/** {@code cusprun export}: writes a model directory as one GGUF file for llama.cpp (see io.cusprun.export). */
public final class ExportCommand implements Command {
    static final String NAME = "export";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "write a model as a GGUF file for llama.cpp";
    }

    @Override
    public String description() {
        return "Writes a model as a GGUF file that llama.cpp (and tools built on it) runs.";
    }

    @Override
    public String examples() {
        return "  cusprun export --model demo-output/models/cusprun-0.35 --out expert.gguf --dtype q8_0\n";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Cli.option("model", "DIR", "model directory (pruned or not)"));
        o.addOption(Cli.option("out", "FILE", "the GGUF file to write"));
        o.addOption(Cli.option(
                "dtype", "T", "weight type: f32, f16, bf16 or q8_0 (default f16); norms and biases stay f32"));
        o.addOption(Cli.flag(
                "clamp",
                "clamp weights the type cannot hold (f16 beyond ±65504, a q8_0 block scale past f16) to its range,"
                        + " with a note per tensor (default: refuse them)"));
        o.addOption(Cli.forceOption());
        o.addOption(Cli.helpOption());
        return o;
    }

    @Override
    public int execute(CommandLine cl, Console console) throws Exception {
        Path model = Path.of(Cli.required(cl, "model"));
        GgufType type = GgufType.parse(cl.getOptionValue("dtype", "f16"));
        Path out = Cli.output(cl, "out", null, GgufExporter.OUTPUT, Cli.inputs(model, "--model"), console);
        GgufExporter.Result r = GgufExporter.export(
                model, out, type, cl.hasOption("clamp") ? GgufWriter.Range.CLAMP : GgufWriter.Range.REFUSE);
        r.notes().forEach(n -> console.err().println("export: note: " + n));
        console.err().println(r.describe(model));
        return Cli.OK;
    }
}
