package io.cusprun.train;

/**
 * Learning rate: linear warm-up from 0 to {@code peak} over {@code warmupSteps}, then cosine decay
 * to {@code peak * finalFraction} at {@code totalSteps}.
 */
public record CosineSchedule(double peak, int warmupSteps, int totalSteps, double finalFraction) {

    public CosineSchedule {
        if (peak <= 0
                || warmupSteps < 0
                || totalSteps <= 0
                || warmupSteps > totalSteps
                || finalFraction < 0
                || finalFraction > 1) {
            throw new IllegalArgumentException("bad schedule: peak " + peak + ", warm-up " + warmupSteps + " of "
                    + totalSteps + " steps, final fraction " + finalFraction);
        }
    }

    /** The rate of step {@code step} (0-based). */
    public double at(int step) {
        if (step < warmupSteps) {
            return peak * (step + 1) / warmupSteps;
        }
        int decaySteps = totalSteps - warmupSteps;
        double progress = decaySteps <= 1 ? 1.0 : Math.min(1.0, (double) (step - warmupSteps) / (decaySteps - 1));
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return peak * (finalFraction + (1 - finalFraction) * cosine);
    }
}
