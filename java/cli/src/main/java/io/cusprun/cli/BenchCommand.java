package io.cusprun.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.cusprun.Json;
import io.cusprun.OutputPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * {@code cusprun bench}: runs the JMH benchmarks (benchmarks/target/benchmarks.jar, built with
 * the project) in a child JVM, as JMH requires, and prints their results as one table.
 */
public final class BenchCommand implements Command {
    static final String NAME = "bench";
    static final String JAR = "benchmarks/target/benchmarks.jar";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "run the JMH benchmarks of the kernels and of scoring, print the table";
    }

    @Override
    public String description() {
        return "Runs the JMH benchmarks of the kernels and of scoring and prints their table.";
    }

    @Override
    public String examples() {
        return "  cusprun bench --quick\n  cusprun bench --filter FfnKernel --json ffn.json\n";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Cli.option("filter", "REGEX", "benchmarks to run (JMH regular expression; default all)"));
        o.addOption(Cli.flag("quick", "1 fork, 1 warm-up and 3 measured iterations of 1 s"));
        o.addOption(Cli.option("threads", "N", "native threads (OMP_NUM_THREADS; default all cores)"));
        o.addOption(Cli.option("jar", "FILE", "the benchmarks jar (default: " + JAR + " of this checkout)"));
        o.addOption(Cli.option("json", "FILE", "also keep JMH's JSON results in FILE"));
        o.addOption(Cli.forceOption());
        o.addOption(Cli.flag("list", "list the benchmarks and exit"));
        o.addOption(Cli.helpOption());
        return o;
    }

    /** JMH's JSON results: an array of runs, each naming the JMH version. */
    static final OutputPolicy.Kind RESULTS = OutputPolicy.Kind.file("JMH results file", BenchCommand::isJmhResults);

    static boolean isJmhResults(Path f) {
        JsonNode runs;
        try {
            runs = Json.read(f);
        } catch (IOException e) {
            return false; // not JSON (or not readable): not a results file this command wrote
        }
        if (runs == null || !runs.isArray()) {
            return false;
        }
        for (JsonNode run : runs) {
            if (!run.has("jmhVersion")) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException, InterruptedException {
        Path jar = cl.hasOption("jar") ? Path.of(cl.getOptionValue("jar")) : locateJar();
        if (!Files.isRegularFile(jar)) {
            throw new IOException(jar + ": benchmarks jar not found (build with 'mvn -B -DskipTests package')");
        }
        int threads = Cli.intOption(cl, "threads", 0, 1, 4096); // 0: not set, JMH's child uses every core
        Path json = cl.hasOption("json")
                ? Cli.output(cl, "json", null, RESULTS, Cli.inputs(jar, "--jar"), console)
                : Files.createTempFile("cusprun-bench", ".json");
        List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-jar", jar.toString()));
        if (cl.hasOption("list")) {
            cmd.add("-l");
        } else {
            if (cl.hasOption("filter")) {
                cmd.add(cl.getOptionValue("filter"));
            }
            if (cl.hasOption("quick")) {
                cmd.addAll(List.of("-f", "1", "-wi", "1", "-i", "3", "-w", "1s", "-r", "1s"));
            }
            cmd.addAll(List.of("-rf", "json", "-rff", json.toAbsolutePath().toString()));
        }
        // JMH's child writes to the process's own streams: it is a separate JVM, not this console
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        if (threads > 0) {
            Map<String, String> env = pb.environment();
            env.put("OMP_NUM_THREADS", Integer.toString(threads));
        }
        int code = pb.start().waitFor();
        if (code != 0) {
            throw new IOException("JMH exited with " + code);
        }
        if (!cl.hasOption("list")) {
            console.out().println();
            console.out().print(table(Json.read(json)));
            if (!cl.hasOption("json")) {
                Files.deleteIfExists(json);
            }
        }
        return Cli.OK;
    }

    /** benchmark, parameters, primary score with its error, and JMH's secondary metrics (GB/s, elements/s). */
    static String table(JsonNode results) {
        StringBuilder out = new StringBuilder(String.format(
                Locale.ROOT, "%-58s %-28s %14s %12s  %s%n", "benchmark", "params", "score", "error", "unit"));
        for (JsonNode r : results) {
            String name = r.path("benchmark").asText().replaceFirst("^io\\.cusprun\\.bench\\.", "");
            StringBuilder params = new StringBuilder();
            Iterator<Map.Entry<String, JsonNode>> it = r.path("params").fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> p = it.next();
                params.append(params.isEmpty() ? "" : ",")
                        .append(p.getKey())
                        .append('=')
                        .append(p.getValue().asText());
            }
            JsonNode m = r.path("primaryMetric");
            out.append(String.format(
                    Locale.ROOT,
                    "%-58s %-28s %14.3f %12.3f  %s%n",
                    name,
                    params,
                    m.path("score").asDouble(),
                    m.path("scoreError").asDouble(Double.NaN),
                    m.path("scoreUnit").asText()));
            Iterator<Map.Entry<String, JsonNode>> sec =
                    r.path("secondaryMetrics").fields();
            while (sec.hasNext()) {
                Map.Entry<String, JsonNode> s = sec.next();
                out.append(String.format(
                        Locale.ROOT,
                        "%-58s %-28s %14.3f %12.3f  %s%n",
                        "  ·" + s.getKey(),
                        "",
                        s.getValue().path("score").asDouble(),
                        s.getValue().path("scoreError").asDouble(Double.NaN),
                        s.getValue().path("scoreUnit").asText()));
            }
        }
        return out.toString();
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** benchmarks/target/benchmarks.jar of the checkout this jar was built in. */
    static Path locateJar() throws IOException {
        return Cli.inCheckout(JAR)
                .orElseThrow(
                        () -> new IOException(
                                JAR
                                        + " not found in the checkout this jar was built in (build with 'mvn -B -DskipTests package', or pass --jar FILE)"));
    }
}
