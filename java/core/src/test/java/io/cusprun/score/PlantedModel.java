package io.cusprun.score;

import io.cusprun.model.DType;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.TensorSpec;
import io.cusprun.model.Tensors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A tiny Llama checkpoint with planted experts. Tokens 0..15 are language A, 16..31 language B.
 * Embedding dim 0 is 1 for A tokens and 0 for B, dim 1 the reverse; no attention or MLP output
 * writes dims 0 and 1, so they carry the language through every layer. In every layer:
 * <ul>
 *   <li>FFN neurons {@link #FFN_A} have gate and up rows that read only dim 0, so their activation
 *   is exactly 0 on B tokens; {@link #FFN_B} read only dim 1 (zero on A tokens);</li>
 *   <li>KV group 0 (query heads 0, 1) has v rows that read only dim 0 (heads silent on B text),
 *   KV group 1 (heads 2, 3) v rows that read only dim 1 (silent on A text).</li>
 * </ul>
 * Everything else is seeded random. A tokenizer.json (WordLevel: "a0".."a15", "b0".."b15")
 * makes the directory usable from the CLI.
 */
public final class PlantedModel {
    public static final int VOCAB = 32, HIDDEN = 16, LAYERS = 2, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 4, FFN = 24;
    public static final int[] FFN_A = {0, 1, 2, 3};
    public static final int[] FFN_B = {4, 5, 6, 7};

    private PlantedModel() {}

    public static Path write(Path dir, long seed) throws IOException {
        return write(dir, seed, false);
    }

    /** @param qkvBias add q/k/v biases (Qwen2 style) */
    public static Path write(Path dir, long seed, boolean qkvBias) throws IOException {
        Files.createDirectories(dir);
        Random rnd = new Random(seed);
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        float[] emb = random(rnd, VOCAB * HIDDEN, 0.5f);
        for (int t = 0; t < VOCAB; t++) {
            emb[t * HIDDEN] = t < 16 ? 1f : 0f;
            emb[t * HIDDEN + 1] = t < 16 ? 0f : 1f;
        }
        put(data, shapes, "model.embed_tokens.weight", emb, VOCAB, HIDDEN);
        for (int l = 0; l < LAYERS; l++) {
            String p = "model.layers." + l + ".";
            put(data, shapes, p + "input_layernorm.weight", ones(HIDDEN), HIDDEN);
            put(data, shapes, p + "post_attention_layernorm.weight", ones(HIDDEN), HIDDEN);
            int q = HEADS * HEAD_DIM, kv = KV_HEADS * HEAD_DIM;
            put(data, shapes, p + "self_attn.q_proj.weight", random(rnd, q * HIDDEN, 0.5f), q, HIDDEN);
            put(data, shapes, p + "self_attn.k_proj.weight", random(rnd, kv * HIDDEN, 0.5f), kv, HIDDEN);
            float[] v = new float[kv * HIDDEN];
            for (int r = 0; r < kv; r++) v[r * HIDDEN + (r < HEAD_DIM ? 0 : 1)] = (float) (rnd.nextGaussian() * 2);
            put(data, shapes, p + "self_attn.v_proj.weight", v, kv, HIDDEN);
            if (qkvBias) {
                put(data, shapes, p + "self_attn.q_proj.bias", random(rnd, q, 0.1f), q);
                put(data, shapes, p + "self_attn.k_proj.bias", random(rnd, kv, 0.1f), kv);
                put(data, shapes, p + "self_attn.v_proj.bias", new float[kv], kv); // keeps the planted zeros exact
            }
            float[] o = random(rnd, HIDDEN * q, 0.5f);
            zeroRows(o, q, 0, 1);
            put(data, shapes, p + "self_attn.o_proj.weight", o, HIDDEN, q);
            float[] gate = random(rnd, FFN * HIDDEN, 0.5f);
            float[] up = random(rnd, FFN * HIDDEN, 0.5f);
            for (int k = 0; k < FFN; k++) {
                boolean a = contains(FFN_A, k), b = contains(FFN_B, k);
                if (a || b) {
                    for (int j = 0; j < HIDDEN; j++) {
                        gate[k * HIDDEN + j] = j == (a ? 0 : 1) ? 3f : 0f;
                        up[k * HIDDEN + j] = j == (a ? 0 : 1) ? 3f : 0f;
                    }
                } else {
                    gate[k * HIDDEN] = gate[k * HIDDEN + 1] = 0f; // random neurons ignore the language
                    up[k * HIDDEN] = up[k * HIDDEN + 1] = 0f;
                }
            }
            put(data, shapes, p + "mlp.gate_proj.weight", gate, FFN, HIDDEN);
            put(data, shapes, p + "mlp.up_proj.weight", up, FFN, HIDDEN);
            float[] down = random(rnd, HIDDEN * FFN, 0.5f);
            zeroRows(down, FFN, 0, 1);
            put(data, shapes, p + "mlp.down_proj.weight", down, HIDDEN, FFN);
        }
        put(data, shapes, "model.norm.weight", ones(HIDDEN), HIDDEN);
        put(data, shapes, "lm_head.weight", random(rnd, VOCAB * HIDDEN, 0.5f), VOCAB, HIDDEN);

        List<TensorSpec> specs = new ArrayList<>();
        shapes.forEach((n, s) -> specs.add(new TensorSpec(n, DType.F32, s)));
        new SafetensorsWriter(dir).write(specs, spec -> Tensors.ofFloats(data.get(spec.name()), spec.shape()));
        Files.writeString(dir.resolve("config.json"), config(qkvBias));
        Files.writeString(dir.resolve("tokenizer.json"), tokenizer());
        Files.writeString(dir.resolve("generation_config.json"), "{\"bos_token_id\": 0}\n");
        return dir;
    }

    /** Documents of one language: random tokens of its half of the vocabulary. */
    public static List<long[]> documents(char language, int count, int minLen, int maxLen, long seed) {
        Random rnd = new Random(seed);
        List<long[]> docs = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long[] ids = new long[minLen + rnd.nextInt(maxLen - minLen + 1)];
            for (int t = 0; t < ids.length; t++) ids[t] = (language == 'a' ? 0 : 16) + rnd.nextInt(16);
            docs.add(ids);
        }
        return docs;
    }

    /** The same documents as text for the WordLevel tokenizer, separated by blank lines. */
    public static String text(List<long[]> docs) {
        StringBuilder sb = new StringBuilder();
        for (long[] d : docs) {
            for (int t = 0; t < d.length; t++)
                sb.append(t == 0 ? "" : " ").append(d[t] < 16 ? "a" + d[t] : "b" + (d[t] - 16));
            sb.append("\n\n");
        }
        return sb.toString();
    }

    private static String config(boolean qkvBias) {
        String arch = qkvBias ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
        String type = qkvBias ? "qwen2" : "llama";
        return "{\n  \"architectures\": [\"" + arch + "\"],\n  \"model_type\": \"" + type + "\",\n"
                + "  \"vocab_size\": " + VOCAB + ",\n  \"hidden_size\": " + HIDDEN + ",\n"
                + "  \"intermediate_size\": " + FFN + ",\n  \"num_hidden_layers\": " + LAYERS + ",\n"
                + "  \"num_attention_heads\": " + HEADS + ",\n  \"num_key_value_heads\": " + KV_HEADS + ",\n"
                + "  \"head_dim\": " + HEAD_DIM + ",\n  \"rms_norm_eps\": 1e-6,\n  \"rope_theta\": 10000.0,\n"
                + "  \"max_position_embeddings\": 512,\n  \"tie_word_embeddings\": false,\n"
                + "  \"torch_dtype\": \"float32\",\n  \"bos_token_id\": 0,\n  \"eos_token_id\": 1\n}\n";
    }

    private static String tokenizer() {
        StringBuilder vocab = new StringBuilder();
        for (int t = 0; t < VOCAB; t++) {
            vocab.append(t == 0 ? "" : ", ")
                    .append('"')
                    .append(t < 16 ? "a" + t : "b" + (t - 16))
                    .append("\": ")
                    .append(t);
        }
        vocab.append(", \"[UNK]\": ").append(VOCAB);
        return "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [],"
                + " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, \"post_processor\": null,"
                + " \"decoder\": null, \"model\": {\"type\": \"WordLevel\", \"vocab\": {" + vocab + "},"
                + " \"unk_token\": \"[UNK]\"}}";
    }

    private static void put(
            Map<String, float[]> data, Map<String, long[]> shapes, String name, float[] v, long... shape) {
        data.put(name, v);
        shapes.put(name, shape);
    }

    private static float[] random(Random rnd, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        return v;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    private static void zeroRows(float[] m, int cols, int... rows) {
        for (int r : rows) java.util.Arrays.fill(m, r * cols, r * cols + cols, 0f);
    }

    static boolean contains(int[] a, int k) {
        for (int x : a) if (x == k) return true;
        return false;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
