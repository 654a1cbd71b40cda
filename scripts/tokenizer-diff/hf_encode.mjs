// Encodes every string of a JSON array with Hugging Face's tokenizers (Rust, through its Node
// binding) and writes the id arrays as JSON: node hf_encode.mjs tokenizer.json cases.json out.json
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';

const { Tokenizer } = createRequire(import.meta.url)('tokenizers');
const [tokenizerPath, casesPath, outPath] = process.argv.slice(2);
const tokenizer = Tokenizer.fromString(readFileSync(tokenizerPath, 'utf8'));
const out = [];
for (const text of JSON.parse(readFileSync(casesPath, 'utf8'))) {
  const encoding = await tokenizer.encode(text, null, { addSpecialTokens: false });
  out.push(encoding.getIds());
}
writeFileSync(outPath, JSON.stringify(out));
