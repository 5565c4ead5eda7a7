package io.cusprun.bench;

import io.cusprun.corpus.DocumentReader;
import io.cusprun.model.Batch;
import io.cusprun.model.LlamaModel;
import io.cusprun.model.LoadOptions;
import io.cusprun.model.SafetensorsWriter;
import io.cusprun.model.Tensors;
import io.cusprun.model.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;

/**
 * Inputs of the GPU check's transformers comparison (cuda/check_transformers.py): held-out token
 * ids and the logits cusprun computes for them, one safetensors file per model.
 *
 * <pre>
 * java -cp 'benchmarks/target/benchmarks.jar:benchmarks/target/lib/*' io.cusprun.bench.GpuCheckInputs \
 *     --tokenizer data/demo-model --max-tokens 64 \
 *     --text data/corpora/eval/expert_de_technical_qa.jsonl:2 --text data/corpora/eval/general.jsonl:2 \
 *     --model unpruned=data/demo-model --model sliced-35=out/sliced-35 --out out/logits
 * </pre>
 *
 * Each document is tokenised as the evaluation does (BOS first when the tokenizer adds it), cut to
 * {@code --max-tokens} and run on its own (positions from 0, causal attention within the
 * document), in fp32 on the CPU: bf16 checkpoints are converted to fp32 at load. Writes
 * {@code OUT/NAME.safetensors} with {@code input_ids} I64 [total], {@code doc_offsets} I64
 * [docs + 1] and {@code logits} F32 [total, vocab] (rows of the documents end to end); metadata
 * names the model folder. Documents are the first N of each file with at least 8 tokens.
 */
public final class GpuCheckInputs {
    private static final int MIN_TOKENS = 8;

    private GpuCheckInputs() {}

    public static void main(String[] args) throws IOException {
        io.cusprun.engine.CpuRuntime.configure(); // the shipped native libraries, before any tensor
        Path tokenizerDir = null;
        Path out = null;
        int maxTokens = 64;
        List<String> texts = new ArrayList<>();
        Map<String, Path> models = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--tokenizer" -> {
                    tokenizerDir = Path.of(need(a, v));
                    i++;
                }
                case "--out" -> {
                    out = Path.of(need(a, v));
                    i++;
                }
                case "--max-tokens" -> {
                    maxTokens = Integer.parseInt(need(a, v));
                    i++;
                }
                case "--text" -> {
                    texts.add(need(a, v));
                    i++;
                }
                case "--model" -> {
                    String m = need(a, v);
                    int eq = m.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("--model NAME=DIR, got " + m);
                    models.put(m.substring(0, eq), Path.of(m.substring(eq + 1)));
                    i++;
                }
                default ->
                    throw new IllegalArgumentException("unknown argument " + a
                            + " (--tokenizer DIR --out DIR --max-tokens N --text FILE:N... --model NAME=DIR...)");
            }
        }
        if (tokenizerDir == null || out == null || texts.isEmpty() || models.isEmpty()) {
            throw new IllegalArgumentException("need --tokenizer, --out, at least one --text and one --model");
        }
        List<long[]> docs = documents(tokenizerDir, texts, maxTokens);
        long[] offsets = new long[docs.size() + 1];
        for (int i = 0; i < docs.size(); i++) offsets[i + 1] = offsets[i] + docs.get(i).length;
        long[] ids = Batch.pack(docs).tokens();
        System.err.printf(
                Locale.ROOT,
                "gpu-check inputs: %d documents, %d tokens, lengths %s%n",
                docs.size(),
                ids.length,
                Arrays.toString(docs.stream().mapToInt(d -> d.length).toArray()));
        Files.createDirectories(out);
        for (Map.Entry<String, Path> e : models.entrySet()) {
            writeLogits(e.getKey(), e.getValue(), docs, ids, offsets, out.resolve(e.getKey() + ".safetensors"));
        }
    }

    private static String need(String option, String value) {
        if (value == null) throw new IllegalArgumentException(option + " needs a value");
        return value;
    }

    /** The first N documents of each FILE:N with at least MIN_TOKENS tokens, cut to maxTokens. */
    static List<long[]> documents(Path tokenizerDir, List<String> texts, int maxTokens) throws IOException {
        List<long[]> docs = new ArrayList<>();
        try (TextTokenizer tok = TextTokenizer.load(tokenizerDir)) {
            for (String t : texts) {
                int colon = t.lastIndexOf(':');
                if (colon <= 0) throw new IllegalArgumentException("--text FILE:N, got " + t);
                Path file = Path.of(t.substring(0, colon));
                int n = Integer.parseInt(t.substring(colon + 1));
                int taken = 0;
                for (String text : DocumentReader.read(file, 0)) {
                    if (taken == n) break;
                    long[] ids = tok.encode(text, true);
                    if (ids.length < MIN_TOKENS) continue;
                    docs.add(ids.length > maxTokens ? Arrays.copyOf(ids, maxTokens) : ids);
                    taken++;
                }
                if (taken < n)
                    throw new IOException(file + ": only " + taken + " documents of >= " + MIN_TOKENS + " tokens");
            }
        }
        return docs;
    }

    private static void writeLogits(
            String name, Path modelDir, List<long[]> docs, long[] ids, long[] offsets, Path file) throws IOException {
        long start = System.nanoTime();
        try (LlamaModel model = LlamaModel.load(modelDir, LoadOptions.DEFAULTS);
                PointerScope scope = new PointerScope();
                NoGradGuard noGrad = new NoGradGuard()) {
            int vocab = model.config().vocabSize();
            float[] logits = new float[Math.multiplyExact(ids.length, vocab)];
            float maxAbs = 0;
            for (int i = 0; i < docs.size(); i++) {
                float[] l;
                try (PointerScope docScope = new PointerScope()) {
                    l = Tensors.toFloats(model.logits(Batch.of(docs.get(i))));
                }
                if (l.length != docs.get(i).length * vocab) {
                    throw new IllegalStateException(
                            name + ": logits of document " + i + " have " + l.length + " values");
                }
                for (float x : l) {
                    if (!Float.isFinite(x))
                        throw new IllegalStateException(name + ": non-finite logit in document " + i);
                    maxAbs = Math.max(maxAbs, Math.abs(x));
                }
                System.arraycopy(l, 0, logits, (int) offsets[i] * vocab, l.length);
            }
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("input_ids", Tensors.ofLongs(ids, ids.length));
            tensors.put("doc_offsets", Tensors.ofLongs(offsets, offsets.length));
            tensors.put("logits", Tensors.ofFloats(logits, ids.length, vocab));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("model", name);
            meta.put("model_dir", modelDir.getFileName().toString());
            meta.put(
                    "producer",
                    "cusprun GpuCheckInputs (LlamaModel.logits, fp32 compute on the CPU, one document per call)");
            SafetensorsWriter.writeFile(file, tensors, meta);
            System.err.printf(
                    Locale.ROOT,
                    "  %-12s %s: logits [%d, %d], max |logit| %.3f, %.1f s -> %s%n",
                    name,
                    modelDir,
                    ids.length,
                    vocab,
                    maxAbs,
                    (System.nanoTime() - start) / 1e9,
                    file);
        }
    }
}
