package io.cusprun.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cusprun.prune.Granularity;
import io.cusprun.report.JsonTable;
import io.cusprun.report.ResultsTable;
import java.util.Arrays;

/** A comparison's results as JSON ({@link Comparison.Result#toJson}): the settings around the results table's rows. */
final class ComparisonJson {
    private ComparisonJson() {}

    static ObjectNode of(Comparison.Result result) {
        ComparisonSpec spec = result.spec();
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("model", spec.model().toString());
        ArrayNode corpora = root.putArray("expert_corpora");
        spec.expertCorpora().forEach(c -> corpora.add(c.kind().label() + ":" + c.name()));
        root.put("mode", spec.prune().mode().label());
        root.put(
                "granularity",
                spec.prune().chosenGranularity().map(Granularity::label).orElse("default"));
        root.put("head_unit", spec.prune().headUnit().label());
        root.put("doc_quantile", spec.prune().docQuantile());
        root.put("head_rule", spec.prune().headRule().label());
        ResultsTable table = result.table();
        root.set("unpruned", JsonTable.row(table, table.rows().get(0), "vs_cusprun"));
        if (spec.repeats() > 1) {
            root.put("repeats", spec.repeats());
            root.put("seed", spec.prune().seed());
        }
        ArrayNode rows = root.putArray("rows");
        for (int i = 1; i < table.rows().size(); i++) {
            rows.add(JsonTable.row(table, table.rows().get(i), "vs_cusprun"));
        }
        if (!result.dimensionStudy().isEmpty()) {
            ObjectNode study = root.putObject("dimension_study");
            study.put("ratio", result.dimensionStudy().get(0).requestedRatio());
            ArrayNode studyRows = study.putArray("rows");
            ResultsTable dims = result.dimensionTable();
            for (ResultsTable.Row r : dims.rows()) {
                ObjectNode o = JsonTable.row(dims, r, "vs_all");
                o.remove("method");
                ArrayNode names = mapper.createArrayNode();
                Arrays.stream(r.label().split(" \\+ ")).forEach(names::add);
                o.set("dimensions", names);
                studyRows.add(o);
            }
        }
        if (!result.vocabulary().isEmpty()) {
            ArrayNode vocab = root.putArray("vocabulary_trim");
            for (Comparison.VocabularyRow r : result.vocabulary()) {
                ObjectNode o = vocab.addObject();
                o.put("model", r.label());
                o.put("ratio", r.ratio());
                o.put("vocabulary", r.vocabulary());
                o.put("parameters", r.parameters());
                JsonTable.putFinite(o, "expert_bits_per_byte", r.expertBitsPerByte());
                JsonTable.putFinite(o, "general_bits_per_byte", r.generalBitsPerByte());
                JsonTable.putFinite(o, "expert_perplexity", r.expertPerplexity());
                JsonTable.putFinite(o, "general_perplexity", r.generalPerplexity());
            }
        }
        String none = ComparisonText.noHeadsNote(result);
        if (none != null) root.put("note", none);
        return root;
    }
}
