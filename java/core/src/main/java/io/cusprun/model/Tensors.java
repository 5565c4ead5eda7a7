package io.cusprun.model;

import java.util.Arrays;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/** Small LibTorch helpers: lifetime across PointerScopes and copies to and from Java arrays. */
public final class Tensors {

    private Tensors() {
    }

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

    /** A new int64 CPU tensor holding a copy of {@code values}. */
    public static Tensor ofLongs(long[] values, long... shape) {
        long[] dims = shape.length == 0 ? new long[] {values.length} : shape;
        Tensor t = torch.empty(dims, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Long), new org.bytedeco.pytorch.MemoryFormatOptional());
        if (values.length > 0) {
            t.data_ptr_long().put(values, 0, values.length);
        }
        return t;
    }

    /** A new fp32 CPU tensor holding a copy of {@code values}. */
    public static Tensor ofFloats(float[] values, long... shape) {
        long[] dims = shape.length == 0 ? new long[] {values.length} : shape;
        Tensor t = torch.empty(dims, new org.bytedeco.pytorch.TensorOptions(torch.ScalarType.Float), new org.bytedeco.pytorch.MemoryFormatOptional());
        if (values.length > 0) {
            t.data_ptr_float().put(values, 0, values.length);
        }
        return t;
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
}
