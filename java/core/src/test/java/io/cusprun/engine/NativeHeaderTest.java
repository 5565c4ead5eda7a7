package io.cusprun.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.engine.nativeapi.CusprunNative;
import io.cusprun.testing.Fixtures;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Java side's copies of the C API's constants and kernel list agree with
 * {@code native/include/cusprun.h} and with the library actually loaded.
 */
class NativeHeaderTest {

    /** Every {@code #define CUSPRUN_X N} and {@code CUSPRUN_X = N} enumerator of the header. */
    static Map<String, Integer> headerConstants() throws IOException {
        String h = Files.readString(Fixtures.repositoryRoot().resolve("native/include/cusprun.h"));
        Map<String, Integer> out = new LinkedHashMap<>();
        Matcher define = Pattern.compile("#define\\s+(CUSPRUN_[A-Z0-9_]+)\\s+\\(?(-?\\d+)\\)?")
                .matcher(h);
        while (define.find()) out.put(define.group(1), Integer.parseInt(define.group(2)));
        Matcher enumerator =
                Pattern.compile("\\b(CUSPRUN_[A-Z0-9_]+)\\s*=\\s*(-?\\d+)").matcher(h);
        while (enumerator.find()) out.put(enumerator.group(1), Integer.parseInt(enumerator.group(2)));
        return out;
    }

    @Test
    void javaConstantsEqualTheHeaders() throws Exception {
        Map<String, Integer> header = headerConstants();
        int checked = 0;
        for (Field f : CusprunNative.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers())
                    || f.getType() != int.class
                    || !f.getName().startsWith("CUSPRUN_")) continue;
            assertTrue(header.containsKey(f.getName()), f.getName() + " is not in cusprun.h");
            assertEquals(header.get(f.getName()), f.getInt(null), f.getName());
            checked++;
        }
        // and nothing of the header's is missing on the Java side
        for (String name : header.keySet()) {
            assertTrue(hasField(name), name + " of cusprun.h has no constant in CusprunNative");
        }
        assertEquals(header.size(), checked);
    }

    @Test
    void theLoadedLibraryHasThisApiVersion() {
        assertEquals(CusprunNative.CUSPRUN_API_VERSION, CusprunNative.cusprun_api_version());
        assertEquals(null, CusprunNative.apiMismatch("x", CusprunNative.CUSPRUN_API_VERSION));
        String m = CusprunNative.apiMismatch("/lib/libcusprun.so", CusprunNative.CUSPRUN_API_VERSION + 1);
        assertTrue(
                m.contains("API version " + (CusprunNative.CUSPRUN_API_VERSION + 1))
                        && m.contains("expects " + CusprunNative.CUSPRUN_API_VERSION)
                        && !m.contains("\n"),
                m);
    }

    @Test
    void kernelEnumFollowsTheLibrary() {
        assertEquals(Kernel.values().length, CusprunNative.cusprun_kernel_count());
        for (Kernel k : Kernel.values()) {
            assertEquals(k.nativeName(), CusprunNative.cusprun_kernel_name(k.ordinal()));
        }
    }

    private static boolean hasField(String name) {
        try {
            CusprunNative.class.getField(name);
            return true;
        } catch (NoSuchFieldException e) {
            return false;
        }
    }
}
