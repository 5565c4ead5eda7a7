package io.cusprun;

/**
 * A setting of the library out of range or missing. The message names the setting as the library
 * knows it ({@code "ratio must be in [0, 1), not 1.5"}); front ends that spell settings
 * differently (the CLI's {@code --ratio}) rebuild it from {@link #setting()} and {@link #problem()}.
 */
public class SettingException extends IllegalArgumentException {
    private final String setting;
    private final String problem;

    /** {@code problem} continues the sentence that starts with the setting's name. */
    public SettingException(String setting, String problem) {
        super(setting + " " + problem);
        this.setting = setting;
        this.problem = problem;
    }

    /** The setting's name in the library: a record component such as {@code ratio} or {@code maxTokens}. */
    public String setting() {
        return setting;
    }

    /** The message without the setting's name. */
    public String problem() {
        return problem;
    }
}
