// response_format against `parley serve` with a random-weight synthetic model, checked with a real
// JSON Schema validator (python3-jsonschema, through tests/grammar/validate_samples.py):
// - every schema of the grammar corpus (tests/grammar/schemas) and a set of bounded schemas below,
//   several seeds each, on /v1/chat/completions and /v1/completions, streamed and not;
// - a reply that ends with "stop" parses and validates against its schema; "length" only when
//   max_tokens ran out (completion_tokens == max_tokens);
// - the bounded schemas fit in max_tokens whatever the model writes, so they always end with
//   "stop";
// - json_object always gives a JSON object;
// - strict: true with an unsupported keyword is a 400 naming it.
// On two models (tests/sdk/families.mjs): the built-in byte-level vocabulary with ChatML, and the
// Llama 3 vocabulary (128k tokens) with Llama 3.1's template.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { families } from '../sdk/families.mjs';

const model = 'tiny';
const maxTokens = 300;
const corpusDir = 'tests/grammar/schemas';
const validator = 'tests/grammar/validate_samples.py';

// Each of these is at most ~200 tokens of the byte-level vocabulary whatever the model picks
// (strings bounded, arrays bounded, numbers bounded, whitespace bounded by the grammar).
const bounded = {
  flat: { type: 'object', properties: { name: { type: 'string', maxLength: 6 }, ok: { type: 'boolean' } },
    required: ['name', 'ok'], additionalProperties: false },
  integers: { type: 'object', properties: { age: { type: 'integer', minimum: 0, maximum: 120 },
    year: { type: 'integer', minimum: 1900, maximum: 2100 } }, required: ['age', 'year'], additionalProperties: false },
  enums: { type: 'object', properties: { color: { enum: ['red', 'green', 'blue'] }, size: { enum: [1, 2, null] },
    kind: { const: 'shirt' } }, required: ['color', 'size', 'kind'], additionalProperties: false },
  nullable: { type: 'object', properties: { note: { type: ['string', 'null'], maxLength: 4 },
    n: { anyOf: [{ type: 'integer', minimum: -5, maximum: 5 }, { type: 'boolean' }] } }, required: ['note', 'n'],
    additionalProperties: false },
  optional: { type: 'object', properties: { a: { type: 'boolean' }, b: { type: 'boolean' }, c: { type: 'null' } },
    required: ['b'], additionalProperties: false },
  array: { type: 'object', properties: { tags: { type: 'array', items: { type: 'string', maxLength: 3 },
    minItems: 1, maxItems: 3 } }, required: ['tags'], additionalProperties: false },
  tuple: { type: 'array', prefixItems: [{ type: 'integer', minimum: 0, maximum: 9 }, { enum: ['x', 'y'] }],
    items: false },
  nested: { type: 'object', properties: { point: { type: 'object', properties: {
    x: { type: 'integer', minimum: -100, maximum: 100 }, y: { type: 'integer', minimum: -100, maximum: 100 } },
  required: ['x', 'y'], additionalProperties: false }, label: { type: 'string', maxLength: 5 } },
  required: ['point', 'label'], additionalProperties: false },
  refs: { $defs: { flag: { type: 'boolean' }, pair: { type: 'object', properties: { l: { $ref: '#/$defs/flag' },
    r: { $ref: '#/$defs/flag' } }, required: ['l', 'r'], additionalProperties: false } }, type: 'object',
  properties: { first: { $ref: '#/$defs/pair' }, second: { $ref: '#/$defs/pair' } }, required: ['first', 'second'],
  additionalProperties: false },
  formats: { type: 'object', properties: { day: { type: 'string', format: 'date' },
    id: { type: 'string', format: 'uuid' } }, required: ['day', 'id'], additionalProperties: false },
  pattern: { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{3}-[0-9]{2,4}$' } },
    required: ['code'], additionalProperties: false },
  oneof: { oneOf: [{ type: 'object', properties: { cat: { const: true } }, required: ['cat'], additionalProperties: false },
    { type: 'object', properties: { dog: { type: 'integer', minimum: 0, maximum: 3 } }, required: ['dog'],
      additionalProperties: false }] },
  allof: { allOf: [{ type: 'object', properties: { a: { type: 'boolean' } }, required: ['a'] },
    { properties: { b: { enum: ['u', 'v'] } }, required: ['b'] }] },
  lengths: { type: 'object', properties: { s: { type: 'string', minLength: 2, maxLength: 4 } }, required: ['s'],
    additionalProperties: false },
  numbers: { type: 'object', properties: { p: { type: 'number', minimum: 0, maximum: 1 } }, required: ['p'],
    additionalProperties: false },
  string: { type: 'string', maxLength: 10 },
};

