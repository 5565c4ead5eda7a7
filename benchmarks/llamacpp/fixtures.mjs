// Prepares the committed test fixtures (tiny random models of every family) for the llama.cpp
// check: copies each into OUT/NAME with its WordLevel tokenizer (which llama.cpp has no
// equivalent of) rewritten as a byte-level BPE tokenizer over the same vocabulary (Llama 3 / Qwen2
// split regex, else GPT-2's; the fixtures' 64 ids leave no room for the 256 byte tokens a
// SentencePiece-style vocabulary needs, and only the weights are compared here), and writes random
// token ids (seeded) as OUT/NAME/ids.jsonl (for cusprun eval --ids) and OUT/NAME/docs.json
// (for check.mjs, without texts: only the scores are compared).
// usage: node fixtures.mjs FIXTURES_DIR OUT_DIR
import fs from "node:fs";
import path from "node:path";

const [src, out] = process.argv.slice(2);
const LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2 = LLAMA3.replace("\\p{N}{1,3}", "\\p{N}");
let seed = 42;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;

for (const name of fs.readdirSync(src).sort()) {
    const dir = path.join(out, name);
    fs.mkdirSync(dir, {recursive: true});
    for (const f of ["config.json", "model.safetensors", "tokenizer_config.json"]) {
        fs.copyFileSync(path.join(src, name, f), path.join(dir, f));
    }
    const tok = JSON.parse(fs.readFileSync(path.join(src, name, "tokenizer.json"), "utf8"));
    const split = name.startsWith("llama3") ? LLAMA3 : name.startsWith("qwen2") ? QWEN2 : null;
    tok.normalizer = null;
    tok.model = {type: "BPE", dropout: null, unk_token: null, byte_fallback: false, vocab: tok.model.vocab, merges: []};
    tok.pre_tokenizer = split ? {type: "Sequence", pretokenizers: [
        {type: "Split", pattern: {Regex: split}, behavior: "Isolated", invert: false},
        {type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false}]}
        : {type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true};
    fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tok));
    const config = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
    // Mistral's fixture has a 6-token sliding window, which llama.cpp does not have: stay inside it
    const length = config.sliding_window && !("use_sliding_window" in config) ? config.sliding_window : 48;
    const docs = [];
    for (let d = 0; d < 4; d++) {
        docs.push({text: null, bos: null, ids: Array.from({length}, () => 3 + Math.floor(random() * 60))});
    }
    fs.writeFileSync(path.join(dir, "ids.jsonl"), docs.map(d => JSON.stringify(d.ids)).join("\n") + "\n");
    fs.writeFileSync(path.join(dir, "docs.json"), JSON.stringify(docs));
}
