package io.cusprun.model;

import java.util.Arrays;

/** A tensor to be written: its name, element type and shape (the data comes later, streamed). */
public record TensorSpec(String name, DType dtype, long[] shape) {

    public TensorSpec {
        if (name == null || name.isEmpty() || name.equals("__metadata__")) {
            throw new IllegalArgumentException("bad tensor name '" + name + "'");
        }
        shape = shape.clone();
        for (long s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative size in " + Arrays.toString(shape));
            }
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long byteSize() {
        return Math.multiplyExact(TensorInfo.numel(shape), (long) dtype.byteSize());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSpec t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
