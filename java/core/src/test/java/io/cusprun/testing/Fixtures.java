package io.cusprun.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.corpus.CorpusKind;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.model.Architecture;
import io.cusprun.model.DType;
import io.cusprun.model.LayerSize;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorSpec;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.bytedeco.pytorch.Tensor;

/**
 * Small random Llama-family checkpoints for tests: config.json, model.safetensors (or shards),
 * tokenizer.json (a 64-word WordLevel vocabulary) and tokenizer_config.json. Deterministic: the
 * same {@link Spec} always gives the same bytes (weights come from java.util.Random seeded by the
 * spec seed and the tensor name). Reusable by any package's tests:
 * <pre>{@code Path dir = Fixtures.write(tempDir, Fixtures.spec(Family.LLAMA3, DType.BF16));}</pre>
 */
public final class Fixtures {

    /** The supported families, each with its characteristic options. */
    public enum Family {
        /** Llama 2: MHA, untied, BOS via add_bos_token. */
        LLAMA2,
        /** Llama 3.2: GQA, tied embeddings, rope_scaling llama3, explicit head_dim != hidden/heads, BOS via the post-processor. */
        LLAMA3,
        /** Mistral: GQA, sliding window of 6 tokens. */
        MISTRAL,
        /** Qwen2: GQA, q/k/v biases, no BOS. */
        QWEN2,
        /** Llama with attention_bias, mlp_bias and per-layer sizes (cusprun_layer_sizes). */
        LLAMA_PRUNED
    }

    /**
     * @param layerSizes per-layer sizes, or null for the global ones
     */
    public record Spec(
            Family family,
            DType dtype,
            int vocabSize,
            int hiddenSize,
            int numLayers,
            int intermediateSize,
            int numHeads,
            int numKvHeads,
            int headDim,
            boolean tied,
            long seed,
            List<LayerSize> layerSizes) {

        public LayerSize layer(int i) {
            return layerSizes == null ? new LayerSize(intermediateSize, numHeads, numKvHeads) : layerSizes.get(i);
        }

        /** The directory name used for committed fixtures, e.g. "llama3-bf16". */
        public String name() {
            return family.name().toLowerCase().replace('_', '-') + "-"
                    + dtype.name().toLowerCase();
        }
    }

    public static final int VOCAB = 64;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {}

