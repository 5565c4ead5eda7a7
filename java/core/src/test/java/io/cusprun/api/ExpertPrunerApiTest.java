package io.cusprun.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cusprun.OutputPolicy;
import io.cusprun.SettingException;
import io.cusprun.corpus.CorpusSpec;
import io.cusprun.corpus.TokenizedCorpus;
import io.cusprun.eval.PerplexityResult;
import io.cusprun.prune.Method;
import io.cusprun.prune.PrunePlan;
import io.cusprun.prune.PruneSettings;
import io.cusprun.score.PlantedModel;
import io.cusprun.score.ScoreSet;
import io.cusprun.score.ScoreSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library as a Java tool uses it: the output refused before any work with a checked
 * exception in the API's words, score files saved and read back through the pruner, an existing
 * model replaced only when asked, and an evaluation job's limits and windows.
 */
class ExpertPrunerApiTest {
    @TempDir
    Path dir;

    @Test
    void outputIsRefusedBeforeAnyWorkAndScoreFilesRoundTrip() throws Exception {
        Path model = PlantedModel.write(dir.resolve("model"), 5);
        Path de = Files.writeString(dir.resolve("de.txt"), PlantedModel.text(PlantedModel.documents('a', 6, 6, 20, 1)));
        Path existing = Files.createDirectories(dir.resolve("existing"));
        Files.writeString(existing.resolve("notes.txt"), "mine");
        try (ExpertPruner pruner = ExpertPruner.open(model)) {
            assertTrue(IOException.class.isAssignableFrom(OutputPolicy.RefusedException.class), "a checked exception");
            OutputPolicy.RefusedException refused = assertThrows(
                    OutputPolicy.RefusedException.class, () -> pruner.checkOutput(existing, ExistingOutput.REFUSE));
            assertTrue(refused.getMessage().contains(existing.toString()), refused.getMessage());
            assertTrue(refused.getMessage().contains("ExistingOutput.REPLACE"), refused.getMessage());
            assertFalse(refused.getMessage().contains("--force"), "the library's words: " + refused.getMessage());
            assertTrue(refused.cliMessage().contains("use --force"), refused.cliMessage());
            // replacing is asked for, but the folder is not one cusprun wrote: still refused
            assertThrows(
                    OutputPolicy.RefusedException.class, () -> pruner.checkOutput(existing, ExistingOutput.REPLACE));
            assertThrows(OutputPolicy.RefusedException.class, () -> pruner.checkOutput(model, ExistingOutput.REPLACE));
            assertEquals("mine", Files.readString(existing.resolve("notes.txt")), "nothing was touched");

            List<TokenizedCorpus> docs = pruner.tokenize(
                    List.of(CorpusSpec.parse("language:de=" + de)), ScoreSettings.DEFAULTS.withMaxTokens(64));
            ScoreSet scores = pruner.scoreTokenized(docs, ScoreSettings.DEFAULTS.withMaxTokens(64));
            Path file = pruner.saveScores(scores, dir.resolve("de.scores"), ExistingOutput.REFUSE);
            assertTrue(
                    pruner.readScores(List.of(file))
                            .get(0)
                            .sameAs(scores.corpora().get(0)),
                    "read back bit for bit");
            assertThrows(
                    OutputPolicy.RefusedException.class,
                    () -> pruner.saveScores(scores, file, ExistingOutput.REFUSE),
                    "an existing score file is kept");
            assertEquals(file, pruner.saveScores(scores, file, ExistingOutput.REPLACE), "ours: replaced when asked");

            // a pruned model written once is replaced only when asked
            PruneSettings settings = PruneSettings.DEFAULTS.withRatio(0.3);
            PrunePlan plan = pruner.plan(
                    pruner.statistics(
                            Method.CUSPRUN, PruneData.scored(scores.corpora()).withDocuments(docs), settings),
                    settings);
            Path out = pruner.checkOutput(dir.resolve("expert"), ExistingOutput.REFUSE);
            WriteOptions write = WriteOptions.of(
                            pruner.provenance(PruneData.scored(scores.corpora()).withScoreFiles(List.of(file))))
                    .withDocuments(docs); // the default refits the kept weights on them
            pruner.write(plan, out, write);
            assertTrue(Files.readString(out.resolve("cusprun-manifest.json")).contains("de.scores"));
            assertThrows(OutputPolicy.RefusedException.class, () -> pruner.write(plan, out, write));
            pruner.write(plan, out, write.withExisting(ExistingOutput.REPLACE));

            // the evaluation job: the window is the asked length at most the model's context; a stride
            // past the window is a setting error; the perplexity equals the evaluator's own convenience
            EvalJob job = EvalJob.of(out).withMaxLength(OptionalInt.of(16));
            assertEquals(16, job.window(job.config()));
            assertEquals(8, job.stride(16));
            assertThrows(SettingException.class, () -> job.withStride(OptionalInt.of(17)));
            assertThrows(
                    SettingException.class,
                    () -> EvalJob.of(out).withStride(OptionalInt.of(1 << 20)).stride(16));
            List<String> held = ModelEvaluator.readDocuments(de, OptionalInt.of(3));
            assertEquals(3, held.size());
            PerplexityResult viaJob;
            try (ModelEvaluator ev = job.open()) {
                viaJob = ev.perplexity(held);
            }
            try (ModelEvaluator ev = ModelEvaluator.open(out, 16)) {
                assertEquals(viaJob.nll(), ev.perplexity(held).nll(), 0.0);
            }
            try (ModelEvaluator ev = job.withStride(OptionalInt.of(16)).open()) {
                assertEquals(16, ev.stride());
                assertTrue(Double.isFinite(ev.perplexity(held).perplexity()));
            }
            // a comparison's report folder is checked the same way, before the comparison runs
            ComparisonSpec spec = ComparisonSpec.DEFAULTS
                    .withModel(model)
                    .withExpertCorpora(List.of(CorpusSpec.parse("language:de=" + de)))
                    .withEvalExpert(de)
                    .withEvalGeneral(de);
            OutputPolicy.RefusedException report = assertThrows(
                    OutputPolicy.RefusedException.class,
                    () -> Comparison.checkReport(spec, existing, ExistingOutput.REPLACE),
                    "not a report cusprun wrote");
            assertTrue(report.getMessage().contains(existing.toString()), report.getMessage());
            assertThrows(
                    OutputPolicy.RefusedException.class,
                    () -> Comparison.checkReport(spec, dir, ExistingOutput.REPLACE),
                    "a folder holding the inputs");
            assertEquals(
                    dir.resolve("report").toAbsolutePath(),
                    Comparison.checkReport(spec, dir.resolve("report"), ExistingOutput.REFUSE));
            IOException missing = assertThrows(
                    IOException.class, () -> EvalJob.of(dir.resolve("none")).open());
            assertEquals("model directory not found: " + dir.resolve("none"), missing.getMessage());
        }
    }
}
