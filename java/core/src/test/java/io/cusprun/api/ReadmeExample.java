package io.cusprun.api;

// README:begin
import io.cusprun.api.ExpertPruner;
import io.cusprun.api.ModelEvaluator;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.prune.Method;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.prune.PruneStatistics;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import java.nio.file.Path;
import java.util.List;

/** Prunes a model into a German + technical expert and reports its held-out perplexity. */
public class ReadmeExample {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        Path out = Path.of(args[3]);
        ExpertPruner pruner = ExpertPruner.open(model);

        // 1. relevance of every FFN neuron, head and KV group on each dimension's documents
        List<TokenizedCorpus> documents = pruner.tokenize(List.of(
                CorpusSpec.parse("language:de=" + args[1]),
                CorpusSpec.parse("domain:technical=" + args[2])), ScoreSettings.DEFAULTS);
        ScoreSet scores = pruner.scoreTokenized(documents, ScoreSettings.DEFAULTS);

        // 2. cheap to remove for every dimension -> removed first
        PruneSettings settings = PruneSettings.DEFAULTS.withRatio(0.30);
        PruneStatistics stats = pruner.statistics(Method.CUSPRUN, scores.corpora(), documents, settings);
        PrunePlan plan = pruner.plan(stats, settings);
        System.out.printf("removing %.1f%% of block parameters%n", 100 * plan.blockRatio());

        // 3. a smaller checkpoint that stock HuggingFace loaders read, the kept weights refitted
        //    on the documents (compensation), with its manifest
        pruner.write(plan, out, pruner.provenance(scores.corpora(), List.of(), List.of()), false, documents);

        // 4. its quality on held-out text
        try (ModelEvaluator eval = ModelEvaluator.open(out, 1024)) {
            List<String> heldOut = ModelEvaluator.readDocuments(Path.of(args[4]), java.util.OptionalInt.empty());
            System.out.println("perplexity " + eval.perplexity(heldOut).perplexity());
        }
    }
}
// README:end
