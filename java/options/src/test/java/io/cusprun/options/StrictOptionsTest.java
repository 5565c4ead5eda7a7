package io.cusprun.options;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.junit.jupiter.api.Test;

class StrictOptionsTest {

    private static Options options() {
        Options o = new Options();
        o.addOption(Option.builder().longOpt("max-docs").hasArg().build());
        o.addOption(Option.builder().longOpt("model").hasArg().build());
        o.addOption(Option.builder().longOpt("corpus").hasArgs().build());
        o.addOption(Option.builder().longOpt("force").build());
        return o;
    }

    private static String error(boolean operands, String... args) {
        return assertThrows(ParseException.class, () -> StrictOptions.parse(options(), args, operands, "HELP"))
                .getMessage();
    }

    @Test
    void parsesFullNamesAndOperandsWhereTaken() throws ParseException {
        CommandLine cl = StrictOptions.parse(options(), new String[] {"--model", "m", "--force", "x"}, true, "HELP");
        assertEquals("m", cl.getOptionValue("model"));
        assertEquals(java.util.List.of("x"), cl.getArgList());
    }

    @Test
    void refusesPrefixesTyposRepeatsAndStrayOperandsInOneLine() {
        assertEquals("unknown option --mod (did you mean --model?)", error(false, "--mod", "m"));
        assertEquals("unknown option --modle (did you mean --model?)", error(false, "--modle", "m"));
        assertEquals("unknown option --docs (did you mean --max-docs?)", error(false, "--docs", "3"));
        assertEquals("unknown option --zzz (see HELP)", error(false, "--zzz"));
        // a multi-valued option does not swallow an unknown option after it
        assertEquals(
                "unknown option --max-doc (did you mean --max-docs?)", error(false, "--corpus", "a", "--max-doc", "3"));
        assertEquals("--model given more than once (see HELP)", error(false, "--model", "a", "--model", "b"));
        assertEquals("unexpected argument 'x' (see HELP)", error(false, "--force", "x"));
        assertEquals("--model needs a value (see HELP)", error(false, "--model"));
    }

    @Test
    void negativeNumbersAreValuesNotOptions() {
        assertNull(StrictOptions.optionName("-1"));
        assertNull(StrictOptions.optionName("-0.5"));
        assertEquals("max-docs", StrictOptions.optionName("--max-docs=3"));
        assertEquals(1, StrictOptions.editDistance("modle", "model"));
        assertEquals(4, StrictOptions.editDistance("max-docs", "docs"));
    }
}
