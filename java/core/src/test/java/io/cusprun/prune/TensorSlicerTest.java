package io.cusprun.prune;

import static org.junit.jupiter.api.Assertions.*;

import io.cusprun.model.Checkpoint;
import io.cusprun.model.DType;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorSpec;
import io.cusprun.model.Tensors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The byte-level slicer against LibTorch's index_select / index_fill on random tensors of every
 * stored dtype, rank 1 to 3, cut along rows and columns, with and without masking and extra
 * zeros, written through the real safetensors writer and read back.
 */
class TensorSlicerTest {

    /** The reference: what the pruner computed with Tensors before it sliced bytes. */
    private static Tensor reference(Tensor t, SliceRule rule, boolean masked) {
        Tensor out;
        if (masked) {
            out = t.clone();
            long[] gone = LongStream.range(0, t.size(rule.dim()))
                    .filter(i -> Arrays.binarySearch(rule.kept(), i) < 0)
                    .toArray();
            if (gone.length > 0) out.index_fill_(rule.dim(), Tensors.ofLongs(gone), new Scalar(0.0));
        } else {
            out = t.index_select(rule.dim(), Tensors.ofLongs(rule.kept()));
        }
        if (rule.extraZero().length > 0)
            out.index_fill_(rule.dim(), Tensors.ofLongs(rule.extraZero()), new Scalar(0.0));
        return out;
    }

    private static long[] subset(SplittableRandom r, long n, double keep) {
        long[] s = LongStream.range(0, n).filter(i -> r.nextDouble() < keep).toArray();
        return s.length == 0 ? new long[] {n - 1} : s;
    }

