package io.cusprun.export;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GGUF key/value metadata in insertion order, each value with its GGUF type (gguf.h {@code enum
 * gguf_type}). Arrays hold one element type.
 */
public final class GgufMetadata {

    public static final int UINT8 = 0;
    public static final int INT8 = 1;
    public static final int UINT16 = 2;
    public static final int INT16 = 3;
    public static final int UINT32 = 4;
    public static final int INT32 = 5;
    public static final int FLOAT32 = 6;
    public static final int BOOL = 7;
    public static final int STRING = 8;
    public static final int ARRAY = 9;
    public static final int UINT64 = 10;
    public static final int INT64 = 11;
    public static final int FLOAT64 = 12;

    /** One value: a scalar (Long for integers, Float/Double, Boolean, String) or, for ARRAY, the elements. */
    public record Value(int type, int elementType, Object value) {

        @SuppressWarnings("unchecked")
        public List<Object> list() {
            return (List<Object>) value;
        }

        public long asLong() {
            return ((Number) value).longValue();
        }

        public double asDouble() {
            return ((Number) value).doubleValue();
        }

        public String asString() {
            return (String) value;
        }
    }

    private final Map<String, Value> values = new LinkedHashMap<>();

    public Map<String, Value> values() {
        return Collections.unmodifiableMap(values);
    }

    public Value get(String key) {
        return values.get(key);
    }

    public GgufMetadata put(String key, Value v) {
        values.put(key, v);
        return this;
    }

    public GgufMetadata putString(String key, String v) {
        return put(key, new Value(STRING, -1, v));
    }

    public GgufMetadata putU32(String key, long v) {
        if (v < 0 || v > 0xffffffffL) {
            throw new IllegalArgumentException(key + ": " + v + " does not fit uint32");
        }
        return put(key, new Value(UINT32, -1, v));
    }

    public GgufMetadata putF32(String key, double v) {
        return put(key, new Value(FLOAT32, -1, (float) v));
    }

    public GgufMetadata putBool(String key, boolean v) {
        return put(key, new Value(BOOL, -1, v));
    }

    public GgufMetadata putArray(String key, int elementType, List<?> items) {
        return put(key, new Value(ARRAY, elementType, List.copyOf(items)));
    }

    public GgufMetadata putInt32Array(String key, int[] items) {
        Long[] boxed = new Long[items.length];
        for (int i = 0; i < items.length; i++) {
            boxed[i] = (long) items[i];
        }
        return putArray(key, INT32, List.of(boxed));
    }
}