    /** The repository's root (the folder holding data/ and native/), whatever module's tests are running. */
    public static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("data")) && Files.isDirectory(p.resolve("native"))) {
                return p;
            }
        }
        throw new IllegalStateException(
                "no repository root above " + Path.of("").toAbsolutePath());
    }

    /** The default small spec of a family. */
    public static Spec spec(Family family, DType dtype) {
        return switch (family) {
            case LLAMA2 -> new Spec(family, dtype, VOCAB, 32, 2, 48, 4, 4, 8, false, 11, null);
            case LLAMA3 -> new Spec(family, dtype, VOCAB, 32, 2, 48, 4, 2, 16, true, 12, null);
            case MISTRAL -> new Spec(family, dtype, VOCAB, 32, 2, 48, 4, 2, 8, false, 13, null);
            case QWEN2 -> new Spec(family, dtype, VOCAB, 32, 2, 48, 4, 2, 8, false, 14, null);
            case LLAMA_PRUNED ->
                new Spec(
                        family,
                        dtype,
                        VOCAB,
                        32,
                        2,
                        48,
                        4,
                        2,
                        8,
                        false,
                        15,
                        List.of(new LayerSize(40, 4, 2), new LayerSize(24, 2, 1)));
        };
    }

    /** The fixtures committed under src/test/resources/fixtures (with golden logits). */
    public static List<Spec> committed() {
        return List.of(
                spec(Family.LLAMA2, DType.F32),
                spec(Family.LLAMA3, DType.BF16),
                spec(Family.MISTRAL, DType.F32),
                spec(Family.QWEN2, DType.BF16),
                spec(Family.LLAMA_PRUNED, DType.F32));
    }

    /** Writes a complete model directory {@code parent/spec.name()}; returns it. */
    /** A language corpus {@code name} of {@code docs} random documents of {@code length} tokens, seeded. */
    public static TokenizedCorpus corpus(String name, long seed, int docs, int length) {
        int[] lengths = new int[docs];
        Arrays.fill(lengths, length);
        return new TokenizedCorpus(new CorpusSpec(CorpusKind.LANGUAGE, name, Path.of(name)), randomDocs(seed, lengths));
    }

    /** Documents of the given lengths of random token ids in [0, VOCAB), seeded. */
    public static List<long[]> randomDocs(long seed, int... lengths) {
        Random r = new Random(seed);
        List<long[]> docs = new ArrayList<>();
        for (int n : lengths) {
            long[] d = new long[n];
            for (int i = 0; i < n; i++) {
                d[i] = r.nextInt(VOCAB);
            }
            docs.add(d);
        }
        return docs;
    }

    public static Path write(Path parent, Spec spec) throws IOException {
        return write(parent.resolve(spec.name()), spec, SafetensorsWriter.DEFAULT_MAX_SHARD_BYTES);
    }

    /** Writes a complete model directory into {@code dir}, sharding above {@code maxShardBytes}. */
    public static Path write(Path dir, Spec spec, long maxShardBytes) throws IOException {
        Files.createDirectories(dir);
        writeJson(dir.resolve("config.json"), config(spec));
        writeJson(dir.resolve("tokenizer.json"), tokenizer(spec.family()));
        writeJson(dir.resolve("tokenizer_config.json"), tokenizerConfig(spec.family()));
        Map<String, long[]> shapes = shapes(spec);
        List<TensorSpec> specs = new ArrayList<>();
        shapes.forEach((name, shape) -> specs.add(new TensorSpec(name, spec.dtype(), shape)));
        new SafetensorsWriter(dir)
                .maxShardBytes(maxShardBytes)
                .metadata(Map.of("format", "pt"))
                .write(specs, t -> weight(spec, t.name(), t.shape()));
        return dir;
    }

    /** The tensor names and shapes of a spec's checkpoint, in HF order. */
    public static Map<String, long[]> shapes(Spec s) {
        Map<String, long[]> m = new LinkedHashMap<>();
        int d = s.hiddenSize();
        m.put("model.embed_tokens.weight", new long[] {s.vocabSize(), d});
        boolean qkvBias = s.family() == Family.QWEN2 || s.family() == Family.LLAMA_PRUNED;
        boolean oBias = s.family() == Family.LLAMA_PRUNED;
        boolean mlpBias = s.family() == Family.LLAMA_PRUNED;
        for (int i = 0; i < s.numLayers(); i++) {
            LayerSize ls = s.layer(i);
            String p = "model.layers." + i + ".";
            long q = (long) ls.numAttentionHeads() * s.headDim();
            long kv = (long) ls.numKeyValueHeads() * s.headDim();
            m.put(p + "input_layernorm.weight", new long[] {d});
            m.put(p + "self_attn.q_proj.weight", new long[] {q, d});
            m.put(p + "self_attn.k_proj.weight", new long[] {kv, d});
            m.put(p + "self_attn.v_proj.weight", new long[] {kv, d});
            if (qkvBias) {
                m.put(p + "self_attn.q_proj.bias", new long[] {q});
                m.put(p + "self_attn.k_proj.bias", new long[] {kv});
                m.put(p + "self_attn.v_proj.bias", new long[] {kv});
            }
            m.put(p + "self_attn.o_proj.weight", new long[] {d, q});
            if (oBias) {
                m.put(p + "self_attn.o_proj.bias", new long[] {d});
            }
            m.put(p + "post_attention_layernorm.weight", new long[] {d});
            int f = ls.intermediateSize();
            m.put(p + "mlp.gate_proj.weight", new long[] {f, d});
            m.put(p + "mlp.up_proj.weight", new long[] {f, d});
            m.put(p + "mlp.down_proj.weight", new long[] {d, f});
            if (mlpBias) {
                m.put(p + "mlp.gate_proj.bias", new long[] {f});
                m.put(p + "mlp.up_proj.bias", new long[] {f});
                m.put(p + "mlp.down_proj.bias", new long[] {d});
            }
        }
        m.put("model.norm.weight", new long[] {d});
        if (!s.tied()) {
            m.put("lm_head.weight", new long[] {s.vocabSize(), d});
        }
        return m;
    }

    /** Deterministic values of one tensor: norms near 1, biases small, matrices with std 1/sqrt(fan-in). */
    public static float[] values(Spec spec, String name, long[] shape) {
        int n = 1;
        for (long x : shape) {
            n = Math.multiplyExact(n, (int) x);
        }
        Random r = new Random(spec.seed() * 1_000_003L + name.hashCode());
        float[] v = new float[n];
        boolean norm = name.endsWith("norm.weight");
        boolean bias = name.endsWith(".bias");
        double std = name.equals("model.embed_tokens.weight")
                ? 1.0
                : shape.length == 2 && shape[1] > 0 ? 1.0 / Math.sqrt(shape[1]) : 0.1;
        for (int i = 0; i < n; i++) {
            double g = r.nextGaussian();
            v[i] = (float) (norm ? 1.0 + 0.1 * g : bias ? 0.1 * g : std * g);
        }
        return v;
    }

    /** The tensor as the spec's dtype (converted from the fp32 values by LibTorch, round to nearest even). */
    public static Tensor weight(Spec spec, String name, long[] shape) {
        return Tensors.ofFloats(values(spec, name, shape), shape)
                .to(spec.dtype().scalarType());
    }

    public static ObjectNode config(Spec s) {
        Architecture arch = switch (s.family()) {
            case LLAMA2, LLAMA3, LLAMA_PRUNED -> Architecture.LLAMA;
            case MISTRAL -> Architecture.MISTRAL;
            case QWEN2 -> Architecture.QWEN2;
        };
        ModelConfig.Builder c = ModelConfig.builder(
                arch, s.vocabSize(), s.hiddenSize(), s.intermediateSize(), s.numLayers(), s.numHeads(), s.numKvHeads());
        if (s.headDim() * s.numHeads() != s.hiddenSize() || s.family() == Family.LLAMA3) {
            c.headDim(s.headDim());
        }
        c.hiddenAct("silu")
                .maxPositionEmbeddings(256)
                .rmsNormEps(s.family() == Family.LLAMA2 ? 1e-5 : 1e-6)
                .tieWordEmbeddings(s.tied())
                .torchDtype(s.dtype())
                .extra("initializer_range", 0.02); // an unknown field, kept on rewrite
        switch (s.family()) {
            case LLAMA2 -> c.ropeTheta(10000.0).bosTokenId(1).eosTokenIds(2).attentionBias(false);
            case LLAMA3 ->
                c.ropeTheta(500000.0)
                        .bosTokenId(1)
                        .eosTokenIds(2, 3)
                        .llama3RopeScaling(8.0, 1.0, 4.0, 1024)
                        .attentionBias(false)
                        .mlpBias(false);
            case MISTRAL -> c.ropeTheta(10000.0).slidingWindow(6).bosTokenId(1).eosTokenIds(2);
            case QWEN2 ->
                c.ropeTheta(1000000.0)
                        .qwen2SlidingWindow(false, 32, 2)
                        .bosTokenId(2)
                        .eosTokenIds(2);
            case LLAMA_PRUNED ->
                c.ropeTheta(10000.0)
                        .linearRopeScaling(2.0)
                        .attentionBias(true)
                        .mlpBias(true)
                        .bosTokenId(1)
                        .eosTokenIds(2)
                        .layerSizes(java.util.stream.IntStream.range(0, s.numLayers())
                                .mapToObj(s::layer)
                                .toList());
        }
        return c.toJson();
    }

    /** The 61 ordinary words of the fixture vocabulary (ids 3..63). */
    public static final List<String> WORDS =
            List.of(("the a of and to in is was it for on with as at by this that from be are "
                            + "or an not but we you he she they cat dog sat mat ran house tree red blue green big small one two three "
                            + "four five water fire earth sky sun moon star day night good bad yes no . ,")
                    .split(" "));

    static {
        if (WORDS.size() + 3 != VOCAB) {
            throw new IllegalStateException("fixture vocabulary has " + (WORDS.size() + 3) + " tokens, not " + VOCAB);
        }
    }

    /** Special tokens (ids 0, 1, 2) of a family's tokenizer: unknown, BOS, EOS. */
    public static List<String> specials(Family family) {
        return switch (family) {
            case LLAMA3 -> List.of("<unk>", "<|begin_of_text|>", "<|end_of_text|>");
            case QWEN2 -> List.of("<unk>", "<|im_start|>", "<|endoftext|>");
            default -> List.of("<unk>", "<s>", "</s>");
        };
    }

    /** A WordLevel tokenizer.json: lower-cased, split on whitespace and punctuation. */
    public static ObjectNode tokenizer(Family family) {
        List<String> specials = specials(family);
        ObjectNode t = JSON.createObjectNode();
        t.put("version", "1.0");
        t.putNull("truncation");
        t.putNull("padding");
        ArrayNode added = t.putArray("added_tokens");
        for (int i = 0; i < specials.size(); i++) {
            added.addObject()
                    .put("id", i)
                    .put("content", specials.get(i))
                    .put("single_word", false)
                    .put("lstrip", false)
                    .put("rstrip", false)
                    .put("normalized", false)
                    .put("special", true);
        }
        t.putObject("normalizer").put("type", "Lowercase");
        t.putObject("pre_tokenizer").put("type", "Whitespace");
        if (family == Family.LLAMA3 || family == Family.LLAMA2) {
            String bos = specials.get(1);
            ObjectNode pp = t.putObject("post_processor");
            pp.put("type", "TemplateProcessing");
            ArrayNode single = pp.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            ArrayNode pair = pp.putArray("pair");
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 0);
            pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
            pair.addObject().putObject("SpecialToken").put("id", bos).put("type_id", 1);
            pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
            ObjectNode st = pp.putObject("special_tokens").putObject(bos);
            st.put("id", bos);
            st.putArray("ids").add(1);
            st.putArray("tokens").add(bos);
        } else {
            t.putNull("post_processor");
        }
        t.putNull("decoder");
        ObjectNode model = t.putObject("model");
        model.put("type", "WordLevel");
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < specials.size(); i++) {
            vocab.put(specials.get(i), i);
        }
        for (int i = 0; i < WORDS.size(); i++) {
            vocab.put(WORDS.get(i), i + specials.size());
        }
        model.put("unk_token", specials.get(0));
        return t;
    }

    /** tokenizer_config.json: Llama 2 / Mistral say add_bos_token, Llama 3 relies on the post-processor, Qwen2 has no BOS. */
    public static ObjectNode tokenizerConfig(Family family) {
        List<String> specials = specials(family);
        ObjectNode c = JSON.createObjectNode();
        switch (family) {
            case LLAMA2, MISTRAL, LLAMA_PRUNED -> {
                c.put("add_bos_token", true).put("add_eos_token", false);
                c.put("bos_token", specials.get(1));
            }
            case LLAMA3 -> c.put("bos_token", specials.get(1));
            case QWEN2 -> c.putNull("bos_token");
        }
        c.put("eos_token", specials.get(2));
        c.put("unk_token", specials.get(0));
        c.put("model_max_length", 256);
        return c;
    }

    public static void writeJson(Path file, Object json) throws IOException {
        Files.write(
                file,
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json).getBytes(StandardCharsets.UTF_8));
    }

    /** Regenerates the committed fixtures: {@code java ... io.cusprun.testing.Fixtures DIR}. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "src/test/resources/fixtures");
        for (Spec s : committed()) {
            System.out.println(write(dir, s));
        }
    }
}
