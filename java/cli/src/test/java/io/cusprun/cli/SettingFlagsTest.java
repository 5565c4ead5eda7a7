package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cusprun.api.ComparisonSpec;
import io.cusprun.api.ScoreJob;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.MemorySettings;
import io.cusprun.prune.PruneSettings;
import io.cusprun.score.ScoreSettings;
import io.cusprun.score.Scorer;
import io.cusprun.vocab.VocabTrimSettings;
import java.lang.reflect.RecordComponent;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.commons.cli.Option;
import org.junit.jupiter.api.Test;

/**
 * Every library setting the CLI exposes has a flag and every flag a setting, checked by
 * reflection: the components of the settings records against {@link Cli#FLAGS}, and those flags
 * against the options the commands declare. Renaming a record component, or a flag, without the
 * other fails here instead of silently losing the flag (and the flag's name in the error).
 */
class SettingFlagsTest {

    /** The settings records behind the commands' options. */
    static final Class<?>[] SETTINGS = {
        ScoreSettings.class,
        PruneSettings.class,
        VocabTrimSettings.class,
        MemorySettings.class,
        LoadOptions.class,
        ComparisonSpec.class,
        ScoreJob.class,
        Scorer.Options.class
    };

    /**
     * Components that are not one flag, and why: other settings records (their components are
     * checked themselves), values a command derives from several flags or from its operands, and
     * run-time plumbing a caller of the library passes (streams, files a command names itself).
     */
    static final Map<String, String> NO_FLAG = Map.ofEntries(
            Map.entry("prune", "a PruneSettings: its components are checked"),
            Map.entry("scoring", "a ScoreSettings: its components are checked"),
            Map.entry("settings", "a ScoreSettings: its components are checked"),
            Map.entry("options", "a Scorer.Options: its components are checked"),
            Map.entry("memory", "a MemorySettings: its components are checked"),
            Map.entry("progress", "the console's stream, or none under --no-progress"),
            Map.entry("storage", "derived: the checkpoint's own dtype on the CPU, --dtype on eval"),
            Map.entry("partialFile", "FILE.partial of --out"),
            Map.entry("stopAfterBatches", "a library hook for tests of resumption"));

    /**
     * Components whose errors name them otherwise (RECORD.component: setting name), where one
     * component name would stand for two flags.
     */
    static final Map<String, String> NAMED = Map.of(
            "VocabTrimSettings.corpora", "vocabCorpora",
            "VocabTrimSettings.minCount", "vocabMinCount",
            "ComparisonSpec.vocabTrim", "vocabTrim");

    /**
     * Setting names that are a parser's, not a record's: {@code Method.parse} (prune's one
     * method), {@code Granularity.parse} (PruneSettings holds it as {@code chosenGranularity}).
     */
    static final Set<String> PARSED = Set.of("method", "granularity");

    @Test
    void everySettingHasAFlagAndEveryFlagASetting() {
        Set<String> components = new TreeSet<>();
        Set<String> qualified = new TreeSet<>();
        for (Class<?> c : SETTINGS) {
            for (RecordComponent rc : c.getRecordComponents()) {
                String q = c.getSimpleName() + "." + rc.getName();
                qualified.add(q);
                components.add(NAMED.getOrDefault(q, rc.getName()));
            }
        }
        Set<String> unknown = new TreeSet<>(NAMED.keySet());
        unknown.removeAll(qualified);
        assertEquals(Set.of(), unknown, "NAMED names components that no longer exist");
        Map<String, String> missing = new TreeMap<>();
        for (String name : components) {
            if (!Cli.FLAGS.containsKey(name) && !NO_FLAG.containsKey(name)) missing.put(name, "no flag");
        }
        assertEquals(Map.of(), missing, "settings without a flag (add them to Cli.FLAGS or NO_FLAG)");

        Set<String> declared = new TreeSet<>();
        for (Command command : Main.COMMANDS.values()) {
            for (Option o : command.options().getOptions()) declared.add(o.getLongOpt());
        }
        Map<String, String> stale = new TreeMap<>();
        Cli.FLAGS.forEach((setting, flag) -> {
            if (!components.contains(setting) && !PARSED.contains(setting))
                stale.put(setting, "not a component of a settings record");
            else if (!declared.contains(flag)) stale.put(setting, "--" + flag + " is no command's option");
        });
        assertEquals(Map.of(), stale, "Cli.FLAGS entries without a setting or without an option");
        Set<String> exempt = new TreeSet<>(NO_FLAG.keySet());
        exempt.removeAll(components);
        assertEquals(Set.of(), exempt, "NO_FLAG names components that no longer exist");
    }
}
