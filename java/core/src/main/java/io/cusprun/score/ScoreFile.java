package io.cusprun.score;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.OutputPolicy;
import io.cusprun.Version;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.model.DType;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.SafetensorsHeader;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorInfo;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

/**
 * Reads and writes score files (safetensors; layout in docs/scores.md). Each corpus' tensors
 * are named {@code <corpus>/model.layers.<i>.<module>.<statistic>}; {@code __metadata__} holds
 * the format, version, model fingerprint, settings, shard and the corpora.
 */
public final class ScoreFile {
    public static final String FORMAT = "cusprun-scores/1";
    public static final String RANK_MAX = "rank_max";
    public static final String RANK_HIST = "rank_hist";
    public static final String RELEVANCE_SUM = "relevance_sum";
    /** The exact 128-bit fixed-point sums as int64 [N, 2] (hi, lo): what merges use. */
    public static final String RELEVANCE_SUM_EXACT = "relevance_sum_exact";

    /**
     * Metadata key of the checksum every score and partial file carries: SHA-256 of the other
     * metadata entries (sorted by key) and of every tensor (sorted by name: name, dtype, shape,
     * bytes), verified on read, so a flipped byte or an edited entry is refused, never read as data.
     */
    public static final String CHECKSUM = "checksum";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A score file: cusprun wrote it when its metadata says {@value #FORMAT}. */
    public static final OutputPolicy.Kind OUTPUT = OutputPolicy.Kind.file("score file", ScoreFile::isScoreFile);

    private ScoreFile() {}

    /** Whether {@code file} is a safetensors file whose metadata names this format. */
    public static boolean isScoreFile(Path file) throws IOException {
        return Files.isRegularFile(file)
                && FORMAT.equals(SafetensorsHeader.read(file).metadata().get("format"));
    }

    public static void write(ScoreSet set, Path file) throws IOException {
        write(set, file, Map.of());
    }

    /** Writes atomically (temporary file, then rename); {@code extra} adds metadata entries. */
    public static void write(ScoreSet set, Path file, Map<String, String> extra) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        try (PointerScope scope = new PointerScope()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Checksum sum = new Checksum();
            for (CorpusScores c : set.corpora()) {
                for (Map.Entry<ModuleKey, RankAccumulator> e : c.modules().entrySet()) {
                    String base = c.name() + "/"
                            + e.getKey().kind().tensorName(e.getKey().layer(), "");
                    RankAccumulator a = e.getValue();
                    int n = a.size();
                    tensors.put(base + RANK_MAX, Tensors.ofFloats(a.rankMax()));
                    tensors.put(base + RANK_HIST, Tensors.ofInts(a.rankHist(), n, a.bins()));
                    tensors.put(base + RELEVANCE_SUM, Tensors.ofDoubles(a.relevanceSum()));
                    ByteBuffer max = le(4 * n);
                    max.asFloatBuffer().put(a.rankMax());
                    sum.tensor(base + RANK_MAX, DType.F32, new long[] {n}, max);
                    ByteBuffer hist = le(4L * n * a.bins());
                    hist.asIntBuffer().put(a.rankHist());
                    sum.tensor(base + RANK_HIST, DType.I32, new long[] {n, a.bins()}, hist);
                    ByteBuffer rel = le(8 * n);
                    rel.asDoubleBuffer().put(a.relevanceSum());
                    sum.tensor(base + RELEVANCE_SUM, DType.F64, new long[] {n}, rel);
                    ExactSum s = a.exactSum();
                    long[] pairs = new long[2 * n];
                    long[] hi = s.hi(), lo = s.lo();
                    for (int k = 0; k < n; k++) {
                        pairs[2 * k] = hi[k];
                        pairs[2 * k + 1] = lo[k];
                    }
                    tensors.put(base + RELEVANCE_SUM_EXACT, Tensors.ofLongs(pairs, n, 2));
                    ByteBuffer exact = le(16 * n);
                    exact.asLongBuffer().put(pairs);
                    sum.tensor(base + RELEVANCE_SUM_EXACT, DType.I64, new long[] {n, 2}, exact);
                }
            }
            Map<String, String> meta = new LinkedHashMap<>(metadata(set));
            meta.putAll(extra);
            meta.remove(CHECKSUM);
            meta.put(CHECKSUM, sum.of(meta));
            SafetensorsWriter.writeFile(file, tensors, meta);
        }
    }

