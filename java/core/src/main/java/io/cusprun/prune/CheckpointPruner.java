package io.cusprun.prune;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.AtomicOutput;
import io.cusprun.OutputPolicy;
import io.cusprun.SettingException;
import io.cusprun.Version;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.CheckpointLayout;
import io.cusprun.model.LayerSize;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorInfo;
import io.cusprun.model.TensorSpec;
import io.cusprun.vocab.TokenizerTrimmer;
import io.cusprun.vocab.VocabularyTrim;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes the pruned checkpoint (docs/method.md, "Removal and output"): streams the source tensor by tensor, its bytes cut
 * straight from the source file into the output ({@link TensorSlicer}: rows/columns selected or
 * zeroed, in the source dtype), writes config.json,
 * copies the tokenizer and generation config, and writes {@code cusprun-manifest.json}. All of
 * it goes to a temporary directory beside the target, renamed into place at the end.
 */
public final class CheckpointPruner {
    public static final String MANIFEST = "cusprun-manifest.json";
    private static final Pattern LAYER = Pattern.compile("^model\\.layers\\.(\\d+)\\.(.+)$");
    private static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointPruner() {}

    /** The shape of the checkpoint in {@code modelDir}. */
    public static ModelShape shapeOf(Path modelDir) throws IOException {
        ModelConfig config = ModelConfig.read(modelDir);
        try (Checkpoint cp = Checkpoint.open(modelDir)) {
            CheckpointLayout.check(config, cp);
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (String name : cp.tensorNames()) shapes.put(name, cp.info(name).shape());
            return ModelShape.of(shapes, config.headDim());
        }
    }

    /**
     * A pruned model directory: cusprun wrote it when it holds a valid {@value #MANIFEST} whose
     * recorded output (every file with its size, and their fingerprint) is what the folder holds.
     */
    public static final OutputPolicy.Kind OUTPUT =
            OutputPolicy.Kind.directory("pruned model", CheckpointPruner::isOurs);

    /** The manifest key of the output's fingerprint: {@code {"files": {name: bytes}, "fingerprint": "sha256:..."}}. */
    static final String OUTPUT_KEY = "output";

