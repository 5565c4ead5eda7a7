package io.cusprun.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.Json;
import io.cusprun.model.Architecture;
import io.cusprun.model.DType;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * What the demo model's directory holds besides its weights and card: {@code config.json} from the
 * settings' sizes, {@code generation_config.json}, the tokenizer's files, and the safetensors metadata;
 * and the check that an {@code --init} checkpoint has the sizes of the run.
 */
final class ModelFiles {

    static final String PRODUCER = DemoModelTrainer.class.getName();
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelFiles() {}

    /**
     * The model's config.json from the settings' shape and the tokenizer's vocabulary: a plain Llama
     * (no biases), or a Qwen2 (q/k/v biases, no sliding window), tied or untied embeddings.
     */
    static ModelConfig config(TrainSettings.Shape s, Vocabulary vocab, long bos, long eos) {
        if (s.heads() <= 0 || s.hidden() % s.heads() != 0) {
            throw new IllegalArgumentException("--hidden " + s.hidden() + " is not a multiple of --heads " + s.heads());
        }
        if (s.kvHeads() <= 0 || s.heads() % s.kvHeads() != 0) {
            throw new IllegalArgumentException(
                    "--heads " + s.heads() + " is not a multiple of --kv-heads " + s.kvHeads());
        }
        ModelConfig.Builder c = ModelConfig.builder(
                        s.architecture(),
                        vocab.size(),
                        s.hidden(),
                        s.intermediate(),
                        s.layers(),
                        s.heads(),
                        s.kvHeads())
                .headDim(s.hidden() / s.heads())
                .hiddenAct("silu")
                .maxPositionEmbeddings(s.maxPositions())
                .rmsNormEps(s.architecture() == Architecture.QWEN2 ? 1e-6 : 1e-5)
                .ropeTheta(10000.0);
        switch (s.architecture()) {
            case LLAMA -> c.attentionBias(false).extra("attention_dropout", 0.0).mlpBias(false);
            case QWEN2 -> c.extra("attention_dropout", 0.0).qwen2SlidingWindow(false, s.maxPositions(), s.layers());
            default ->
                throw new IllegalArgumentException("the trainer builds llama or qwen2 models, not "
                        + s.architecture().modelType());
        }
        c.extra("initializer_range", 0.02)
                .tieWordEmbeddings(s.tiedEmbeddings())
                .bosTokenId(bos)
                .eosTokenIds(eos);
        if (vocab.pad() != null) {
            c.padTokenId(vocab.pad());
        }
        return c.extra("use_cache", true).torchDtype(DType.F32).build();
    }

    /** A size an {@code --init} checkpoint must share with the run: its config.json key and its value. */
    private record Size(String key, Function<ModelConfig, Object> value) {}

    private static final List<Size> INIT_SIZES = List.of(
            new Size("architectures", ModelConfig::architecture),
            new Size("vocab_size", ModelConfig::vocabSize),
            new Size("hidden_size", ModelConfig::hiddenSize),
            new Size("intermediate_size", ModelConfig::intermediateSize),
            new Size("num_hidden_layers", ModelConfig::numHiddenLayers),
            new Size("num_attention_heads", ModelConfig::numAttentionHeads),
            new Size("num_key_value_heads", ModelConfig::numKeyValueHeads),
            new Size("max_position_embeddings", ModelConfig::maxPositionEmbeddings),
            new Size("tie_word_embeddings", ModelConfig::tieWordEmbeddings));

    /**
     * Refuses an {@code --init} checkpoint whose config differs from the run's in a size the weights
     * depend on (vocabulary, hidden, layers, heads, MLP, positions, tied embeddings).
     */
    static void checkInit(Path dir, ModelConfig expected) throws IOException {
        ModelConfig c = ModelConfig.read(dir);
        for (Size size : INIT_SIZES) {
            Object have = size.value().apply(c);
            Object want = size.value().apply(expected);
            if (!Objects.equals(have, want)) {
                throw new IOException(
                        dir.resolve("config.json") + ": --init needs " + size.key() + " " + want + ", not " + have);
            }
        }
    }

    /** The safetensors header's metadata: producer, step, seed, training file and start. */
    static Map<String, String> metadata(TrainSettings s) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("producer", PRODUCER);
        meta.put("step", Integer.toString(s.schedule().steps()));
        meta.put("seed", Long.toString(s.execution().seed()));
        meta.put("train_file", s.locations().trainFile().toString());
        if (s.locations().init() != null) {
            meta.put("init", s.locations().init().toString());
        }
        return meta;
    }

    /** The tokenizer's id space (the largest id in tokenizer.json, plus one) and its padding token. */
    record Vocabulary(int size, Long pad) {

        static Vocabulary read(Path dir) throws IOException {
            Path file = dir.resolve(TextTokenizer.FILE_NAME);
            JsonNode tok = Json.read(file);
            long max = -1;
            Map<String, Long> ids = new LinkedHashMap<>();
            for (JsonNode t : tok.path("added_tokens")) {
                max = Math.max(max, t.path("id").asLong());
                ids.put(t.path("content").asText(), t.path("id").asLong());
            }
            var fields = tok.path("model").path("vocab").fields();
            while (fields.hasNext()) {
                var e = fields.next();
                max = Math.max(max, e.getValue().asLong());
                ids.putIfAbsent(e.getKey(), e.getValue().asLong());
            }
            if (max < 0) {
                throw new IOException(file + ": no vocabulary (model.vocab) found");
            }
            Path configFile = dir.resolve("tokenizer_config.json");
            Long pad = null;
            if (Files.isRegularFile(configFile)) {
                JsonNode padToken = Json.read(configFile).get("pad_token");
                if (padToken != null && padToken.isTextual()) {
                    pad = ids.get(padToken.asText());
                }
            }
            return new Vocabulary(Math.toIntExact(max + 1), pad);
        }
    }

    static void writeGenerationConfig(Path dir, long bos, long eos, Long pad) throws IOException {
        ObjectNode g = JSON.createObjectNode();
        g.put("bos_token_id", bos);
        g.put("eos_token_id", eos);
        if (pad != null) {
            g.put("pad_token_id", pad);
        }
        Files.writeString(
                dir.resolve("generation_config.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(g) + "\n");
    }

    /** Copies the tokenizer's files (tokenizer.json, tokenizer_config.json, special_tokens_map.json, ...). */
    static void copyTokenizer(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                Files.copy(f, to.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }
}