    @Test
    void slicedBytesEqualTheTensorReference(@TempDir Path tmp) throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        DType[] dtypes = {DType.BF16, DType.F16, DType.F32};
        long[][] shapes = {{40}, {37, 23}, {23, 37}, {6, 9, 5}};
        try (PointerScope scope = new PointerScope()) {
            torch.manual_seed(12);
            Map<String, Tensor> sources = new LinkedHashMap<>();
            Map<String, SliceRule> rules = new LinkedHashMap<>();
            for (DType dt : dtypes) {
                for (long[] shape : shapes) {
                    for (int dim = 0; dim < Math.min(2, shape.length); dim++) {
                        // random values with a few runs of consecutive kept indices and gaps
                        long[] kept = subset(r, shape[dim], 0.6);
                        long[] extra = r.nextBoolean() ? new long[0] : subset(r, kept.length, 0.2);
                        String name = dt + "_" + Arrays.toString(shape) + "_" + dim;
                        Tensor src = torch.randn(shape)
                                .mul(new Scalar(3.0))
                                .add(new Scalar(0.5))
                                .to(dt.scalarType());
                        sources.put(name, src);
                        rules.put(name, new SliceRule(dim, kept, extra));
                    }
                }
            }
            Path srcDir = java.nio.file.Files.createDirectories(tmp.resolve("src"));
            SafetensorsWriter.writeFile(srcDir.resolve(Checkpoint.SINGLE_FILE), sources, Map.of("format", "pt"));
            for (boolean masked : new boolean[] {false, true}) {
                Path outDir = tmp.resolve("out-" + masked);
                List<TensorSpec> specs = new ArrayList<>();
                Map<String, Tensor> want = new LinkedHashMap<>();
                for (var e : sources.entrySet()) {
                    SliceRule rule = rules.get(e.getKey());
                    Tensor ref = reference(e.getValue(), rule, masked);
                    want.put(e.getKey(), ref);
                    specs.add(new TensorSpec(e.getKey(), DType.of(ref.scalar_type()), Tensors.shape(ref)));
                }
                specs.add(new TensorSpec(
                        "whole",
                        DType.BF16,
                        Tensors.shape(sources.values().iterator().next())));
                try (Checkpoint cp = Checkpoint.open(srcDir);
                        TensorSlicer slicer = new TensorSlicer(cp)) {
                    new SafetensorsWriter(outDir).writeBytes(specs, (spec, out) -> {
                        if (spec.name().equals("whole")) {
                            slicer.write(sources.keySet().iterator().next(), null, masked, out);
                        } else {
                            slicer.write(spec.name(), rules.get(spec.name()), masked, out);
                        }
                    });
                }
                try (Checkpoint back = Checkpoint.open(outDir)) {
                    for (var e : want.entrySet()) {
                        Tensor got = back.tensor(e.getKey());
                        assertTrue(torch.equal(got, e.getValue()), e.getKey() + " masked=" + masked);
                    }
                    assertTrue(
                            torch.equal(
                                    back.tensor("whole"),
                                    sources.values().iterator().next()),
                            "uncut tensor");
                }
            }
        }
    }

    @Test
    void aSourceOfTheWrongLengthNamesTheFileAndTensor(@TempDir Path tmp) throws Exception {
        try (PointerScope scope = new PointerScope()) {
            Path srcDir = java.nio.file.Files.createDirectories(tmp.resolve("src"));
            SafetensorsWriter.writeFile(
                    srcDir.resolve(Checkpoint.SINGLE_FILE),
                    Map.of("w", torch.randn(new long[] {8, 4}).to(DType.BF16.scalarType())),
                    Map.of());
            List<TensorSpec> specs = List.of(new TensorSpec("w", DType.BF16, new long[] {8, 4}));
            try (Checkpoint cp = Checkpoint.open(srcDir);
                    TensorSlicer slicer = new TensorSlicer(cp)) {
                java.io.IOException e = assertThrows(
                        java.io.IOException.class,
                        () -> new SafetensorsWriter(tmp.resolve("o"))
                                .writeBytes(
                                        specs,
                                        (spec, out) -> slicer.write(
                                                "w", new SliceRule(0, new long[] {0, 1}, new long[0]), false, out)));
                assertTrue(
                        e.getMessage().contains("model.safetensors")
                                && e.getMessage().contains("'w'")
                                && e.getMessage().contains("16 bytes supplied, 64 declared"),
                        e.getMessage());
            }
            assertFalse(
                    java.nio.file.Files.exists(tmp.resolve("o").resolve(Checkpoint.SINGLE_FILE)),
                    "no half-written file");
        }
    }

    @Test
    void aSourceCutShortAfterOpeningNamesTheFileAndTensor(@TempDir Path tmp) throws Exception {
        try (PointerScope scope = new PointerScope()) {
            Path srcDir = java.nio.file.Files.createDirectories(tmp.resolve("src"));
            Path file = srcDir.resolve(Checkpoint.SINGLE_FILE);
            SafetensorsWriter.writeFile(
                    file, Map.of("w", torch.randn(new long[] {64, 32}).to(DType.BF16.scalarType())), Map.of());
            List<TensorSpec> specs = List.of(new TensorSpec("w", DType.BF16, new long[] {64, 32}));
            try (Checkpoint cp = Checkpoint.open(srcDir);
                    TensorSlicer slicer = new TensorSlicer(cp)) {
                try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
                    ch.truncate(ch.size() - 1000); // shortened after the header was validated
                }
                for (SliceRule rule : new SliceRule[] {
                    null, new SliceRule(1, LongStream.range(0, 32).toArray(), new long[0])
                }) {
                    java.io.IOException e = assertThrows(
                            java.io.IOException.class,
                            () -> new SafetensorsWriter(tmp.resolve("o"))
                                    .writeBytes(specs, (spec, out) -> slicer.write("w", rule, false, out)));
                    assertTrue(e.getMessage().startsWith(file + ": tensor 'w': source ended early"), e.getMessage());
                    assertFalse(e.getMessage().contains("\n"), "one line");
                    try (var left = java.nio.file.Files.list(tmp.resolve("o"))) {
                        assertEquals(List.of(), left.toList(), "no half-written file");
                    }
                }
            }
        }
    }
}
