package io.cusprun.options;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.cli.AlreadySelectedException;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.MissingArgumentException;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.apache.commons.cli.UnrecognizedOptionException;

/**
 * The one option parser of every cusprun entry point (the CLI, the Spark job, the trainer), in a
 * module of its own so that the library (cusprun-core) stays free of Commons CLI. Strict:
 * options are spelled out in full (no prefixes), a token that looks like an option but is none is an
 * unknown option wherever it stands, with the closest option suggested, a single-valued option given
 * twice is an error, and stray operands are refused unless the caller takes operands. Each error is
 * one line that names the option as it was typed.
 */
public final class StrictOptions {

    private StrictOptions() {}

    /**
     * Parses {@code args}. Errors end with {@code (did you mean --x?)} when an option is close, else
     * with {@code (see HELP)}, {@code help} being e.g. {@code 'cusprun prune --help'}.
     */
    public static CommandLine parse(Options options, String[] args, boolean takesOperands, String help)
            throws ParseException {
        String see = " (see " + help + ")";
        rejectUnknown(options, args, see);
        CommandLine cl;
        try {
            cl = DefaultParser.builder().setAllowPartialMatching(false).build().parse(options, args);
        } catch (ParseException e) {
            throw new ParseException(message(e) + see);
        }
        Set<String> seen = new HashSet<>();
        for (Option o : cl.getOptions()) {
            // Commons CLI keeps the first of repeated values silently: a repeated single-valued option is an error
            if (o.getArgs() == 1 && !seen.add(o.getKey())) {
                throw new ParseException("--" + o.getKey() + " given more than once" + see);
            }
        }
        if (!takesOperands && !cl.getArgList().isEmpty()) {
            throw new ParseException("unexpected argument '" + cl.getArgList().get(0) + "'" + see);
        }
        return cl;
    }

    /**
     * The first token that looks like an option but names none of {@code options}, as an error
     * (Commons CLI alone takes it as a value of the option before it when that one takes several,
     * e.g. {@code --corpus A --max-docs 64}).
     */
    private static void rejectUnknown(Options options, String[] args, String see) throws ParseException {
        for (String token : args) {
            if (token.equals("--")) {
                return; // what follows are operands
            }
            String name = optionName(token);
            if (name == null || (token.startsWith("--") ? options.hasLongOption(name) : options.hasShortOption(name))) {
                continue;
            }
            String typed = token.startsWith("--") ? "--" + name : "-" + name;
            String closest = closestOption(name, options);
            throw new ParseException(
                    "unknown option " + typed + (closest != null ? " (did you mean --" + closest + "?)" : see));
        }
    }

    /** The option name of {@code --name}, {@code --name=value} or {@code -x}; null for values (also negative numbers). */
    public static String optionName(String token) {
        if (token.startsWith("--") && token.length() > 2) {
            int eq = token.indexOf('=');
            return eq < 0 ? token.substring(2) : token.substring(2, eq);
        }
        if (token.startsWith("-") && token.length() > 1 && Character.isLetter(token.charAt(1))) {
            return token.substring(1);
        }
        return null;
    }

    /**
     * The long option closest to {@code typed}: within a few edits (a typo, a transposition), else
     * one whose hyphenated words are all among the typed ones or hold all of them ({@code
     * max-docs} → {@code docs}); null when none is close. Ties go to the option declared first.
     */
    public static String closestOption(String typed, Options options) {
        String best = null;
        int bestScore = Integer.MAX_VALUE;
        List<String> typedWords = List.of(typed.split("-"));
        for (Option o : options.getOptions()) {
            String name = o.getLongOpt();
            if (name == null) {
                continue;
            }
            int d = editDistance(typed, name);
            List<String> words = List.of(name.split("-"));
            int score;
            if (d <= Math.max(2, typed.length() / 3)) {
                score = d;
            } else if (typedWords.containsAll(words) || words.containsAll(typedWords)) {
                score = 100 + Math.abs(words.size() - typedWords.size());
            } else {
                continue;
            }
            if (score < bestScore) {
                best = name;
                bestScore = score;
            }
        }
        return best;
    }

    /** Edits (insert, delete, substitute, swap two neighbours) that turn {@code a} into {@code b}. */
    public static int editDistance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            for (int j = 0; j <= b.length(); j++) {
                if (i == 0 || j == 0) {
                    d[i][j] = i + j;
                    continue;
                }
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }

    /** Commons CLI's parse errors in cusprun's words, naming options as they are typed. */
    public static String message(ParseException e) {
        if (e instanceof AlreadySelectedException a
                && a.getOption() != null
                && a.getOptionGroup() != null
                && a.getOptionGroup().getSelected() != null) {
            return "--" + a.getOption().getKey() + " and --"
                    + a.getOptionGroup().getSelected() + " cannot be given together";
        }
        if (e instanceof MissingArgumentException m && m.getOption() != null) {
            return "--" + m.getOption().getKey() + " needs a value";
        }
        if (e instanceof UnrecognizedOptionException u && u.getOption() != null) {
            return "unknown option " + u.getOption();
        }
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return m.lines().findFirst().orElse(m);
    }
}
