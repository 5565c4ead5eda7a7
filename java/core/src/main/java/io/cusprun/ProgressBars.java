package io.cusprun;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** The progress bars of long work (scoring, compensation's passes), all drawn the same way. */
public final class ProgressBars {
    private ProgressBars() {}

    /** A bar named {@code task} over {@code total} {@code unit}s on {@code stream}; build it, or add to it first. */
    public static ProgressBarBuilder builder(PrintStream stream, String task, String unit, long total) {
        return new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setUnit(unit, 1)
                .setStyle(ProgressBarStyle.ASCII)
                .setConsumer(new ConsoleProgressBarConsumer(stream));
    }
}
