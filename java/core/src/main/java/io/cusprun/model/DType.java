package io.cusprun.model;

import java.util.Arrays;
import java.util.stream.Collectors;
import org.bytedeco.pytorch.global.torch.ScalarType;

/** The element types a safetensors file may hold, with their on-disk names and sizes. */
public enum DType {
    F64("F64", 8, ScalarType.Double),
    F32("F32", 4, ScalarType.Float),
    F16("F16", 2, ScalarType.Half),
    BF16("BF16", 2, ScalarType.BFloat16),
    I64("I64", 8, ScalarType.Long),
    I32("I32", 4, ScalarType.Int),
    I16("I16", 2, ScalarType.Short),
    I8("I8", 1, ScalarType.Char),
    U8("U8", 1, ScalarType.Byte),
    BOOL("BOOL", 1, ScalarType.Bool);

    private final String safetensorsName;
    private final int byteSize;
    private final ScalarType scalarType;

    DType(String safetensorsName, int byteSize, ScalarType scalarType) {
        this.safetensorsName = safetensorsName;
        this.byteSize = byteSize;
        this.scalarType = scalarType;
    }

    /** The name used in a safetensors header ("BF16", "F32", ...). */
    public String safetensorsName() {
        return safetensorsName;
    }

    public int byteSize() {
        return byteSize;
    }

    public ScalarType scalarType() {
        return scalarType;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The type named in a safetensors header, or null when unknown. */
    public static DType fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** The type of a LibTorch tensor; throws for types safetensors cannot hold here. */
    public static DType of(ScalarType scalarType) {
        ScalarType s = scalarType.intern();
        for (DType t : values()) {
            if (t.scalarType == s) {
                return t;
            }
        }
        throw new IllegalArgumentException("no safetensors dtype for torch type " + s);
    }

    /** The config.json spelling ("bfloat16", "float16", "float32") of a floating-point type. */
    public String torchName() {
        return switch (this) {
            case F64 -> "float64";
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> name().toLowerCase();
        };
    }

    /** Parses a config.json torch_dtype ("bfloat16", "float16"/"half", "float32"/"float"). */
    public static DType fromTorchName(String name) {
        return switch (name) {
            case "bfloat16" -> BF16;
            case "float16", "half" -> F16;
            case "float32", "float" -> F32;
            case "float64", "double" -> F64;
            default ->
                throw new IllegalArgumentException(
                        "unknown torch_dtype '" + name + "' (expected one of bfloat16, float16, float32)");
        };
    }

    /** All safetensors names, for error messages. */
    public static String knownNames() {
        return Arrays.stream(values()).map(DType::safetensorsName).collect(Collectors.joining(", "));
    }
}
