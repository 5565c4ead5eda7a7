package io.cusprun.model;

import java.util.Arrays;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.DeviceOptional;
import org.bytedeco.pytorch.MemoryFormatOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptions;
import org.bytedeco.pytorch.global.torch;

/** Small LibTorch helpers: lifetime across PointerScopes and copies to and from Java arrays. */
public final class Tensors {

    private Tensors() {}

    /**
     * Keeps a tensor alive past the PointerScope it was made in (model weights, mappings):
     * takes one reference that only {@link #release} gives back.
     */
    public static Tensor keep(Tensor t) {
        if (t != null) {
            t.retainReference();
        }
        return t;
    }

    /** Gives back the reference taken by {@link #keep}. */
    public static void release(Tensor t) {
        if (t != null) {
            t.releaseReference();
        }
    }

    /** A new int64 CPU tensor holding a copy of {@code values} (1-D unless a shape is given). */
    public static Tensor ofLongs(long[] values, long... shape) {
        Tensor t = empty(torch.ScalarType.Long, values.length, shape);
        if (values.length > 0) {
            t.data_ptr_long().put(values, 0, values.length);
        }
        return t;
    }

    /** A new int32 CPU tensor holding a copy of {@code values} (1-D unless a shape is given). */
    public static Tensor ofInts(int[] values, long... shape) {
        Tensor t = empty(torch.ScalarType.Int, values.length, shape);
        if (values.length > 0) {
            t.data_ptr_int().put(values, 0, values.length);
        }
        return t;
    }

    /** A new fp32 CPU tensor holding a copy of {@code values} (1-D unless a shape is given). */
    public static Tensor ofFloats(float[] values, long... shape) {
        Tensor t = empty(torch.ScalarType.Float, values.length, shape);
        if (values.length > 0) {
            t.data_ptr_float().put(values, 0, values.length);
        }
        return t;
    }

    /** A new fp64 CPU tensor holding a copy of {@code values} (1-D unless a shape is given). */
    public static Tensor ofDoubles(double[] values, long... shape) {
        Tensor t = empty(torch.ScalarType.Double, values.length, shape);
        if (values.length > 0) {
            t.data_ptr_double().put(values, 0, values.length);
        }
        return t;
    }

    private static Tensor empty(torch.ScalarType type, int length, long... shape) {
        long[] dims = shape.length == 0 ? new long[] {length} : shape;
        return torch.empty(dims, new TensorOptions(type), new MemoryFormatOptional());
    }

    /** A new uninitialised CPU tensor of {@code type} (a buffer to read into). */
    public static Tensor emptyCpu(torch.ScalarType type, long... shape) {
        return torch.empty(shape, new TensorOptions(type), new MemoryFormatOptional());
    }

    /** A new fp64 tensor of zeros on {@code device} (accumulators). */
    public static Tensor doubleZeros(Device device, long... shape) {
        return torch.zeros(shape, new TensorOptions(torch.ScalarType.Double).device(new DeviceOptional(device)));
    }

    /** The values of any floating tensor as fp32, copied to a Java array (tests, small results). */
    public static float[] toFloats(Tensor t) {
        try (PointerScope scope = new PointerScope()) {
            Tensor c = t.to(torch.ScalarType.Float).cpu().contiguous();
            float[] out = new float[Math.toIntExact(c.numel())];
            if (out.length > 0) {
                FloatPointer p = c.data_ptr_float();
                p.get(out);
            }
            return out;
        }
    }

    /** The values of any tensor as fp64, copied to a Java array (exact for fp32, bf16 and fp64). */
    public static double[] toDoubles(Tensor t) {
        try (PointerScope scope = new PointerScope()) {
            Tensor c = t.to(torch.ScalarType.Double).cpu().contiguous();
            double[] out = new double[Math.toIntExact(c.numel())];
            if (out.length > 0) {
                c.data_ptr_double().get(out);
            }
            return out;
        }
    }

    /** The values of an int32 tensor, copied to a Java array. */
    public static int[] toInts(Tensor t) {
        try (PointerScope scope = new PointerScope()) {
            Tensor c = t.to(torch.ScalarType.Int).cpu().contiguous();
            int[] out = new int[Math.toIntExact(c.numel())];
            if (out.length > 0) {
                c.data_ptr_int().get(out);
            }
            return out;
        }
    }

    /** The values of an integer tensor as int64, copied to a Java array. */
    public static long[] toLongs(Tensor t) {
        try (PointerScope scope = new PointerScope()) {
            Tensor c = t.to(torch.ScalarType.Long).cpu().contiguous();
            long[] out = new long[Math.toIntExact(c.numel())];
            if (out.length > 0) {
                LongPointer p = c.data_ptr_long();
                p.get(out);
            }
            return out;
        }
    }

    public static long[] shape(Tensor t) {
        return t.sizes().vec().get();
    }

    public static String shapeString(Tensor t) {
        return Arrays.toString(shape(t));
    }

    public static boolean isType(Tensor t, torch.ScalarType type) {
        return t.scalar_type().intern() == type;
    }

    /** True for fp16, bf16, fp32 and fp64 tensors. */
    public static boolean isFloating(Tensor t) {
        torch.ScalarType st = t.scalar_type().intern();
        return st == torch.ScalarType.Float
                || st == torch.ScalarType.Double
                || st == torch.ScalarType.Half
                || st == torch.ScalarType.BFloat16;
    }

    /**
     * Null when every element of a floating tensor is finite (integer tensors always are), else
     * a description of the first NaN or infinity: {@code "NaN at element 12 of [4, 8]"}. One pass.
     */
    public static String firstNonFinite(Tensor t) {
        long index = firstNonFiniteIndex(t);
        if (index < 0) {
            return null;
        }
        try (PointerScope scope = new PointerScope()) {
            return describeNonFinite(t.flatten().get(index).item_double(), index, shapeString(t));
        }
    }

    /** The flat index of the first NaN or infinity of a floating tensor, or -1. One pass. */
    public static long firstNonFiniteIndex(Tensor t) {
        if (!isFloating(t) || t.numel() == 0) {
            return -1;
        }
        try (PointerScope scope = new PointerScope()) {
            // fast path: one reduction; NaN and infinities propagate into the sum (a finite sum
            // that overflows only sends it to the exact check below)
            if (Double.isFinite(t.sum().item_double())) {
                return -1;
            }
            Tensor ok = torch.isfinite(t);
            if (ok.all().item_bool()) {
                return -1;
            }
            return torch.logical_not(ok).flatten().nonzero().flatten().get(0).item_long();
        }
    }

    /** "NaN at element 12 of [4, 8]". */
    public static String describeNonFinite(double value, long index, String shape) {
        return (Double.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf") + " at element " + index + " of " + shape;
    }

    /** Throws when a weight holds a NaN or infinity, naming the file, the tensor and the first bad element. */
    public static void checkFinite(Tensor t, java.nio.file.Path file, String name) throws SafetensorsException {
        String bad = firstNonFinite(t);
        if (bad != null) {
            throw new SafetensorsException(file, name, "non-finite value: " + bad);
        }
    }
}