const modes = [
  { endpoint: 'chat', stream: false },
  { endpoint: 'chat', stream: true },
  { endpoint: 'completions', stream: false },
  { endpoint: 'completions', stream: true },
];

let server;
let work;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'parley-rf-'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function responseFormat(name, schema, strict = true) {
  return { type: 'json_schema', json_schema: { name, schema, strict } };
}

// One request; returns { text, finish, completionTokens } (streamed: assembled from the chunks).
async function generate({ endpoint, stream }, responseFormat, seed) {
  const body = { model, max_tokens: maxTokens, seed, response_format: responseFormat };
  if (endpoint === 'chat') body.messages = [{ role: 'user', content: 'Answer in JSON.' }];
  else body.prompt = 'JSON:';
  if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
  const res = await fetch(`${server.baseURL}/v1/${endpoint === 'chat' ? 'chat/completions' : 'completions'}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const raw = await res.text();
  assert.equal(res.status, 200, raw);
  if (!stream) {
    const r = JSON.parse(raw);
    const c = r.choices[0];
    return { text: endpoint === 'chat' ? c.message.content : c.text, finish: c.finish_reason,
      completionTokens: r.usage.completion_tokens };
  }
  let text = '';
  let finish = null;
  let completionTokens = null;
  let done = false;
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const data = line.slice(6);
    if (data === '[DONE]') { done = true; continue; }
    const chunk = JSON.parse(data);
    if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
    for (const c of chunk.choices) {
      const piece = endpoint === 'chat' ? c.delta.content : c.text;
      if (typeof piece === 'string') text += piece;
      if (c.finish_reason) {
        assert.equal(finish, null, 'one finish_reason per choice');
        finish = c.finish_reason;
      }
    }
  }
  assert.ok(done, 'the stream ends with [DONE]');
  return { text, finish, completionTokens };
}

// Runs `jobs` (functions returning promises) a few at a time.
async function pool(jobs, width = 4) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }));
  return results;
}

// Validates every sample ({schema: path, text}) with python3-jsonschema; throws with the failures.
function validate(samples, label) {
  const path = join(work, `${label}.json`);
  writeFileSync(path, JSON.stringify(samples));
  try {
    return execFileSync('python3', [validator, path], { stdio: 'pipe' }).toString().trim();
  } catch (e) {
    assert.fail(`${label}: invalid outputs:\n${e.stdout}${e.stderr}`);
  }
}

for (const family of families) {
  describe(`response_format, ${family.name} model`, { skip: family.skip }, () => {
    before(async () => {
      server = await family.start(['--max-running', '8']);
    });

    after(async () => {
      await server?.stop();
    });

    test('bounded schemas: every reply is complete (stop) and valid, chat and completions, streamed and not', async () => {
      const jobs = [];
      for (const [name, schema] of Object.entries(bounded)) {
        const path = join(work, `bounded_${family.name}_${name}.json`);
        writeFileSync(path, JSON.stringify(schema));
        modes.forEach((mode, m) => {
          for (const seed of [1, 2]) {
            jobs.push(async () => ({ name, path, mode, seed,
              ...(await generate(mode, responseFormat(name, schema), seed * 100 + m)) }));
          }
        });
      }
      const results = await pool(jobs);
      for (const r of results) {
        assert.equal(r.finish, 'stop', `${r.name} ${JSON.stringify(r.mode)} seed ${r.seed}: ${r.text}`);
      }
      const summary = validate(results.map((r) => ({ schema: r.path, text: r.text })), `bounded_${family.name}`);
      console.log(`${family.name}: bounded schemas: ${results.length} replies, all "stop"; ${summary}`);
    });

    test('the schema corpus: "stop" replies are valid, "length" only when max_tokens ran out', async () => {
      const files = readdirSync(corpusDir).filter((f) => f.endsWith('.json')).sort();
      assert.ok(files.length >= 40);
      const jobs = [];
      files.forEach((file, i) => {
        const schema = JSON.parse(readFileSync(join(corpusDir, file), 'utf8'));
        modes.forEach((mode, m) => {
          jobs.push(async () => ({ file, mode, ...(await generate(mode, responseFormat('corpus', schema), i * 10 + m)) }));
        });
      });
      const results = await pool(jobs);
      const stopped = [];
      for (const r of results) {
        const label = `${r.file} ${JSON.stringify(r.mode)}`;
        assert.ok(r.finish === 'stop' || r.finish === 'length', `${label}: ${r.finish}`);
        if (r.finish === 'length') {
          assert.equal(r.completionTokens, maxTokens, `${label}: "length" before max_tokens`);
        } else {
          assert.ok(r.completionTokens < maxTokens || r.completionTokens === maxTokens, label);
          stopped.push({ schema: join(corpusDir, r.file), text: r.text });
        }
      }
      // The model has random weights: unbounded strings often run to max_tokens. Enough finish to
      // make the validation meaningful.
      assert.ok(stopped.length * 4 >= results.length, `only ${stopped.length}/${results.length} finished`);
      const summary = validate(stopped, `corpus_${family.name}`);
      console.log(`${family.name}: schema corpus: ${results.length} replies over ${files.length} schemas, ${stopped.length} "stop" ` +
        `(validated: ${summary}), ${results.length - stopped.length} "length" at max_tokens`);
    });

    test('json_object: a JSON object, or "length" at max_tokens', async () => {
      const jobs = [];
      modes.forEach((mode, m) => {
        for (let seed = 1; seed <= 4; ++seed) {
          jobs.push(async () => ({ mode, ...(await generate(mode, { type: 'json_object' }, seed * 10 + m)) }));
        }
      });
      let stopped = 0;
      for (const r of await pool(jobs)) {
        assert.ok(r.text.trimStart().startsWith('{'), r.text);
        if (r.finish === 'length') {
          assert.equal(r.completionTokens, maxTokens);
          continue;
        }
        assert.equal(r.finish, 'stop');
        const v = JSON.parse(r.text);
        assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), r.text);
        ++stopped;
      }
      console.log(`${family.name}: json_object: ${stopped}/${jobs.length} complete objects with "stop", the rest "length" at max_tokens`);
    });

    test('strict: an unsupported keyword is a 400 naming it; without strict it is ignored', async () => {
      const schema = { type: 'object', properties: { n: { type: 'integer', multipleOf: 3 } }, required: ['n'] };
      for (const endpoint of ['chat/completions', 'completions']) {
        const body = { model, max_tokens: 50, response_format: responseFormat('m', schema, true) };
        if (endpoint === 'completions') body.prompt = 'x'; else body.messages = [{ role: 'user', content: 'x' }];
        const res = await fetch(`${server.baseURL}/v1/${endpoint}`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
        });
        const err = (await res.json()).error;
        assert.equal(res.status, 400);
        assert.equal(err.type, 'invalid_request_error');
        assert.equal(err.param, 'response_format');
        assert.match(err.message, /multipleOf/);
        assert.match(err.message, /\/properties\/n\/multipleOf/);
        body.response_format.json_schema.strict = false;
        const ok = await fetch(`${server.baseURL}/v1/${endpoint}`, {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
        });
        assert.equal(ok.status, 200, await ok.text());
      }
    });
  });
}
