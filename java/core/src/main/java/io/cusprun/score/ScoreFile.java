package io.cusprun.score;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.OutputPolicy;
import io.cusprun.Version;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.SafetensorsHeader;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorInfo;
import io.cusprun.model.Tensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

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

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A score file: cusprun wrote it when its metadata says {@value #FORMAT}. */
    public static final OutputPolicy.Kind OUTPUT = OutputPolicy.Kind.file("score file", ScoreFile::isScoreFile);

    private ScoreFile() {}

    /** Whether {@code file} is a safetensors file whose metadata names this format. */
    public static boolean isScoreFile(Path file) throws IOException {
        return Files.isRegularFile(file) && FORMAT.equals(SafetensorsHeader.read(file).metadata().get("format"));
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
            for (CorpusScores c : set.corpora()) {
                for (Map.Entry<ModuleKey, RankAccumulator> e : c.modules().entrySet()) {
                    String base = c.name() + "/" + e.getKey().kind().tensorName(e.getKey().layer(), "");
                    RankAccumulator a = e.getValue();
                    int n = a.size();
                    tensors.put(base + RANK_MAX, Tensors.ofFloats(a.rankMax()));
                    tensors.put(base + RANK_HIST, Tensors.ofInts(a.rankHist(), n, a.bins()));
                    tensors.put(base + RELEVANCE_SUM, Tensors.ofDoubles(a.relevanceSum()));
                    ExactSum s = a.exactSum();
                    long[] pairs = new long[2 * n];
                    long[] hi = s.hi(), lo = s.lo();
                    for (int k = 0; k < n; k++) {
                        pairs[2 * k] = hi[k];
                        pairs[2 * k + 1] = lo[k];
                    }
                    tensors.put(base + RELEVANCE_SUM_EXACT, Tensors.ofLongs(pairs, n, 2));
                }
            }
            Map<String, String> meta = new LinkedHashMap<>(metadata(set));
            meta.putAll(extra);
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

    /** Reads a score file; one-line IOException when it is not one. */
    public static ScoreSet read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException("score file not found: " + file);
        SafetensorsHeader header = SafetensorsHeader.read(file);
        Map<String, String> meta = header.metadata();
        if (!FORMAT.equals(meta.get("format"))) throw new IOException(file + ": not a cusprun score file");
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            Map<String, String> settingsMap = JSON.readValue(meta.get("settings"), new TypeReference<>() {});
            ScoreSettings settings = ScoreSettings.fromMap(settingsMap);
            List<CorpusScores> corpora = new ArrayList<>();
            for (JsonNode c : JSON.readTree(meta.get("corpora"))) {
                corpora.add(readCorpus(f, header, CorpusKind.parse(c.get("kind").asText()), c.get("name").asText(),
                        c.get("documents").asLong(), c.get("tokens").asLong()));
            }
            return new ScoreSet(meta.get("model_fingerprint"), settings, ShardSpec.parseStored(meta.get("shard")), corpora);
        } catch (RuntimeException e) {
            throw new IOException(file + ": damaged score file (" + e.getMessage() + ")");
        }
    }

    private static CorpusScores readCorpus(SafetensorsFile f, SafetensorsHeader header, CorpusKind kind, String name,
                                           long documents, long tokens) throws IOException {
        Map<ModuleKey, RankAccumulator> modules = new TreeMap<>();
        String prefix = name + "/";
        for (String tensor : header.tensors().keySet()) {
            if (!tensor.startsWith(prefix) || !tensor.endsWith(RANK_MAX)) continue;
            String base = tensor.substring(0, tensor.length() - RANK_MAX.length());
            ModuleKey key = parseKey(base.substring(prefix.length()));
            TensorInfo hist = f.info(base + RANK_HIST);
            float[] max = new float[(int) f.info(base + RANK_MAX).numel()];
            f.mapBytes(base + RANK_MAX).asFloatBuffer().get(max);
            int[] h = new int[(int) hist.numel()];
            f.mapBytes(base + RANK_HIST).asIntBuffer().get(h);
            long[] pairs = new long[2 * max.length];
            f.mapBytes(base + RELEVANCE_SUM_EXACT).asLongBuffer().get(pairs);
            long[] hi = new long[max.length], lo = new long[max.length];
            for (int k = 0; k < max.length; k++) {
                hi[k] = pairs[2 * k];
                lo[k] = pairs[2 * k + 1];
            }
            modules.put(key, RankAccumulator.of(max, h, ExactSum.of(hi, lo), documents));
        }
        if (modules.isEmpty() && documents > 0) throw new IOException(header.file() + ": no tensors for corpus " + name);
        return new CorpusScores(kind, name, documents, tokens, modules);
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
