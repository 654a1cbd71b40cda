// Tool calling with the client libraries, against `parley serve` with the random-weight synthetic
// models of families.mjs: with tool_choice "required" or a named function, generation is
// constrained to the family's call syntax and each tool's schema, so whatever the weights every
// library gets well-formed calls whose arguments its own validation (zod) accepts.
//
// - openai: tool_choice required and named, streamed (delta.tool_calls) and not, agreeing; parallel
//   calls with distinct indexes (one call for Llama 3.1, whose template takes one); a tool-result
//   round trip (assistant tool_calls with content null, then role "tool").
// - LangChain JS: bindTools with tool_choice, withStructuredOutput method functionCalling.
// - Vercel AI SDK: generateText with tools (toolChoice required and a named tool).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { generateText, tool } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';
import { families as allFamilies } from './families.mjs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parleyBin, startServer } from '../integration/server.mjs';

// The built-in tool format's block in the system prompt is a thousand bytes, a token each with the
// byte-level vocabulary: the ChatML model (as synthModel makes it) gets a longer context here.
function synthLongChatml(dir) {
  const path = join(dir, 'tiny.gguf');
  execFileSync(parleyBin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', '--layers', '2',
    '--embd', '128', '--heads', '4', '--kv-heads', '2', '--ff', '256', '--ctx', '2048', '--type', 'q8_0',
    '--tie-embeddings', '--seed', '3', '--out', path], { stdio: 'pipe' });
  return path;
}
const families = allFamilies.map((f) =>
  f.name === 'chatml' ? { ...f, start: (args = []) => startServer(args, { synth: synthLongChatml }) } : f,
);

const model = 'tiny';
const maxTokens = 300;

// Bounded, so that a random model always completes a call well within maxTokens.
const Weather = z.object({ city: z.string().max(8), unit: z.enum(['c', 'f']) }).strict();
const Time = z.object({ tz: z.number().int().min(-12).max(14) }).strict();
const Person = z.object({ name: z.string().max(8), age: z.number().int().min(0).max(120) });

const weatherParams = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 8 }, unit: { type: 'string', enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const timeParams = {
  type: 'object',
  properties: { tz: { type: 'integer', minimum: -12, maximum: 14 } },
  required: ['tz'],
  additionalProperties: false,
};
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherParams } },
  { type: 'function', function: { name: 'get_time', description: 'The time in a zone', parameters: timeParams } },
];
const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];

function validate(call) {
  assert.equal(call.type, 'function');
  assert.match(call.id, /^[A-Za-z0-9_]+$/);
  const args = JSON.parse(call.function.arguments);
  const schema = call.function.name === 'get_weather' ? Weather : Time;
  assert.ok(['get_weather', 'get_time'].includes(call.function.name), call.function.name);
  assert.deepEqual(schema.parse(args), args);
}

// A streamed reply reassembled: calls by index (name first, arguments in pieces), and the order
// the libraries rely on (a call's pieces before the finish chunk, indexes 0, 1, ...).
async function collect(stream) {
  const calls = [];
  let content = '';
  let finish = null;
  let pieces = 0;
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    assert.equal(finish, null, 'nothing after the finish chunk');
    content += c.delta.content ?? '';
    for (const t of c.delta.tool_calls ?? []) {
      if (t.id) {
        assert.equal(t.index, calls.length);
        calls.push({ id: t.id, type: t.type, function: { name: t.function.name, arguments: t.function.arguments ?? '' } });
      } else {
        assert.equal(t.index, calls.length - 1);
        calls[t.index].function.arguments += t.function.arguments;
        ++pieces;
      }
    }
    if (c.finish_reason) finish = c.finish_reason;
  }
  return { calls, content, finish, pieces };
}

