package io.cusprun.api;

// README:begin
import io.cusprun.api.EvalJob;
import io.cusprun.api.ExistingOutput;
import io.cusprun.api.ExpertPruner;
import io.cusprun.api.ModelEvaluator;
import io.cusprun.api.PruneData;
import io.cusprun.api.WriteOptions;
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
import java.util.OptionalInt;

/** Prunes a model into a German + technical expert and reports its held-out perplexity. */
public class ReadmeExample {
    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        try (ExpertPruner pruner = ExpertPruner.open(model)) {
            // 0. the output is checked before any work (a checked RefusedException if it exists)
            Path out = pruner.checkOutput(Path.of(args[3]), ExistingOutput.REFUSE);

            // 1. relevance of every FFN neuron, head and KV group on each dimension's documents
            List<TokenizedCorpus> documents = pruner.tokenize(List.of(
                    CorpusSpec.parse("language:de=" + args[1]),
                    CorpusSpec.parse("domain:technical=" + args[2])), ScoreSettings.DEFAULTS);
            ScoreSet scores = pruner.scoreTokenized(documents, ScoreSettings.DEFAULTS);
            pruner.saveScores(scores, Path.of(args[3] + ".scores.safetensors"), ExistingOutput.REPLACE);

            // 2. cheap to remove for every dimension -> removed first
            PruneSettings settings = PruneSettings.DEFAULTS.withRatio(0.30);
            PruneData data = PruneData.scored(scores.corpora()).withDocuments(documents);
            PruneStatistics stats = pruner.statistics(Method.CUSPRUN, data, settings);
            PrunePlan plan = pruner.plan(stats, settings);
            System.out.printf("removing %.1f%% of block parameters%n", 100 * plan.blockRatio());

            // 3. a smaller checkpoint that stock HuggingFace loaders read, the kept weights refitted
            //    on the documents (compensation), with its manifest
            WriteOptions write = WriteOptions.of(pruner.provenance(PruneData.scored(scores.corpora())))
                    .withDocuments(documents);
            pruner.write(plan, out, write);
        }

        // 4. its quality on held-out text
        EvalJob job = EvalJob.of(Path.of(args[3])).withMaxLength(OptionalInt.of(1024));
        try (ModelEvaluator eval = job.open()) {
            List<String> heldOut = ModelEvaluator.readDocuments(Path.of(args[4]), OptionalInt.empty());
            System.out.println("perplexity " + eval.perplexity(heldOut).perplexity());
        }
    }
}
// README:end
