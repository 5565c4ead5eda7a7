package io.cusprun.engine;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The per-process CPU settings, each checked in a fresh JVM with a controlled environment. */
class CpuRuntimeTest {

    /** The probe's output as a map, run with the given variables set (null: removed). */
    private static Map<String, String> probe(Map<String, String> env) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(
                        java,
                        "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
                        "-cp",
                        System.getProperty("java.class.path"),
                        CpuRuntimeProbe.class.getName())
                .redirectErrorStream(true);
        pb.environment().remove("OMP_NUM_THREADS");
        pb.environment().remove("THP_MEM_ALLOC_ENABLE");
        env.forEach((k, v) -> {
            if (v == null) pb.environment().remove(k);
            else pb.environment().put(k, v);
        });
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        Map<String, String> values = new HashMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.contains(" "))
                values.put(line.substring(0, eq), line.substring(eq + 1).trim());
        }
        for (String key : List.of("hugePages", "pageAligned", "torchThreads", "processors"))
            assertTrue(values.containsKey(key), "probe printed no " + key + ":\n" + out);
        return values;
    }

    @Test
    void byDefaultHugePagesAndOneThreadPerProcessor() throws Exception {
        Map<String, String> v = probe(Map.of());
        assertEquals("true", v.get("hugePages"));
        assertEquals("true", v.get("pageAligned"), "LibTorch's allocator did not take the huge-page setting");
        assertEquals(v.get("processors"), v.get("torchThreads"));
    }

    @Test
    void theUsersSettingsWin() throws Exception {
        Map<String, String> v = probe(Map.of("THP_MEM_ALLOC_ENABLE", "0", "OMP_NUM_THREADS", "1"));
        assertEquals("false", v.get("hugePages"));
        assertEquals("1", v.get("torchThreads"));
    }
}
