// Compares the llama.cpp results (JSON lines from check.mjs) with cusprun's perplexities and prints
// the table; exits 1 when tokenization differs or a perplexity is outside its tolerance.
// usage: node table.mjs RESULTS.jsonl CUSPRUN.json   (CUSPRUN.json: {"<model>": {"perplexity", "tokens"}})
import fs from "node:fs";

const results = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(l => JSON.parse(l));
const cusprun = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const tolerance = {f32: 1e-3, f16: 1e-2, bf16: 1e-2, q8_0: Infinity};
let failed = false;
console.log(`\nllama.cpp ${results[0].llamaCpp.repo} ${results[0].llamaCpp.release} (node-llama-cpp, CPU)`);
console.log("| model | dtype | GGUF size | ppl cusprun | ppl llama.cpp | rel. diff | tokens | tokenization |");
console.log("|---|---|---:|---:|---:|---:|---:|---|");
for (const r of results) {
    const m = r.model.match(/([^/]+)-(f32|f16|bf16|q8_0)\.gguf$/);
    const [name, dtype] = [m[1], m[2]];
    const ref = cusprun[name];
    const rel = Math.abs(r.perplexity - ref.perplexity) / ref.perplexity;
    const size = (fs.statSync(r.model).size / 1e6).toFixed(1) + " MB";
    const ok = rel <= tolerance[dtype] && r.tokens === ref.tokens && r.tokenizationMismatches === 0;
    failed ||= !ok;
    const tok = r.tokenized === 0 ? `not compared (random ids)` : r.tokenizationMismatches === 0 ? `identical (${r.docs} docs)` :
        `${r.tokenizationMismatches} docs differ, first: ${JSON.stringify(r.firstMismatch)}`;
    console.log(`| ${name} | ${dtype} | ${size} | ${ref.perplexity.toFixed(4)} | ${r.perplexity.toFixed(4)} | ` +
        `${rel.toExponential(1)}${ok ? "" : " FAIL"} | ${r.tokens}${r.tokens === ref.tokens ? "" : " vs " + ref.tokens} | ${tok} |`);
}
if (results.some(r => r.continuation !== null)) console.log("\nGreedy continuations (llama.cpp, f32):");
for (const r of results.filter(r => r.model.endsWith("-f32.gguf") && r.continuation !== null)) {
    console.log(`  ${r.model.split("/").pop()}: ${JSON.stringify(r.continuation)}`);
}
if (failed) {
    console.log("\nFAILED: tokenization differs or a perplexity is outside its tolerance (f32 0.1%, f16/bf16 1%)");
    process.exit(1);
}
console.log("\nOK: identical tokenization; perplexity within 0.1% (f32) and 1% (f16, bf16)");
