package io.cusprun.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.model.Checkpoint;
import io.cusprun.model.CheckpointLayout;
import io.cusprun.model.LayerSize;
import io.cusprun.model.ModelConfig;
import io.cusprun.model.SafetensorsFile;
import io.cusprun.model.TensorInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;

/**
 * {@code inspect --model DIR [--json]}: architecture, per-layer sizes, parameter counts (block,
 * embedding, total, from the safetensors headers; no weights are read), dtypes and file sizes.
 * The checkpoint must match config.json as loading requires ({@link CheckpointLayout#check}).
 */
public final class InspectCommand implements Command {
    static final String NAME = "inspect";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String summary() {
        return "describe a checkpoint: architecture, sizes, parameters, files";
    }

    @Override
    public String description() {
        return "Describes a model checkpoint.";
    }

    @Override
    public Options options() {
        Options o = new Options();
        o.addOption(Cli.option("model", "DIR", "model directory: config.json and *.safetensors"));
        o.addOption(Cli.flag("json", "print one JSON object"));
        o.addOption(Cli.helpOption());
        return o;
    }

    @Override
    public int execute(CommandLine cl, Console console) throws IOException {
        Path dir = Path.of(Cli.required(cl, "model"));
        ModelConfig config = ModelConfig.read(dir);
        ObjectNode report;
        try (Checkpoint ck = Checkpoint.open(dir)) {
            CheckpointLayout.check(config, ck); // the same check as loading: inspect accepts what eval loads
            report = report(dir, config, ck);
        }
        console.out().println(cl.hasOption("json") ? report.toString() : text(report));
        return Cli.OK;
    }

    /** The facts as a JSON object (the --json output). */
    static ObjectNode report(Path dir, ModelConfig c, Checkpoint ck) throws IOException {
        ObjectNode r = new ObjectMapper().createObjectNode();
        r.put("model", dir.toString());
        r.put("architecture", c.architecture().hfName());
        r.put("hidden_size", c.hiddenSize());
        r.put("num_hidden_layers", c.numHiddenLayers());
        r.put("vocab_size", c.vocabSize());
        r.put("head_dim", c.headDim());
        r.put("tie_word_embeddings", c.tieWordEmbeddings());
        r.put("rope_theta", c.ropeTheta());
        r.put("rope_scaling", c.ropeScaling().type());
        r.put("torch_dtype", c.torchDtype().torchName());
        r.put("uniform_layers", c.isUniform());
        long block = 0;
        long embedding = 0;
        long other = 0;
        long[] perLayer = new long[c.numHiddenLayers()];
        Map<String, Long> dtypes = new TreeMap<>();
        for (String name : ck.tensorNames()) {
            TensorInfo t = ck.info(name);
            if (name.equals("lm_head.weight") && c.tieWordEmbeddings()) {
                continue; // the same parameters as the embedding
            }
            dtypes.merge(t.dtype().safetensorsName(), t.numel(), Long::sum);
            if (name.startsWith("model.layers.")) {
                block += t.numel();
                int layer = Integer.parseInt(
                        name.substring("model.layers.".length(), name.indexOf('.', "model.layers.".length())));
                if (layer >= 0 && layer < perLayer.length) {
                    perLayer[layer] += t.numel();
                }
            } else if (name.equals("model.embed_tokens.weight") || name.equals("lm_head.weight")) {
                embedding += t.numel();
            } else {
                other += t.numel();
            }
        }
        ObjectNode params = r.putObject("parameters");
        params.put("block", block)
                .put("embedding", embedding)
                .put("other", other)
                .put("total", block + embedding + other);
        ObjectNode dt = r.putObject("parameters_by_dtype");
        dtypes.forEach(dt::put);
        ArrayNode layers = r.putArray("layers");
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            LayerSize s = c.layer(i);
            layers.addObject()
                    .put("layer", i)
                    .put("intermediate_size", s.intermediateSize())
                    .put("num_attention_heads", s.numAttentionHeads())
                    .put("num_key_value_heads", s.numKeyValueHeads())
                    .put("parameters", perLayer[i]);
        }
        ArrayNode files = r.putArray("files");
        long bytes = 0;
        for (SafetensorsFile f : ck.files()) {
            files.addObject()
                    .put("name", f.path().getFileName().toString())
                    .put("bytes", f.header().fileSize())
                    .put("tensors", f.header().tensors().size());
            bytes += f.header().fileSize();
        }
        r.put("file_bytes", bytes);
        return r;
    }

    private static String text(ObjectNode r) {
        StringBuilder b = new StringBuilder();
        ObjectNode p = (ObjectNode) r.get("parameters");
        b.append(String.format(
                "%s  %s%n", r.get("model").asText(), r.get("architecture").asText()));
        b.append(String.format(
                "hidden %d  layers %d  vocab %d  head_dim %d  tied %s  rope %s (theta %s)  dtype %s%n",
                r.get("hidden_size").asInt(),
                r.get("num_hidden_layers").asInt(),
                r.get("vocab_size").asInt(),
                r.get("head_dim").asInt(),
                r.get("tie_word_embeddings").asBoolean(),
                r.get("rope_scaling").asText(),
                r.get("rope_theta").asText(),
                r.get("torch_dtype").asText()));
        b.append(String.format(
                "parameters: block %,d  embedding %,d  other %,d  total %,d%n",
                p.get("block").asLong(),
                p.get("embedding").asLong(),
                p.get("other").asLong(),
                p.get("total").asLong()));
        b.append("by dtype: ").append(r.get("parameters_by_dtype").toString()).append(System.lineSeparator());
        b.append(String.format("%5s %12s %6s %6s %14s%n", "layer", "ffn", "heads", "kv", "parameters"));
        for (var l : r.get("layers")) {
            b.append(String.format(
                    "%5d %12d %6d %6d %,14d%n",
                    l.get("layer").asInt(),
                    l.get("intermediate_size").asInt(),
                    l.get("num_attention_heads").asInt(),
                    l.get("num_key_value_heads").asInt(),
                    l.get("parameters").asLong()));
        }
        for (var f : r.get("files")) {
            b.append(String.format(
                    "file %s  %,d bytes  %d tensors%n",
                    f.get("name").asText(),
                    f.get("bytes").asLong(),
                    f.get("tensors").asInt()));
        }
        return b.toString().stripTrailing();
    }
}
