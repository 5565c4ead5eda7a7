package io.cusprun.cli.check;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.corpus.DocumentReader;
import io.cusprun.model.TextTokenizer;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The llama.cpp check's cusprun side of tokenization (benchmarks/llamacpp/check.sh):
 * {@code java -cp cusprun.jar io.cusprun.cli.check.TokenIds MODEL_DIR DOCS.jsonl N MAX_TOKENS OUT_DIR}
 * reads the first N {"text"} documents, tokenizes each with cusprun's tokenizer and writes
 * {@code OUT_DIR/docs.json} (text, ids without BOS, bos: the BOS id or null) for the Node side
 * and {@code OUT_DIR/ids.jsonl} (BOS + ids cut to MAX_TOKENS) for {@code cusprun eval --ids}.
 */
public final class TokenIds {

    private TokenIds() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 5) {
            System.err.println("usage: TokenIds MODEL_DIR DOCS.jsonl N MAX_TOKENS OUT_DIR");
            System.exit(2);
        }
        Path model = Path.of(args[0]);
        int n = Integer.parseInt(args[2]);
        List<String> texts = DocumentReader.read(Path.of(args[1]), n); // the same reader as eval and score
        int max = Integer.parseInt(args[3]);
        Path out = Path.of(args[4]);
        Files.createDirectories(out);
        ObjectMapper json = new ObjectMapper();
        ArrayNode docs = json.createArrayNode();
        try (TextTokenizer tok = TextTokenizer.load(model);
                BufferedWriter ids = Files.newBufferedWriter(out.resolve("ids.jsonl"), StandardCharsets.UTF_8)) {
            for (String text : texts) {
                long[] plain = tok.encode(text);
                long[] withBos = tok.encode(text, true);
                ObjectNode d = docs.addObject();
                d.put("text", text);
                ArrayNode a = d.putArray("ids");
                for (long id : plain) {
                    a.add(id);
                }
                if (withBos.length > plain.length) {
                    d.put("bos", withBos[0]);
                } else {
                    d.putNull("bos");
                }
                ArrayNode cut = json.createArrayNode();
                for (int i = 0; i < Math.min(max, withBos.length); i++) {
                    cut.add(withBos[i]);
                }
                ids.write(cut.toString());
                ids.newLine();
            }
        }
        Files.writeString(out.resolve("docs.json"), docs.toString(), StandardCharsets.UTF_8);
        System.err.println("tokenized " + docs.size() + " documents with cusprun -> " + out);
    }
}