for (const family of families) {
  describe(`tools, ${family.name} template`, { skip: family.skip }, () => {
    let server;
    let client;
    let aiProvider;
    let langchain;
    const parallel = family.name !== 'llama31';  // Llama 3.1's template takes one call per turn

    before(async () => {
      // Steps sized by the latency target depend on how fast the machine is right now, and a prompt
      // read in other chunks rounds differently: a random model's near-flat logits then pick other
      // tokens for the same seed. These tests compare streamed and whole replies of one seed, so
      // steps are sized by the token budget alone.
      server = await family.start(['--target-itl-ms', '0']);
      client = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
      aiProvider = createOpenAICompatible({ name: 'parley', baseURL: `${server.baseURL}/v1`, apiKey: 'unused' });
      // Seeded like the other requests here: unseeded, a random model's reply changes from run to
      // run, and one full run's withStructuredOutput call ended at max_tokens ('length').
      langchain = new ChatOpenAI({
        model, apiKey: 'unused', maxTokens, maxRetries: 0, configuration: { baseURL: `${server.baseURL}/v1` },
        modelKwargs: { seed: 12 },
      });
    });

    after(async () => {
      await server?.stop();
    });

    test('openai: tool_choice required, streamed and not, agree', async () => {
      for (const seed of [1, 2, 3]) {
        const body = { model, messages, tools, tool_choice: 'required', parallel_tool_calls: false, max_tokens: maxTokens, seed };
        const r = await client.chat.completions.create(body);
        const c = r.choices[0];
        assert.equal(c.finish_reason, 'tool_calls');
        assert.equal(c.message.content, null);
        assert.equal(c.message.tool_calls.length, 1);
        validate(c.message.tool_calls[0]);
        const s = await collect(await client.chat.completions.create({ ...body, stream: true }));
        assert.equal(s.finish, 'tool_calls');
        assert.deepEqual(s.calls.map((x) => x.function), c.message.tool_calls.map((x) => x.function));
        assert.ok(s.pieces > 1, 'arguments arrive in increments');
      }
    });

    test('openai: a named function', async () => {
      for (const seed of [4, 5]) {
        const r = await client.chat.completions.create({
          model, messages, tools, tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: maxTokens, seed,
        });
        assert.equal(r.choices[0].finish_reason, 'tool_calls');
        assert.ok(r.choices[0].message.tool_calls.length >= 1);
        for (const call of r.choices[0].message.tool_calls) {
          assert.equal(call.function.name, 'get_time');
          validate(call);
        }
      }
    });

    test('openai: parallel calls have their own indexes and ids', async () => {
      let most = 0;
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
        const body = { model, messages, tools, tool_choice: 'required', max_tokens: 600, seed, stream: true };
        const s = await collect(await client.chat.completions.create(body));
        assert.equal(new Set(s.calls.map((c) => c.id)).size, s.calls.length);
        if (s.finish === 'length') continue;  // many calls ran out of tokens
        assert.equal(s.finish, 'tool_calls');
        s.calls.forEach(validate);
        most = Math.max(most, s.calls.length);
      }
      if (parallel) assert.ok(most >= 2, `at most ${most} calls in a reply`);
      else assert.equal(most, 1);
    });

    test('openai: a tool-result round trip', async () => {
      const first = await client.chat.completions.create({
        model, messages, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } },
        parallel_tool_calls: false, max_tokens: maxTokens, seed: 9,
      });
      const assistant = first.choices[0].message;
      assert.equal(assistant.tool_calls.length, 1);
      const call = assistant.tool_calls[0];
      const followUp = [
        ...messages,
        { role: 'assistant', content: null, tool_calls: assistant.tool_calls },
        { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ temperature: 21, unit: 'c' }) },
      ];
      const second = await client.chat.completions.create({ model, messages: followUp, tools, max_tokens: 16, seed: 10 });
      assert.equal(typeof second.choices[0].message.content, 'string');
      assert.ok(['stop', 'length', 'tool_calls'].includes(second.choices[0].finish_reason));
      const none = await client.chat.completions.create({ model, messages: followUp, tools, tool_choice: 'none', max_tokens: 16, seed: 10 });
      assert.equal(none.choices[0].message.tool_calls, undefined);
    });

    test('LangChain bindTools with tool_choice', async () => {
      const weather = { name: 'get_weather', description: 'The weather in a city', schema: Weather };
      const time = { name: 'get_time', description: 'The time in a zone', schema: Time };
      for (const choice of ['required', 'get_time']) {
        const bound = langchain.bindTools([weather, time], { tool_choice: choice, parallel_tool_calls: false });
        const m = await bound.invoke(messages);
        assert.equal(m.tool_calls.length, 1, JSON.stringify(m));
        const c = m.tool_calls[0];
        if (choice !== 'required') assert.equal(c.name, choice);
        assert.deepEqual((c.name === 'get_weather' ? Weather : Time).parse(c.args), c.args);
        assert.ok(c.id);
      }
    });

    test('LangChain withStructuredOutput, method functionCalling', async () => {
      const structured = langchain.withStructuredOutput(Person, { method: 'functionCalling', name: 'person', includeRaw: true });
      const r = await structured.invoke([{ role: 'user', content: 'Describe a person.' }]);
      assert.deepEqual(Person.parse(r.parsed), r.parsed);
      assert.equal(r.raw.response_metadata.finish_reason, 'tool_calls');
    });

    test('AI SDK generateText with tools', async () => {
      const aiTools = {
        get_weather: tool({ description: 'The weather in a city', inputSchema: Weather }),
        get_time: tool({ description: 'The time in a zone', inputSchema: Time }),
      };
      for (const toolChoice of ['required', { type: 'tool', toolName: 'get_weather' }]) {
        const r = await generateText({
          model: aiProvider(model), tools: aiTools, toolChoice, prompt: 'Weather in Paris?', seed: 11, maxOutputTokens: maxTokens,
          providerOptions: { parley: { parallel_tool_calls: false } },
        });
        assert.equal(r.finishReason, 'tool-calls');
        assert.ok(r.toolCalls.length >= 1);
        for (const c of r.toolCalls) {
          if (typeof toolChoice === 'object') assert.equal(c.toolName, 'get_weather');
          assert.deepEqual((c.toolName === 'get_weather' ? Weather : Time).parse(c.input), c.input);
        }
      }
    });
  });
}
