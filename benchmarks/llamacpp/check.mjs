// llama.cpp side of the GGUF export check (run by check.sh, from a folder beside node_modules).
// usage: node check.mjs DOCS.json MAX_TOKENS PROMPT MODEL.gguf...
// For each GGUF: tokenizes every document's text without special tokens and compares with
// cusprun's ids; scores the log-likelihood of every token after the first of [BOS] + cusprun's
// ids cut to MAX_TOKENS (the same sequences `cusprun eval --ids` scores); greedily continues PROMPT.
// Documents with "text": null are only scored. An empty PROMPT skips the continuation.
// Prints one JSON object per model.
import fs from "node:fs";
import {getLlama, LlamaCompletion} from "node-llama-cpp";

const [docsFile, maxTokensArg, prompt, ...models] = process.argv.slice(2);
const maxTokens = Number(maxTokensArg);
const docs = JSON.parse(fs.readFileSync(docsFile, "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const release = llama.llamaCppRelease;

for (const file of models) {
    const model = await llama.loadModel({modelPath: file});
    let mismatched = 0;
    let firstMismatch = null;
    for (const [i, d] of docs.entries()) {
        if (d.text === null) {
            continue; // ids only (fixtures.mjs): nothing to tokenize
        }
        const ids = Array.from(model.tokenize(d.text, false));
        const same = ids.length === d.ids.length && ids.every((t, j) => t === d.ids[j]);
        if (!same) {
            mismatched++;
            if (firstMismatch === null) {
                const at = ids.findIndex((t, j) => t !== d.ids[j]);
                firstMismatch = {doc: i, at, llamacpp: ids.slice(Math.max(0, at - 2), at + 4),
                    cusprun: d.ids.slice(Math.max(0, at - 2), at + 4)};
            }
        }
    }
    const context = await model.createContext({contextSize: maxTokens + 64, batchSize: maxTokens + 64,
        sequences: 1, threads: 2});
    const sequence = context.getSequence();
    let logLikelihood = 0;
    let scored = 0;
    for (const d of docs) {
        const ids = (d.bos === null ? d.ids : [d.bos, ...d.ids]).slice(0, maxTokens);
        await sequence.clearHistory();
        const res = await sequence.controlledEvaluate(ids.map(t => [t, {generateNext: {probabilities: true}}]));
        for (let j = 0; j + 1 < ids.length; j++) {
            const p = res[j].next.probabilities.get(ids[j + 1]) ?? 0;
            logLikelihood += Math.log(p);
            scored++;
        }
    }
    await sequence.clearHistory();
    const continuation = prompt === "" ? null
        : await new LlamaCompletion({contextSequence: sequence}).generateCompletion(prompt, {maxTokens: 32, temperature: 0});
    console.log(JSON.stringify({
        model: file, llamaCpp: release, docs: docs.length, tokenized: docs.filter(d => d.text !== null).length, tokenizationMismatches: mismatched, firstMismatch,
        tokens: scored, nll: -logLikelihood / scored, perplexity: Math.exp(-logLikelihood / scored), continuation
    }));
    await context.dispose();
    await model.dispose();
}
await llama.dispose();