    static Map<String, String> metadata(ScoreSet set) throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("cusprun_version", Version.VERSION);
        m.put("model_fingerprint", set.modelFingerprint());
        m.put("settings", JSON.writeValueAsString(set.settings().toMap()));
        m.put("shard", set.shard().toString());
        ArrayNode corpora = JSON.createArrayNode();
        for (CorpusScores c : set.corpora()) {
            ObjectNode o = corpora.addObject();
            o.put("kind", c.kind().label());
            o.put("name", c.name());
            o.put("documents", c.documents());
            o.put("tokens", c.tokens());
        }
        m.put("corpora", JSON.writeValueAsString(corpora));
        return m;
    }

    /**
     * Reads a score file; one-line IOException when it is not one. Everything is checked before
     * use: the metadata (format, settings, shard, corpora with non-negative document and token
     * counts), every tensor a known statistic of a listed corpus with the right dtype and shape
     * ([N] F32 rank_max, [N, bins] I32 rank_hist, [N] F64 relevance_sum, [N, 2] I64 exact sum),
     * ranks in [0, 1], histogram counts non-negative with every unit's row summing to the corpus'
     * document count, sums finite, and the same modules with the same sizes in every corpus.
     */
    public static ScoreSet read(Path file) throws IOException {
        if (!Files.exists(file)) throw new IOException("score file not found: " + file);
        io.cusprun.Inputs.regularFile(file);
        SafetensorsHeader header = SafetensorsHeader.read(file);
        Map<String, String> meta = header.metadata();
        if (!FORMAT.equals(meta.get("format"))) throw new IOException(file + ": not a cusprun score file");
        for (String key : List.of("model_fingerprint", "settings", "shard", "corpora")) {
            if (meta.get(key) == null) throw new IOException(file + ": damaged score file (no metadata '" + key + "')");
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> settingsMap = JSON.readValue(meta.get("settings"), new TypeReference<>() {});
            ScoreSettings settings = ScoreSettings.fromMap(settingsMap);
            JsonNode list = JSON.readTree(meta.get("corpora"));
            if (list == null || !list.isArray() || list.isEmpty()) {
                throw new IOException(file + ": damaged score file (metadata 'corpora' is not a list of corpora)");
            }
            List<CorpusScores> corpora = new ArrayList<>();
            java.util.Set<String> names = new java.util.HashSet<>();
            for (JsonNode c : list) {
                String name = c.path("name").isTextual() ? c.get("name").asText() : null;
                if (name == null || name.isEmpty() || !c.path("kind").isTextual() || !names.add(name)) {
                    throw new IOException(
                            file + ": damaged score file (a corpus entry without a unique name and kind)");
                }
                long documents = count(file, name, c, "documents");
                long tokens = count(file, name, c, "tokens");
                corpora.add(readCorpus(
                        f,
                        header,
                        settings.bins(),
                        CorpusKind.parse(c.get("kind").asText()),
                        name,
                        documents,
                        tokens));
            }
            checkTensorsKnown(file, header, names);
            checkSameModules(file, corpora);
            verifyChecksum(file, header, f);
            return new ScoreSet(
                    meta.get("model_fingerprint"), settings, ShardSpec.parseStored(meta.get("shard")), corpora);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(file + ": damaged score file (metadata " + io.cusprun.Json.invalid(e) + ")");
        } catch (IOException e) {
            // names from the file (corpora, tensors) may hold control characters: keep the message one line
            throw e.getMessage() != null && e.getMessage().chars().anyMatch(Character::isISOControl)
                    ? new IOException(io.cusprun.model.SafetensorsException.printable(e.getMessage()), e)
                    : e;
        } catch (RuntimeException e) {
            throw new IOException(file + ": damaged score file (" + io.cusprun.Errors.firstLine(e) + ")");
        }
    }

    /** A little-endian buffer of {@code bytes} bytes (the safetensors byte order). */
    private static ByteBuffer le(long bytes) {
        return ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The {@link #CHECKSUM} of a score file: tensors added in any order, then the metadata. */
    private static final class Checksum {
        private final Map<String, byte[]> tensors = new TreeMap<>();

        void tensor(String name, DType dtype, long[] shape, ByteBuffer bytes) {
            MessageDigest sha = sha256();
            sha.update((name + "\0" + dtype.safetensorsName() + "\0" + java.util.Arrays.toString(shape) + "\0")
                    .getBytes(StandardCharsets.UTF_8));
            sha.update(bytes.duplicate().rewind());
            tensors.put(name, sha.digest());
        }

        String of(Map<String, String> metadata) {
            MessageDigest sha = sha256();
            for (Map.Entry<String, String> e : new TreeMap<>(metadata).entrySet()) {
                if (e.getKey().equals(CHECKSUM)) continue;
                sha.update((e.getKey() + "\0" + e.getValue() + "\0").getBytes(StandardCharsets.UTF_8));
            }
            tensors.values().forEach(sha::update);
            return "sha256:" + HexFormat.of().formatHex(sha.digest());
        }

        private static MessageDigest sha256() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** The file's checksum matches its metadata and tensors. */
    private static void verifyChecksum(Path file, SafetensorsHeader header, SafetensorsFile f) throws IOException {
        String stored = header.metadata().get(CHECKSUM);
        if (stored == null) {
            throw new IOException(file + ": no checksum (written by an older cusprun, or edited); score it again");
        }
        Checksum sum = new Checksum();
        for (Map.Entry<String, TensorInfo> e : header.tensors().entrySet()) {
            sum.tensor(e.getKey(), e.getValue().dtype(), e.getValue().shape(), f.mapBytes(e.getKey()));
        }
        if (!stored.equals(sum.of(header.metadata()))) {
            throw new IOException(file + ": checksum mismatch: the file was damaged or edited after cusprun wrote it");
        }
    }

    private static long count(Path file, String corpus, JsonNode c, String key) throws IOException {
        JsonNode v = c.get(key);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) {
            throw new IOException(
                    file + ": corpus " + corpus + ": " + key + " must be a non-negative integer, not " + v);
        }
        return v.asLong();
    }

    private static final java.util.regex.Pattern TENSOR =
            java.util.regex.Pattern.compile("^(.+)/(model\\.layers\\.\\d+\\..+)(" + RANK_MAX + "|" + RANK_HIST + "|"
                    + RELEVANCE_SUM_EXACT + "|" + RELEVANCE_SUM + ")$");

    /** Every tensor is one of the four statistics of a module of a listed corpus. */
    private static void checkTensorsKnown(Path file, SafetensorsHeader header, java.util.Set<String> corpora)
            throws IOException {
        for (String tensor : header.tensors().keySet()) {
            java.util.regex.Matcher m = TENSOR.matcher(tensor);
            boolean ok = m.matches() && corpora.contains(m.group(1));
            if (ok) {
                try {
                    parseKey(m.group(2));
                } catch (RuntimeException e) {
                    ok = false;
                }
            }
            if (!ok) throw new IOException(file + ": tensor '" + tensor + "' is not a statistic of a listed corpus");
            String base = m.group(1) + "/" + m.group(2);
            if (header.tensor(base + RANK_MAX) == null) {
                throw new IOException(file + ": tensor '" + tensor + "' has no " + base + RANK_MAX);
            }
        }
    }

    /** Every corpus scores the same modules with the same number of units. */
    private static void checkSameModules(Path file, List<CorpusScores> corpora) throws IOException {
        CorpusScores first = null;
        for (CorpusScores c : corpora) {
            if (c.documents() == 0 && c.modules().isEmpty()) continue;
            if (first == null) {
                first = c;
                continue;
            }
            if (!first.modules().keySet().equals(c.modules().keySet())) {
                throw new IOException(
                        file + ": corpus " + c.name() + " scores other modules than corpus " + first.name());
            }
            for (Map.Entry<ModuleKey, RankAccumulator> e : c.modules().entrySet()) {
                if (e.getValue().size() != first.modules().get(e.getKey()).size()) {
                    throw new IOException(file + ": corpus " + c.name() + " module "
                            + e.getKey().kind().tensorName(e.getKey().layer(), "") + " has "
                            + e.getValue().size()
                            + " units, corpus " + first.name() + " "
                            + first.modules().get(e.getKey()).size());
                }
            }
        }
    }

    private static CorpusScores readCorpus(
            SafetensorsFile f,
            SafetensorsHeader header,
            int bins,
            CorpusKind kind,
            String name,
            long documents,
            long tokens)
            throws IOException {
        Map<ModuleKey, RankAccumulator> modules = new TreeMap<>();
        String prefix = name + "/";
        for (String tensor : header.tensors().keySet()) {
            if (!tensor.startsWith(prefix) || !tensor.endsWith(RANK_MAX)) continue;
            String base = tensor.substring(0, tensor.length() - RANK_MAX.length());
            ModuleKey key;
            try {
                key = parseKey(base.substring(prefix.length()));
            } catch (RuntimeException e) {
                throw new IOException(
                        header.file() + ": tensor '" + tensor + "' is not a statistic of a scored module");
            }
            String where = header.file() + ": corpus " + name + ", module " + base.substring(prefix.length()) + ": ";
            TensorInfo maxInfo = f.info(base + RANK_MAX);
            if (maxInfo.rank() != 1
                    || maxInfo.dim(0) < 1
                    || maxInfo.dim(0) > Integer.MAX_VALUE / Math.max(1, 2 * bins)) {
                throw new IOException(where + RANK_MAX + " has shape " + java.util.Arrays.toString(maxInfo.shape()));
            }
            int n = (int) maxInfo.dim(0);
            expect(where, header, base + RANK_MAX, io.cusprun.model.DType.F32, n);
            expect(where, header, base + RANK_HIST, io.cusprun.model.DType.I32, n, bins);
            expect(where, header, base + RELEVANCE_SUM, io.cusprun.model.DType.F64, n);
            expect(where, header, base + RELEVANCE_SUM_EXACT, io.cusprun.model.DType.I64, n, 2);
            float[] max = new float[n];
            f.mapBytes(base + RANK_MAX).asFloatBuffer().get(max);
            int[] h = new int[n * bins];
            f.mapBytes(base + RANK_HIST).asIntBuffer().get(h);
            double[] sum = new double[n];
            f.mapBytes(base + RELEVANCE_SUM).asDoubleBuffer().get(sum);
            long[] pairs = new long[2 * n];
            f.mapBytes(base + RELEVANCE_SUM_EXACT).asLongBuffer().get(pairs);
            for (int k = 0; k < n; k++) {
                if (!(max[k] >= 0f && max[k] <= 1f)) {
                    throw new IOException(where + RANK_MAX + "[" + k + "] is " + max[k] + ", not a rank in [0, 1]");
                }
                if (!Double.isFinite(sum[k])) {
                    throw new IOException(where + RELEVANCE_SUM + "[" + k + "] is " + sum[k]);
                }
                long row = 0;
                int top = -1; // the highest bin holding a document
                for (int b = 0; b < bins; b++) {
                    int v = h[k * bins + b];
                    if (v < 0) {
                        throw new IOException(
                                where + RANK_HIST + "[" + k + ", " + b + "] is " + v + ", a negative count");
                    }
                    row += v;
                    if (v > 0) top = b;
                }
                if (row != documents) {
                    throw new IOException(where + RANK_HIST + " row " + k + " counts " + row
                            + " documents, but the corpus has " + documents);
                }
                // the largest rank lies in the highest bin that holds a document (within float rounding)
                double lo = top < 0 ? 0 : top / (double) bins - 1e-6;
                double hi = top < 0 ? 0 : (top + 1) / (double) bins + 1e-6;
                if (max[k] < lo || max[k] > hi) {
                    throw new IOException(where + RANK_MAX + "[" + k + "] is " + max[k] + ", but its histogram's"
                            + (top < 0 ? " rows are empty" : " highest bin is " + top + " of " + bins));
                }
            }
            long[] hi = new long[n], lo = new long[n];
            for (int k = 0; k < n; k++) {
                hi[k] = pairs[2 * k];
                lo[k] = pairs[2 * k + 1];
            }
            modules.put(key, RankAccumulator.of(max, h, ExactSum.of(hi, lo), documents));
        }
        if (modules.isEmpty() && documents > 0)
            throw new IOException(header.file() + ": no tensors for corpus " + name);
        return new CorpusScores(kind, name, documents, tokens, modules);
    }

    private static void expect(
            String where, SafetensorsHeader header, String tensor, io.cusprun.model.DType dtype, long... shape)
            throws IOException {
        TensorInfo info = header.tensor(tensor);
        if (info == null) throw new IOException(where + "missing tensor " + tensor);
        if (info.dtype() != dtype || !java.util.Arrays.equals(info.shape(), shape)) {
            throw new IOException(
                    where + "tensor " + tensor + " is " + info.dtype().safetensorsName()
                            + java.util.Arrays.toString(info.shape()) + ", expected " + dtype.safetensorsName()
                            + java.util.Arrays.toString(shape));
        }
    }

    static ModuleKey parseKey(String base) {
        // base = model.layers.<i>.<block>.<prefix>
        String rest = base.substring("model.layers.".length());
        int dot = rest.indexOf('.');
        int layer = Integer.parseInt(rest.substring(0, dot));
        for (ModuleKind k : ModuleKind.values()) {
            if (k.tensorName(layer, "").equals(base)) return new ModuleKey(layer, k);
        }
        throw new IllegalArgumentException("unknown score tensor " + base);
    }
}
