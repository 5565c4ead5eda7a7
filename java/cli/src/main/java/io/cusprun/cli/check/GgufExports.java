package io.cusprun.cli.check;

import io.cusprun.export.GgufExporter;
import io.cusprun.export.GgufType;
import java.io.IOException;
import java.nio.file.Path;

/** The llama.cpp check's exports of several dtypes of one model in one JVM (benchmarks/llamacpp/check.sh). */
public final class GgufExports {
    private GgufExports() {}

    /**
     * Several exports of one model in one JVM (used by benchmarks/llamacpp/check.sh, which runs
     * {@code cusprun export} for f32): {@code java -cp cusprun.jar io.cusprun.cli.check.GgufExports
     * MODEL_DIR OUT_PREFIX DTYPE...} writes {@code OUT_PREFIX-DTYPE.gguf} for each DTYPE.
     */
    public static void main(String[] args) throws IOException {
        if (args.length < 3) {
            System.err.println("usage: GgufExports MODEL_DIR OUT_PREFIX DTYPE...");
            System.exit(2);
        }
        for (int i = 2; i < args.length; i++) {
            GgufType t = GgufType.parse(args[i]);
            GgufExporter.Result r =
                    GgufExporter.export(Path.of(args[0]), Path.of(args[1] + "-" + t.optionName() + ".gguf"), t);
            System.err.println(r.describe(Path.of(args[0])));
        }
    }
}
