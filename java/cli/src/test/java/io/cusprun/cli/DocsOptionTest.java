package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalInt;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Options;
import org.junit.jupiter.api.Test;

/** {@code --docs N|all}: a limit or none, never a 0 that means "all". */
class DocsOptionTest {
    private static OptionalInt docs(OptionalInt def, String... args) throws Exception {
        Options o = new Options();
        o.addOption(Cli.option("docs", "N|all", "documents"));
        CommandLine cl = new DefaultParser().parse(o, args);
        return Cli.docsOption(cl, "docs", def);
    }

    @Test
    void aLimitAllOrTheDefault() throws Exception {
        assertEquals(OptionalInt.of(64), docs(OptionalInt.of(64)));
        assertEquals(OptionalInt.empty(), docs(OptionalInt.empty()));
        assertEquals(OptionalInt.of(7), docs(OptionalInt.empty(), "--docs", "7"));
        assertEquals(OptionalInt.empty(), docs(OptionalInt.of(64), "--docs", "all"));
        assertEquals(OptionalInt.empty(), docs(OptionalInt.of(64), "--docs", "ALL"));
        for (String bad : new String[] {"0", "-3", "many"}) {
            UsageException e = assertThrows(UsageException.class, () -> docs(OptionalInt.empty(), "--docs", bad));
            assertTrue(e.getMessage().startsWith("--docs "), e.getMessage());
        }
    }
}
