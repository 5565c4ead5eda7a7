package io.cusprun.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cusprun.model.DType;
import io.cusprun.model.TensorInfo;
import io.cusprun.testing.Fixtures;
import io.cusprun.testing.Golden;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommandsTest {

    @TempDir
    Path tmp;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int eval(String... args) {
        return cli("eval", args);
    }

    private int inspect(String... args) {
        return cli("inspect", args);
    }

    private int cli(String command, String... args) {
        String[] line = new String[args.length + 1];
        line[0] = command;
        System.arraycopy(args, 0, line, 1, args.length);
        return Main.run(
                line,
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private JsonNode json() throws IOException {
        return new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
    }

    private static String model(Fixtures.Family f, DType t) {
        return Golden.fixtureDir(Fixtures.spec(f, t)).toString();
    }

    @Test
    void evalTextAndIdsAsJson() throws IOException {
        Path text = tmp.resolve("t.txt");
        Files.writeString(text, "The cat sat on the mat. The dog ran to the big house, and the sun was red.");
        String m = model(Fixtures.Family.MISTRAL, DType.F32);
        assertEquals(
                0,
                eval("--model", m, "--text", text.toString(), "--json", "--max-length", "8", "--stride", "4"),
                err.toString());
        JsonNode r = json();
        assertEquals(Math.exp(r.get("nll").asDouble()), r.get("perplexity").asDouble(), 1e-9);
        assertEquals(21, r.get("tokens").asLong(), "21 words and marks plus BOS; BOS is not scored");
        out.reset();
        Path ids = tmp.resolve("ids.jsonl");
        Files.writeString(ids, "[1, 5, 9, 3]\n[1, 7]\n");
        assertEquals(0, eval("--model", m, "--ids", ids.toString(), "--json"));
        assertEquals(4, json().get("tokens").asLong());
        out.reset();
        assertEquals(0, eval("--model", m, "--ids", ids.toString()));
        assertTrue(out.toString().matches("perplexity [0-9.]+  nll [0-9.]+  tokens 4\\R"), out.toString());
    }

    @Test
    void evalMultipleChoice() throws IOException {
        Path mc = tmp.resolve("mc.jsonl");
        Files.writeString(mc, "{\"context\": \"One, two,\", \"choices\": [\"three\", \"water\"], \"answer\": 0}\n");
        assertEquals(
                0,
                eval("--model", model(Fixtures.Family.QWEN2, DType.BF16), "--mc", mc.toString(), "--json"),
                err.toString());
        JsonNode r = json();
        assertEquals(1, r.get("n").asInt());
        assertTrue(r.has("acc") && r.has("acc_norm"));
    }

    @Test
    void evalErrors() throws IOException {
        assertEquals(2, eval("--model", "x"));
        assertTrue(err.toString().contains("one of --text, --ids or --mc is required"), err.toString());
        err.reset();
        assertEquals(2, eval("--model", "x", "--text", "a", "--ids", "b"));
        err.reset();
        assertEquals(2, eval("--model", "x", "--text", "a", "--max-length", "zero"));
        assertEquals(
                "cusprun eval: --max-length must be an integer in [2, 1000000000], not 'zero'",
                err.toString().strip());
        err.reset();
        Path missing = tmp.resolve("missing.txt");
        assertEquals(1, eval("--model", model(Fixtures.Family.LLAMA2, DType.F32), "--text", missing.toString()));
        assertEquals(
                "cusprun eval: " + missing + ": no such file", err.toString().strip());
        err.reset();
        assertEquals(1, eval("--model", tmp.toString(), "--text", missing.toString()));
        assertEquals(
                "cusprun eval: model directory has no config.json: " + tmp,
                err.toString().strip());
        err.reset();
        Path noModel = tmp.resolve("no-model");
        assertEquals(1, eval("--model", noModel.toString(), "--text", missing.toString()));
        assertEquals(
                "cusprun eval: model directory not found: " + noModel,
                err.toString().strip());
    }

    @Test
    void inspectCountsParameters() throws IOException {
        Fixtures.Spec spec = Fixtures.spec(Fixtures.Family.LLAMA_PRUNED, DType.F32);
        assertEquals(0, inspect("--model", Golden.fixtureDir(spec).toString(), "--json"), err.toString());
        JsonNode r = json();
        long block = 0;
        long total = 0;
        for (var e : Fixtures.shapes(spec).entrySet()) {
            long n = TensorInfo.numel(e.getValue());
            total += n;
            block += e.getKey().startsWith("model.layers.") ? n : 0;
        }
        assertEquals(block, r.get("parameters").get("block").asLong());
        assertEquals(total, r.get("parameters").get("total").asLong());
        assertEquals(
                2L * Fixtures.VOCAB * 32, r.get("parameters").get("embedding").asLong());
        assertEquals(24, r.get("layers").get(1).get("intermediate_size").asInt());
        assertEquals(1, r.get("layers").get(1).get("num_key_value_heads").asInt());
        assertEquals("LlamaForCausalLM", r.get("architecture").asText());
        assertEquals(
                Files.size(Golden.fixtureDir(spec).resolve("model.safetensors")),
                r.get("file_bytes").asLong());
        out.reset();
        assertEquals(0, inspect("--model", model(Fixtures.Family.LLAMA3, DType.BF16)));
        assertTrue(out.toString().contains("tied true") && out.toString().contains("llama3"), out.toString());
        err.reset();
        assertEquals(2, inspect("--json"));
        assertEquals(1, inspect("--model", tmp.toString()));
    }
}
