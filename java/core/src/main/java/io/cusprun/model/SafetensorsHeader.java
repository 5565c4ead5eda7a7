package io.cusprun.model;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parsed and validated header of one safetensors file.
 *
 * <p>Layout (the safetensors spec): 8-byte little-endian header length N, N bytes of UTF-8 JSON
 * (an object: tensor name to {dtype, shape, data_offsets}, plus an optional "__metadata__" object
 * of strings), then the data region; data_offsets are relative to the start of the data region.
 * Validation (the safetensors rules): N fits in the file; the header is valid UTF-8 holding exactly
 * one JSON object with no duplicate keys, followed by nothing but space padding; {@code
 * __metadata__} maps strings to strings; every tensor entry has exactly dtype, shape and
 * data_offsets; every dtype is known, every dimension non-negative, shape x dtype size equals end -
 * begin; and the tensors, sorted by offset, tile the data region exactly: the first starts at 0,
 * each starts where the previous ends (no gap, no overlap) and the last ends at the end of the
 * file.
 *
 * @param dataStart absolute file offset of the data region (8 + N)
 * @param tensors   the tensors in header order
 */
public record SafetensorsHeader(
        Path file, long fileSize, long dataStart, Map<String, TensorInfo> tensors, Map<String, String> metadata) {

    /** The spec limits the header to 100 MB; larger is treated as corruption. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    public SafetensorsHeader {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    public long dataSize() {
        return fileSize - dataStart;
    }

    public TensorInfo tensor(String name) {
        return tensors.get(name);
    }

    /** Reads and validates the header of {@code file}. */
    public static SafetensorsHeader read(Path file) throws IOException {
        io.cusprun.Inputs.regularFile(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = ch.size();
            if (fileSize < 8) {
                throw new SafetensorsException(
                        file, "truncated: " + fileSize + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > fileSize - 8) {
                throw new SafetensorsException(
                        file,
                        "header length " + Long.toUnsignedString(headerLen)
                                + " does not fit the file (" + fileSize + " bytes; at most "
                                + Math.min(MAX_HEADER_BYTES, fileSize - 8) + " possible)");
            }
            ByteBuffer json = ByteBuffer.allocate((int) headerLen);
            readFully(ch, json, 8);
            String text;
            try {
                text = StandardCharsets.UTF_8
                        .newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(json.flip())
                        .toString();
            } catch (CharacterCodingException e) {
                throw new SafetensorsException(file, "header is not valid UTF-8");
            }
            return parse(file, fileSize, 8 + headerLen, text);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    static SafetensorsHeader parse(Path file, long fileSize, long dataStart, String json) throws SafetensorsException {
        if (json.isEmpty() || json.charAt(0) != '{') {
            throw new SafetensorsException(file, "header does not start with a JSON object ('{')");
        }
        JsonNode root;
        int consumed;
        try (JsonParser parser = JSON.getFactory().createParser(json)) {
            root = JSON.readTree(parser);
            consumed = (int) parser.currentLocation().getCharOffset();
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file, "header is " + Json.invalid(e));
        } catch (IOException e) {
            throw new SafetensorsException(file, "header is not readable JSON");
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(file, "header is not a JSON object");
        }
        for (int i = consumed; i < json.length(); i++) {
            if (json.charAt(i) != ' ') {
                throw new SafetensorsException(
                        file,
                        "bytes after the header's JSON object at header offset " + i
                                + " (only space padding may follow it)");
            }
        }
        long dataSize = fileSize - dataStart;
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                readMetadata(file, e.getValue(), metadata);
            } else {
                tensors.put(e.getKey(), readTensor(file, e.getKey(), e.getValue(), dataSize));
            }
        }
        checkLayout(file, tensors.values(), dataSize);
        return new SafetensorsHeader(file, fileSize, dataStart, tensors, metadata);
    }

    private static void readMetadata(Path file, JsonNode node, Map<String, String> out) throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(file, "__metadata__ is not an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw new SafetensorsException(file, "__metadata__ value for '" + m.getKey() + "' is not a string");
            }
            out.put(m.getKey(), m.getValue().asText());
        }
    }

    private static TensorInfo readTensor(Path file, String name, JsonNode node, long dataSize)
            throws SafetensorsException {
        if (!node.isObject()) {
            throw new SafetensorsException(file, name, "entry is not an object");
        }
        for (Iterator<String> keys = node.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
                throw new SafetensorsException(
                        file,
                        name,
                        "unexpected key '" + key + "' (an entry has exactly dtype, shape and data_offsets)");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new SafetensorsException(file, name, "missing dtype");
        }
        DType dtype = DType.fromSafetensors(dtypeNode.asText());
        if (dtype == null) {
            throw new SafetensorsException(
                    file, name, "unknown dtype '" + dtypeNode.asText() + "' (known: " + DType.knownNames() + ")");
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new SafetensorsException(file, name, "missing shape");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode s = shapeNode.get(i);
            if (!s.canConvertToLong() || !s.isIntegralNumber() || s.asLong() < 0) {
                throw new SafetensorsException(file, name, "bad shape " + shapeNode);
            }
            shape[i] = s.asLong();
        }
        JsonNode off = node.get("data_offsets");
        if (off == null
                || !off.isArray()
                || off.size() != 2
                || !off.get(0).isIntegralNumber()
                || !off.get(1).isIntegralNumber()
                || !off.get(0).canConvertToLong()
                || !off.get(1).canConvertToLong()) {
            throw new SafetensorsException(file, name, "data_offsets must be [begin, end]");
        }
        long begin = off.get(0).asLong();
        long end = off.get(1).asLong();
        if (begin < 0 || end < begin) {
            throw new SafetensorsException(file, name, "bad data_offsets [" + begin + ", " + end + "]");
        }
        if (end > dataSize) {
            throw new SafetensorsException(
                    file,
                    name,
                    "data_offsets [" + begin + ", " + end + "] go past the end of the data region (" + dataSize
                            + " bytes)");
        }
        long expected;
        try {
            expected = Math.multiplyExact(TensorInfo.numel(shape), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new SafetensorsException(file, name, "shape " + Arrays.toString(shape) + " overflows");
        }
        if (expected != end - begin) {
            throw new SafetensorsException(
                    file,
                    name,
                    "size mismatch: shape " + Arrays.toString(shape) + " x " + dtype.safetensorsName() + " needs "
                            + expected + " bytes but data_offsets span " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** The tensors, in offset order, must tile [0, dataSize) exactly: no gap, no overlap, no trailing bytes. */
    private static void checkLayout(Path file, Iterable<TensorInfo> tensors, long dataSize)
            throws SafetensorsException {
        List<TensorInfo> sorted = new ArrayList<>();
        tensors.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long pos = 0;
        TensorInfo prev = null;
        for (TensorInfo cur : sorted) {
            if (cur.begin() < pos) {
                throw new SafetensorsException(
                        file,
                        cur.name(),
                        "data [" + cur.begin() + ", " + cur.end() + ") overlaps tensor '" + prev.name() + "' ["
                                + prev.begin() + ", " + prev.end() + ")");
            }
            if (cur.begin() > pos) {
                throw new SafetensorsException(
                        file,
                        cur.name(),
                        "data starts at " + cur.begin() + " but "
                                + (prev == null
                                        ? "the data region starts at 0"
                                        : "tensor '" + prev.name() + "' ends at " + pos)
                                + " (a " + (cur.begin() - pos) + "-byte hole)");
            }
            pos = cur.end();
            prev = cur;
        }
        if (pos != dataSize) {
            throw new SafetensorsException(
                    file,
                    (dataSize - pos) + " bytes after the last tensor's data (the data region is " + dataSize
                            + " bytes, the tensors cover " + pos + "): header length or data_offsets are wrong");
        }
    }
}