    /** Whether {@code dir} is a pruned model as cusprun wrote it (see {@link #OUTPUT}); NotOursException says why not. */
    static boolean isOurs(Path dir) throws IOException {
        Path manifest = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            throw new OutputPolicy.NotOursException("no " + MANIFEST);
        }
        com.fasterxml.jackson.databind.JsonNode m;
        try {
            m = JSON.readTree(manifest.toFile());
        } catch (IOException e) {
            throw new OutputPolicy.NotOursException(MANIFEST + " is not valid JSON");
        }
        if (m == null || !m.isObject() || !m.path("format").asText("").startsWith("cusprun-manifest/")) {
            throw new OutputPolicy.NotOursException(MANIFEST + " is not a cusprun manifest");
        }
        java.util.SortedMap<String, String> recorded = OutputPolicy.recordedListing(m.get(OUTPUT_KEY), MANIFEST);
        OutputPolicy.checkListing(dir, recorded, java.util.Set.of(MANIFEST));
        return true;
    }

    /**
     * Writes {@code plan} applied to the checkpoint in {@code sourceDir} to {@code outDir}.
     * Refuses an existing output unless {@code force}, and even then anything but a pruned model
     * or an empty directory, and the source model itself ({@link OutputPolicy}); on failure
     * nothing is left behind.
     */
    public static void write(Path sourceDir, PrunePlan plan, Path outDir, Provenance provenance, boolean force)
            throws IOException {
        write(sourceDir, plan, outDir, provenance, force, null, null);
    }

    /**
     * As above, with the kept columns of down_proj and o_proj taken from {@code refit} where it
     * holds them ({@link Compensation}; null writes every tensor as cut from the source), and the
     * vocabulary trimmed to {@code vocab} (null: whole): the embedding and LM-head rows of the kept
     * tokens, the tokenizer files and the config's ids rewritten ({@link TokenizerTrimmer}), the
     * kept ids in the manifest.
     */
    public static void write(
            Path sourceDir,
            PrunePlan plan,
            Path outDir,
            Provenance provenance,
            boolean force,
            Compensation.Refit refit,
            VocabularyTrim vocab)
            throws IOException {
        if (vocab != null && plan.settings().masked()) {
            throw new SettingException(
                    "masked", "does not go with a trimmed vocabulary (a masked model keeps every row)");
        }
        boolean claimedHere = !AtomicOutput.holdsClaim(outDir); // a command claims its outputs itself
        try {
            OutputPolicy.check(outDir, "output", OUTPUT, force, Map.of(sourceDir, "source model"), null);
            writeClaimed(sourceDir, plan, outDir, provenance, refit, vocab);
        } finally {
            if (claimedHere) {
                AtomicOutput.releaseClaim(outDir);
            }
        }
    }

    private static void writeClaimed(
            Path sourceDir,
            PrunePlan plan,
            Path outDir,
            Provenance provenance,
            Compensation.Refit refit,
            VocabularyTrim vocab)
            throws IOException {
        AtomicOutput.writeDirectory(outDir, tmp -> {
            ModelConfig config = ModelConfig.read(sourceDir);
            long written;
            try (Checkpoint source = Checkpoint.open(sourceDir)) {
                CheckpointLayout.checkWithValues(config, source); // NaN or infinite weights are not copied
                written = writeWeights(source, plan, config.headDim(), refit, vocab, tmp);
            }
            writeConfig(config, plan, vocab, tmp);
            if (vocab == null) {
                copyTokenizer(sourceDir, tmp);
            } else {
                TokenizerTrimmer.write(sourceDir, vocab, tmp);
            }
            writeManifest(plan, provenance, vocab, written, refit, tmp.resolve(MANIFEST));
        });
    }

    // ------------------------------------------------------------------ weights

    private record Planned(String sourceName, TensorSpec spec, SliceRule rule, long[] sourceShape) {}

    private static long writeWeights(
            Checkpoint source, PrunePlan plan, int headDim, Compensation.Refit refit, VocabularyTrim vocab, Path dir)
            throws IOException {
        boolean masked = plan.settings().masked();
        int[] newIndex = new int[plan.layers().size()];
        int next = 0;
        for (LayerPlan l : plan.layers()) newIndex[l.layer()] = l.dropped() ? -1 : next++;
        List<Planned> planned = new ArrayList<>();
        long maxFile = 0;
        for (SafetensorsFile f : source.files())
            maxFile = Math.max(maxFile, f.header().dataSize());
        for (String name : source.tensorNames()) {
            TensorInfo info = source.info(name);
            Matcher m = LAYER.matcher(name);
            if (!m.matches()) {
                SliceRule rule = vocabularyRows(name, info, vocab);
                long[] shape = info.shape();
                if (rule != null) shape[0] = rule.kept().length;
                planned.add(new Planned(name, new TensorSpec(name, info.dtype(), shape), rule, info.shape()));
                continue;
            }
            int layer = Integer.parseInt(m.group(1));
            if (layer >= newIndex.length || newIndex[layer] < 0) continue;
            LayerPlan lp = plan.layers().get(layer);
            SliceRule rule = SliceRule.of(m.group(2), lp, plan.source().layer(layer), headDim);
            long[] shape = info.shape();
            if (rule != null && !masked) shape[rule.dim()] = rule.kept().length;
            String outName = "model.layers." + newIndex[layer] + "." + m.group(2);
            planned.add(new Planned(name, new TensorSpec(outName, info.dtype(), shape), rule, info.shape()));
        }
        Map<String, Planned> byOut = new LinkedHashMap<>();
        for (Planned p : planned) byOut.put(p.spec().name(), p);
        boolean sharded = source.files().size() > 1;
        SafetensorsWriter writer = new SafetensorsWriter(dir).metadata(Map.of("format", "pt"));
        if (sharded) writer.maxShardBytes(Math.max(1, maxFile));
        try (TensorSlicer slicer = new TensorSlicer(source)) {
            writer.writeBytes(planned.stream().map(Planned::spec).toList(), (spec, out) -> {
                Planned p = byOut.get(spec.name());
                org.bytedeco.pytorch.Tensor refitted = refit == null ? null : refit.keptColumns(p.sourceName());
                if (refitted != null) {
                    slicer.writeRefit(refitted, p.rule(), p.sourceShape()[1], masked, out);
                } else {
                    slicer.write(p.sourceName(), p.rule(), masked, out);
                }
            });
        }
        long params = 0;
        for (Planned p : planned) params += TensorInfo.numel(p.spec().shape());
        return params;
    }

    /** The kept rows of the input embedding and the LM head (tied or not) when the vocabulary is trimmed, else null. */
    private static SliceRule vocabularyRows(String name, TensorInfo info, VocabularyTrim vocab) throws IOException {
        if (vocab == null || !(name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight"))) {
            return null;
        }
        if (info.shape()[0] != vocab.sourceSize()) {
            throw new IOException(name + " has " + info.shape()[0] + " rows, not the " + vocab.sourceSize()
                    + " of the vocabulary being trimmed");
        }
        return new SliceRule(0, SliceRule.toLong(vocab.kept()), new long[0]);
    }

    // ------------------------------------------------------------------ config, tokenizer, manifest

    private static void writeConfig(ModelConfig config, PrunePlan plan, VocabularyTrim vocab, Path dir)
            throws IOException {
        if (plan.settings().masked()) {
            config.write(dir);
            return;
        }
        List<LayerSize> sizes = new ArrayList<>();
        for (LayerPlan l : plan.layers()) {
            sizes.add(new LayerSize(l.keptFfn().length, l.keptHeads().length, l.keptKvHeads().length));
        }
        ObjectNode json;
        if (plan.layers().stream().noneMatch(LayerPlan::dropped)) {
            json = config.withLayerSizes(sizes).toJson();
        } else {
            json = config.toJson();
            List<LayerSize> kept = new ArrayList<>();
            for (LayerPlan l : plan.layers()) if (!l.dropped()) kept.add(sizes.get(l.layer()));
            json.put("num_hidden_layers", kept.size());
            if (json.has(ModelConfig.LAYER_SIZES_KEY)) {
                ArrayNode arr = json.putArray(ModelConfig.LAYER_SIZES_KEY);
                for (LayerSize s : kept) {
                    arr.addObject()
                            .put("intermediate_size", s.intermediateSize())
                            .put("num_attention_heads", s.numAttentionHeads())
                            .put("num_key_value_heads", s.numKeyValueHeads());
                }
            }
            if (json.has("layer_types") && json.get("layer_types").isArray()) {
                ArrayNode types = json.putArray("layer_types");
                ArrayNode old = (ArrayNode) config.toJson().get("layer_types");
                for (LayerPlan l : plan.layers()) if (!l.dropped()) types.add(old.get(l.layer()));
            }
        }
        if (vocab != null) TokenizerTrimmer.remapConfig(json, vocab, dir.resolve(ModelConfig.FILE_NAME));
        Files.writeString(
                dir.resolve(ModelConfig.FILE_NAME),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    }

    private static void copyTokenizer(Path source, Path dir) throws IOException {
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.sorted(Comparator.naturalOrder()).toList()) {
                String n = f.getFileName().toString();
                boolean wanted = n.startsWith("tokenizer")
                        || n.equals("special_tokens_map.json")
                        || n.equals("generation_config.json")
                        || n.equals("vocab.json")
                        || n.equals("merges.txt")
                        || n.endsWith(".tiktoken")
                        || n.equals("chat_template.jinja");
                if (wanted && Files.isRegularFile(f)) Files.copy(f, dir.resolve(n));
            }
        }
    }

    static void writeManifest(
            PrunePlan plan,
            Provenance prov,
            VocabularyTrim vocab,
            long writtenParams,
            Compensation.Refit refit,
            Path file)
            throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", "cusprun-manifest/1");
        // what the folder holds besides the manifest: --force later replaces it only if unchanged
        root.set(
                OUTPUT_KEY,
                OutputPolicy.recordListing(OutputPolicy.listing(file.getParent(), java.util.Set.of(MANIFEST))));
        root.put("cusprun_version", Version.VERSION);
        root.put("method", plan.method().label());
        ObjectNode src = root.putObject("source");
        src.put("fingerprint", prov.sourceFingerprint());
        src.put("block_params", plan.source().blockParams());
        src.put("total_params", plan.source().totalParams());
        src.put("layers", plan.source().numLayers());
        PruneSettings s = plan.settings();
        ObjectNode st = root.putObject("settings");
        st.put("ratio", s.ratio());
        st.put("mode", s.mode().label());
        st.put("granularity", s.granularity().label());
        st.put("head_unit", s.headUnit().label());
        st.put("doc_quantile", s.docQuantile());
        st.put("head_rule", s.headRule().label());
        st.put("min_ffn_fraction", s.minFfnFraction());
        st.put("masked", s.masked());
        st.put("seed", s.seed());
        st.put("relevance", s.relevance().label());
        putCompensation(root.putObject("compensation"), refit);
        ArrayNode corpora = root.putArray("corpora");
        for (Provenance.CorpusRef c : prov.corpora()) {
            corpora.addObject()
                    .put("kind", c.kind())
                    .put("name", c.name())
                    .put("documents", c.documents())
                    .put("tokens", c.tokens());
        }
        ArrayNode files = root.putArray("score_files");
        prov.scoreFiles().forEach(files::add);
        PruneReport.putAccounting(root, plan);
        ObjectNode achieved = root.putObject("achieved");
        achieved.put("removed_params", plan.removedParams());
        achieved.put("kept_params", plan.keptParams());
        achieved.put("block_ratio", plan.blockRatio());
        achieved.put("total_ratio", plan.totalRatio());
        achieved.put("written_params", writtenParams);
        ArrayNode layers = root.putArray("layers");
        for (LayerPlan l : plan.layers()) {
            ObjectNode o = layers.addObject();
            o.put("source_layer", l.layer());
            o.put("dropped", l.dropped());
            PruneReport.putLayerAccounting(o, plan, l.layer());
            if (l.dropped()) continue;
            ints(o.putArray("ffn_kept"), l.keptFfn());
            ints(o.putArray("heads_kept"), l.keptHeads());
            ints(o.putArray("kv_heads_kept"), l.keptKvHeads());
            if (l.removedQk().length > 0) ints(o.putArray("qk_pairs_zeroed"), l.removedQk());
            if (l.removedVo().length > 0) ints(o.putArray("vo_zeroed"), l.removedVo());
        }
        if (vocab != null) vocab.putManifest(root);
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    }

    /** Whether the kept columns were refitted, on what, and each layer's reconstruction error before and after. */
    private static void putCompensation(ObjectNode o, Compensation.Refit refit) {
        o.put("applied", refit != null);
        if (refit == null) return;
        o.put("ridge", StructuredObs.RIDGE);
        o.put("documents", refit.documents());
        o.put("tokens", refit.tokens());
        ArrayNode layers = o.putArray("layers");
        for (Compensation.LayerFit f : refit.layers()) {
            ObjectNode l = layers.addObject();
            l.put("source_layer", f.layer());
            putFit(l, "o_proj", f.attention());
            putFit(l, "down_proj", f.ffn());
        }
    }

    private static void putFit(ObjectNode layer, String name, Compensation.ModuleFit fit) {
        if (fit == null) return;
        layer.putObject(name)
                .put("lambda", fit.lambda())
                .put("error_before", fit.errorBefore())
                .put("error_after", fit.errorAfter());
    }

    private static void ints(ArrayNode arr, int[] v) {
        for (int x : v) arr.add(x);
    }
}
