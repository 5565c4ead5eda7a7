package io.cusprun.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.Options;

import io.cusprun.model.DType;
import io.cusprun.model.LoadOptions;

/** What eval and inspect share beyond {@link Cli}: one-line I/O errors, help on a given stream, load options. */
public final class CliSupport {

    private CliSupport() {
    }

    /** One line describing an I/O failure, naming the file. */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException n) {
            return n.getFile() + ": no such file";
        }
        if (e instanceof AccessDeniedException a) {
            return a.getFile() + ": permission denied";
        }
        String m = e.getMessage() == null ? e.toString() : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }

    static void help(PrintStream out, String usage, String header, Options options) {
        PrintWriter w = new PrintWriter(out, true);
        new HelpFormatter().printHelp(w, 100, usage, header, options, 2, 2, null, false);
        w.flush();
    }

    /** --device / --dtype to LoadOptions (cpu and fp32 by default). */
    static LoadOptions loadOptions(String device, String dtype) {
        DType t = switch (dtype == null ? "f32" : dtype.toLowerCase()) {
            case "f32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f16", "float16" -> DType.F16;
            default -> throw new IllegalArgumentException("--dtype must be f32, bf16 or f16, not " + dtype);
        };
        return new LoadOptions(device == null ? "cpu" : device, t);
    }

    static int positiveInt(String value, String option) {
        try {
            int v = Integer.parseInt(value);
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("--" + option + " needs a positive integer, not '" + value + "'");
    }
}
