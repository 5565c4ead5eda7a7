package io.cusprun.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.testing.Fixtures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest {

    @TempDir
    Path tmp;

    /** Tensors of every dtype, a scalar and an empty tensor. */
    private static Map<String, Tensor> sample() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        float[] v = new float[24];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(i) * 3;
        }
        Tensor base = Tensors.ofFloats(v, 2, 3, 4);
        m.put("w.f32", base);
        m.put("w.bf16", base.to(torch.ScalarType.BFloat16));
        m.put("w.f16", base.narrow(2, 0, 2).to(torch.ScalarType.Half)); // non-contiguous source
        m.put("ids.i64", Tensors.ofLongs(new long[] {1, -2, 3, 1L << 40}));
        m.put("ids.i32", Tensors.ofLongs(new long[] {7, 8, 9}).to(torch.ScalarType.Int));
        m.put("bytes.u8", Tensors.ofLongs(new long[] {0, 255, 17}).to(torch.ScalarType.Byte));
        m.put("flags.bool", Tensors.ofLongs(new long[] {1, 0, 1, 1}).to(torch.ScalarType.Bool));
        m.put("scalar", Tensors.ofFloats(new float[] {42f}).view(new long[0]));
        m.put("empty", Tensors.ofFloats(new float[0], 0, 3));
        return m;
    }

    @Test
    void roundTripKeepsValuesShapesAndMetadata() throws IOException {
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> in = sample();
            Path file = tmp.resolve("x.safetensors");
            SafetensorsWriter.writeFile(file, in, Map.of("format", "pt", "note", "ü ✓"));
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(Map.of("format", "pt", "note", "ü ✓"), f.header().metadata());
                assertEquals(
                        new ArrayList<>(in.keySet()),
                        new ArrayList<>(f.header().tensors().keySet()));
                assertEquals(0, f.header().dataStart() % 8, "header padded to 8 bytes");
                for (var e : in.entrySet()) {
                    Tensor back = f.tensor(e.getKey());
                    assertEquals(DType.of(e.getValue().scalar_type()), DType.of(back.scalar_type()), e.getKey());
                    assertArrayEquals(Tensors.shape(e.getValue()), Tensors.shape(back), e.getKey());
                    assertArrayEquals(Tensors.toFloats(e.getValue()), Tensors.toFloats(back), e.getKey());
                }
            }
            byte[] bytes = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(header.startsWith("{") && header.stripTrailing().endsWith("}"), header);
            assertEquals(header.stripTrailing().length() + countTrailingSpaces(header), header.length());
        }
    }

    private static int countTrailingSpaces(String s) {
        int i = s.length();
        while (i > 0 && s.charAt(i - 1) == ' ') {
            i--;
        }
        return s.length() - i;
    }

    @Test
    void rewritingACheckpointGivesIdenticalBytes() throws IOException {
        Path src = Fixtures.write(tmp.resolve("a"), Fixtures.spec(Fixtures.Family.LLAMA3, DType.BF16), Long.MAX_VALUE);
        Path dst = tmp.resolve("b");
        try (Checkpoint ck = Checkpoint.open(src)) {
            List<TensorSpec> specs = new ArrayList<>();
            for (String name : ck.tensorNames()) {
                TensorInfo i = ck.info(name);
                specs.add(new TensorSpec(name, i.dtype(), i.shape()));
            }
            new SafetensorsWriter(dst).metadata(ck.metadata()).write(specs, s -> ck.tensor(s.name()));
        }
        assertArrayEquals(
                Files.readAllBytes(src.resolve("model.safetensors")),
                Files.readAllBytes(dst.resolve("model.safetensors")));
        try (Checkpoint ck = Checkpoint.open(dst)) {
            ByteBuffer a = ck.file("model.norm.weight").mapBytes("model.norm.weight");
            assertEquals(32 * 2, a.remaining());
        }
    }

    @Test
    void shardedWriteAndIndexRead() throws IOException {
        Fixtures.Spec spec = Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32);
        Path single = Fixtures.write(tmp.resolve("single"), spec, Long.MAX_VALUE);
        Path sharded = Fixtures.write(tmp.resolve("sharded"), spec, 20_000);
        try (Stream<Path> files = Files.list(sharded)) {
            long shards = files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors"))
                    .count();
            assertTrue(shards >= 3, "shards: " + shards);
        }
        assertFalse(Files.exists(sharded.resolve("model.safetensors")));
        JsonNode index = new ObjectMapper()
                .readTree(sharded.resolve(Checkpoint.INDEX_FILE).toFile());
        try (Checkpoint a = Checkpoint.open(single);
                Checkpoint b = Checkpoint.open(sharded);
                PointerScope scope = new PointerScope()) {
            assertEquals(a.tensorNames(), b.tensorNames());
            assertEquals(a.tensorNames().size(), index.get("weight_map").size());
            long total = 0;
            for (String name : a.tensorNames()) {
                assertArrayEquals(Tensors.toFloats(a.tensor(name)), Tensors.toFloats(b.tensor(name)), name);
                assertEquals(
                        index.get("weight_map").get(name).asText(),
                        b.file(name).path().getFileName().toString());
                total += a.info(name).byteSize();
            }
            assertEquals(total, index.get("metadata").get("total_size").asLong());
            assertTrue(b.files().size() >= 3);
            b.files().forEach(f -> assertEquals("pt", f.header().metadata().get("format")));
            assertEquals(Map.of("format", "pt"), b.metadata());
        }
        try (LlamaModel m1 = LlamaModel.load(single);
                LlamaModel m2 = LlamaModel.load(sharded);
                PointerScope scope = new PointerScope()) {
            Batch batch = Batch.of(new long[] {5, 6, 7, 8});
            assertArrayEquals(Tensors.toFloats(m1.logits(batch)), Tensors.toFloats(m2.logits(batch)));
        }
    }

    @Test
    void failedWriteLeavesNothingBehind() throws IOException {
        Path dir = tmp.resolve("out");
        List<TensorSpec> specs =
                List.of(new TensorSpec("a", DType.F32, new long[] {2}), new TensorSpec("b", DType.F32, new long[] {3}));
        IOException e = assertThrows(
                IOException.class,
                () -> new SafetensorsWriter(dir).write(specs, s -> Tensors.ofFloats(new float[] {1, 2})));
        assertTrue(
                e.getMessage().contains("model.safetensors")
                        && e.getMessage().contains("tensor 'b'")
                        && e.getMessage().contains("declared F32[3]"),
                e.getMessage());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.toList());
        }
    }

    // ----------------------------------------------------------------- corrupt files

    private Path raw(String name, String headerJson, int dataBytes, Long headerLengthOverride) throws IOException {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLengthOverride == null ? h.length : headerLengthOverride)
                .put(h);
        Path p = tmp.resolve(name);
        Files.write(p, b.array());
        return p;
    }

    private void assertRejected(Path file, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsHeader.read(file));
        String msg = e.getMessage();
        assertTrue(msg.startsWith(file.toString() + ": "), msg);
        assertFalse(msg.contains("\n"), "one line: " + msg);
        for (String f : fragments) {
            assertTrue(msg.contains(f), "'" + f + "' missing from: " + msg);
        }
    }

    @Test
    void truncatedFile() throws IOException {
        Path p = tmp.resolve("short.safetensors");
        Files.write(p, new byte[] {1, 2, 3, 4, 5});
        assertRejected(p, "truncated");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        assertRejected(raw("len.safetensors", "{}", 0, 4096L), "header length 4096", "does not fit");
    }

    @Test
    void badJson() throws IOException {
        assertRejected(raw("json.safetensors", "{\"a\": {\"dtype\": ", 0, null), "not valid JSON");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRejected(
                raw("dtype.safetensors", "{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, null),
                "tensor 'w'",
                "unknown dtype 'Q4'");
    }

    @Test
    void sizeMismatch() throws IOException {
        assertRejected(
                raw(
                        "size.safetensors",
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}",
                        16,
                        null),
                "tensor 'w'",
                "size mismatch",
                "needs 16 bytes",
                "span 12");
    }

    @Test
    void offsetOutOfRange() throws IOException {
        assertRejected(
                raw("range.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 16, null),
                "tensor 'w'",
                "past the end of the data region");
    }

    @Test
    void overlappingTensors() throws IOException {
        assertRejected(
                raw(
                        "overlap.safetensors",
                        "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                        16,
                        null),
                "tensor 'b'",
                "overlaps tensor 'a'");
    }

    @Test
    void duplicateKeysAndBadMetadata() throws IOException {
        assertRejected(
                raw(
                        "dup.safetensors",
                        "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                                + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                        1,
                        null),
                "not valid JSON",
                "Duplicate");
        assertRejected(raw("meta.safetensors", "{\"__metadata__\":{\"k\":1}}", 0, null), "__metadata__");
    }

    @Test
    void holesAndTrailingBytesAreRefused() throws IOException {
        assertRejected(
                raw("gap.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}", 6, null),
                "tensor 'a'",
                "4-byte hole");
        assertRejected(
                raw("tail.safetensors", "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}", 8, null),
                "6 bytes after the last tensor");
    }

    @Test
    void brokenIndex() throws IOException {
        Path dir = Fixtures.write(tmp.resolve("m"), Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32), 20_000);
        Path index = dir.resolve(Checkpoint.INDEX_FILE);
        String json = Files.readString(index);
        Files.writeString(
                index,
                json.replaceFirst(
                        "\"model.norm.weight\" : \"[^\"]+\"",
                        "\"model.norm.weight\" : \"model-00009-of-00009.safetensors\""));
        IOException e = assertThrows(IOException.class, () -> Checkpoint.open(dir));
        assertTrue(
                e.getMessage().contains(Checkpoint.INDEX_FILE)
                        && e.getMessage().contains("model.norm.weight")
                        && e.getMessage().contains("does not exist"),
                e.getMessage());
        Files.writeString(index, json.replaceFirst("\"model.norm.weight\"", "\"model.nope.weight\""));
        e = assertThrows(IOException.class, () -> Checkpoint.open(dir));
        assertTrue(
                e.getMessage().contains("model.norm.weight") && e.getMessage().contains("not in weight_map"),
                e.getMessage());
    }

    @Test
    void missingTensorAndWrongShapeNameFileAndTensor() throws IOException {
        Path dir = Fixtures.write(tmp, Fixtures.spec(Fixtures.Family.LLAMA2, DType.F32));
        Path cfg = dir.resolve("config.json");
        Files.writeString(
                cfg, Files.readString(cfg).replace("\"intermediate_size\" : 48", "\"intermediate_size\" : 50"));
        IOException e = assertThrows(IOException.class, () -> LlamaModel.load(dir));
        assertTrue(
                e.getMessage()
                        .contains("model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight': shape [48, 32]"),
                e.getMessage());
    }

    /** Positional reads (the streamed mode's) give the mapping's bytes: whole tensors, row slices of a buffer, single rows. */
    @Test
    void readsGiveTheMappedValues() throws IOException {
        for (Fixtures.Spec spec : Fixtures.committed()) {
            Path model =
                    Fixtures.write(tmp.resolve("read"), spec, 3000); // sharded: reads at offsets into several files
            try (Checkpoint cp = Checkpoint.open(model);
                    PointerScope scope = new PointerScope()) {
                for (String name : cp.tensorNames()) {
                    Tensor mapped = cp.tensor(name).to(torch.ScalarType.Double);
                    Tensor poison = cp.read(name).fill_(new org.bytedeco.pytorch.Scalar(-7.0));
                    cp.readInto(name, poison);
                    assertTrue(torch.equal(mapped, poison.to(torch.ScalarType.Double)), spec.name() + " " + name);
                    if (mapped.dim() == 2) {
                        long[] rows = {mapped.size(0) - 1, 0, mapped.size(0) / 2};
                        Tensor got = cp.readRows(name, rows).to(torch.ScalarType.Double);
                        Tensor want = mapped.index_select(0, Tensors.ofLongs(rows));
                        assertTrue(torch.equal(want, got), spec.name() + " rows of " + name);
                    }
                }
            }
        }
    }
}
