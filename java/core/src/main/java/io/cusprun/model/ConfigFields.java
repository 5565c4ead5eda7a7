package io.cusprun.model;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Typed reads of {@code config.json} fields, each refusing a missing or ill-typed value with a
 * one-line {@link IllegalArgumentException} naming the key.
 */
final class ConfigFields {

    private ConfigFields() {}

    static String text(JsonNode n, String key, String def) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? def : v.asText();
    }

    static int positiveInt(JsonNode n, String key) {
        int v = requiredInt(n, key);
        if (v <= 0) {
            throw new IllegalArgumentException("\"" + key + "\" must be a positive integer, not " + v);
        }
        return v;
    }

    static long positiveLong(JsonNode n, String key, String prefix) {
        JsonNode v = n.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() <= 0) {
            throw new IllegalArgumentException("missing or bad \"" + prefix + key + "\" (need a positive integer"
                    + (v == null ? ")" : ", not " + v + ")"));
        }
        return v.asLong();
    }

    /** A finite number > 0 (an integer is fine). */
    static double positiveNumber(JsonNode n, String key, String prefix) {
        JsonNode v = n.get(key);
        if (v == null || !v.isNumber() || !Double.isFinite(v.asDouble()) || !(v.asDouble() > 0)) {
            throw new IllegalArgumentException("missing or bad \"" + prefix + key + "\" (need a finite number > 0"
                    + (v == null ? ")" : ", not " + v + ")"));
        }
        return v.asDouble();
    }

    /** true/false, or false when absent or null. */
    static boolean bool(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException("\"" + key + "\" must be true or false, not " + v);
        }
        return v.booleanValue();
    }

    static String string(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("\"" + key + "\" must be a string, not " + v);
        }
        return v.asText();
    }

    /** A token id: an integer in [0, vocab_size). */
    static long tokenId(JsonNode v, String key, int vocab) {
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0 || v.asLong() >= vocab) {
            throw new IllegalArgumentException(
                    "\"" + key + "\" must be token ids in [0, " + vocab + ") (vocab_size), not " + v);
        }
        return v.asLong();
    }

    static int requiredInt(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull() || !v.canConvertToInt() || !v.isIntegralNumber() || v.asInt() < 0) {
            throw new IllegalArgumentException("missing or bad \"" + key + "\" (need a non-negative integer)");
        }
        return v.asInt();
    }

    static int optInt(JsonNode n, String key, int def) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return def;
        }
        return requiredInt(n, key);
    }
}
