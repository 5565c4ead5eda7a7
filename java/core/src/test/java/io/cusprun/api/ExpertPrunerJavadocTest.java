package io.cusprun.api;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.testing.Fixtures;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usage example in {@link ExpertPruner}'s class Javadoc compiles: its text is read out of the
 * source file, wrapped in a method of a class that imports the library's packages, and compiled
 * against the test class path.
 */
class ExpertPrunerJavadocTest {
    private static final String SOURCE = "java/core/src/main/java/io/cusprun/api/ExpertPruner.java";

    @TempDir
    Path dir;

    @Test
    void classJavadocExampleCompiles() throws Exception {
        String example =
                classJavadocExample(Files.readString(Fixtures.repositoryRoot().resolve(SOURCE)));
        assertTrue(example.contains("ExpertPruner.open("), "the example opens a model:\n" + example);

        String wrapped = String.join(
                "\n",
                "import io.cusprun.api.*;",
                "import io.cusprun.corpus.*;",
                "import io.cusprun.prune.*;",
                "import io.cusprun.score.*;",
                "import java.nio.file.Path;",
                "import java.util.List;",
                "",
                "class ExpertPrunerJavadocExample {",
                "    static void example() throws Exception {",
                example,
                "    }",
                "}",
                "");
        Path src = Files.writeString(dir.resolve("ExpertPrunerJavadocExample.java"), wrapped);
        Path classes = Files.createDirectories(dir.resolve("classes"));

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "no system Java compiler (the tests need a JDK)");
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        boolean ok;
        try (StandardJavaFileManager files =
                javac.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            List<String> options = List.of("-classpath", testClassPath(), "-d", classes.toString(), "-proc:none");
            ok = javac.getTask(null, files, diagnostics, options, null, files.getJavaFileObjects(src.toFile()))
                    .call();
        }
        String errors = diagnostics.getDiagnostics().stream()
                .filter(d -> d.getKind() == Diagnostic.Kind.ERROR)
                .map(d -> "line " + d.getLineNumber() + ": " + d.getMessage(Locale.ROOT))
                .collect(Collectors.joining("\n"));
        assertTrue(
                ok && errors.isEmpty(),
                "ExpertPruner's Javadoc example does not compile:\n" + errors + "\n--- as compiled:\n" + wrapped);
    }

    /** The text between the first {@code <pre>{@code} and its {@code }</pre>} of the class Javadoc, without the leading " * ". */
    static String classJavadocExample(String source) {
        int classDecl = source.indexOf("public final class ExpertPruner");
        int begin = source.lastIndexOf("<pre>{@code", classDecl);
        int end = source.indexOf("}</pre>", begin);
        assertTrue(classDecl > 0 && begin > 0 && end > begin, "no <pre>{@code ...}</pre> example in the class Javadoc");
        String body = source.substring(source.indexOf('\n', begin) + 1, end);
        return body.lines().map(l -> l.replaceFirst("^\\s*\\* ?", "")).collect(Collectors.joining("\n"));
    }

    /** Surefire runs tests from a manifest-only jar; it publishes the real class path in this property. */
    private static String testClassPath() {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) cp = System.getProperty("java.class.path");
        return String.join(File.pathSeparator, cp.split(File.pathSeparator));
    }
}
