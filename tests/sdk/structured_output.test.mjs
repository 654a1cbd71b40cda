// Structured output with the client libraries apps are built on, against `parley serve` with
// random-weight synthetic models of two chat-template families (families.mjs): whatever the model's
// weights, response_format constrains generation, so every library gets an object that its own
// validation (zod) accepts, with finish_reason "stop".
//
// - Vercel AI SDK (ai + @ai-sdk/openai-compatible, supportsStructuredOutputs): generateObject and
//   streamObject with a zod schema (response_format json_schema).
// - LangChain JS (@langchain/openai): withStructuredOutput, method jsonSchema (zod) and jsonMode
//   (json_object: any JSON object).
// - openai: chat.completions.create with response_format json_schema, streamed and not, and
//   chat.completions.parse / stream with zodResponseFormat (strict).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { generateObject, streamObject } from 'ai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { z } from 'zod';
import { families } from './families.mjs';

const model = 'tiny';
const maxTokens = 300;

// Bounded, so that a model with random weights always completes it well within maxTokens.
const Person = z.object({
  name: z.string().max(8),
  age: z.number().int().min(0).max(120),
  mood: z.enum(['happy', 'sad', 'neutral']),
  tags: z.array(z.string().max(4)).max(3),
  ok: z.boolean(),
});

const personJsonSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 8 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    ok: { type: 'boolean' },
  },
  required: ['name', 'age', 'ok'],
  additionalProperties: false,
};

const prompt = 'Describe a person.';

for (const family of families) {
  describe(`structured output, ${family.name} template`, { skip: family.skip }, () => {
    let server;
    let client;
    let aiProvider;
    let langchain;

    before(async () => {
      server = await family.start();
      client = new OpenAI({ baseURL: `${server.baseURL}/v1`, apiKey: 'unused', maxRetries: 0 });
      aiProvider = createOpenAICompatible({
        name: 'parley', baseURL: `${server.baseURL}/v1`, apiKey: 'unused', supportsStructuredOutputs: true,
      });
      langchain = new ChatOpenAI({
        model, apiKey: 'unused', maxTokens, maxRetries: 0, configuration: { baseURL: `${server.baseURL}/v1` },
      });
    });

    after(async () => {
      await server?.stop();
    });

    test('AI SDK generateObject with a zod schema', async () => {
      for (const seed of [1, 2, 3]) {
        const r = await generateObject({ model: aiProvider(model), schema: Person, prompt, seed, maxOutputTokens: maxTokens });
        assert.equal(r.finishReason, 'stop');
        assert.deepEqual(Person.parse(r.object), r.object);
        assert.ok(r.usage.outputTokens > 0 && r.usage.outputTokens < maxTokens);
      }
    });

    test('AI SDK streamObject with a zod schema', async () => {
      for (const seed of [1, 2]) {
        const r = streamObject({ model: aiProvider(model), schema: Person, prompt, seed, maxOutputTokens: maxTokens });
        let partials = 0;
        for await (const partial of r.partialObjectStream) {
          assert.equal(typeof partial, 'object');
          ++partials;
        }
        const object = await r.object;
        assert.deepEqual(Person.parse(object), object);
        assert.equal(await r.finishReason, 'stop');
        assert.ok(partials > 1, `${partials} partial objects`);
      }
    });

    test('LangChain withStructuredOutput, method jsonSchema (zod)', async () => {
      const structured = langchain.withStructuredOutput(Person, { method: 'jsonSchema', name: 'person', includeRaw: true });
      const r = await structured.invoke([{ role: 'user', content: prompt }]);
      assert.deepEqual(Person.parse(r.parsed), r.parsed);
      assert.equal(r.raw.response_metadata.finish_reason, 'stop');
    });

    test('LangChain withStructuredOutput, method jsonMode', async () => {
      // json_object promises any JSON object (OpenAI's json mode), so the schema here is a plain
      // JSON Schema that LangChain passes along without validating.
      const structured = langchain.withStructuredOutput(personJsonSchema, { method: 'jsonMode', includeRaw: true });
      const r = await structured.invoke([{ role: 'user', content: `${prompt} Answer in JSON.` }]);
      if (r.raw.response_metadata.finish_reason === 'length') return;  // an unbounded object ran out of tokens
      assert.equal(r.raw.response_metadata.finish_reason, 'stop');
      assert.ok(r.parsed !== null && typeof r.parsed === 'object' && !Array.isArray(r.parsed), JSON.stringify(r.parsed));
    });

    test('openai: response_format json_schema, streamed and not', async () => {
      const response_format = { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: personJsonSchema } };
      const r = await client.chat.completions.create({
        model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, seed: 4, response_format,
      });
      assert.equal(r.choices[0].finish_reason, 'stop');
      const v = JSON.parse(r.choices[0].message.content);
      assert.deepEqual(Object.keys(v), ['name', 'age', 'ok']);
      assert.ok(Number.isInteger(v.age) && v.age >= 0 && v.age <= 120);
      const stream = await client.chat.completions.create({
        model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, seed: 5, response_format, stream: true,
      });
      let text = '';
      let finish = null;
      for await (const chunk of stream) {
        const c = chunk.choices[0];
        if (!c) continue;
        text += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
      assert.equal(finish, 'stop');
      assert.equal(typeof JSON.parse(text).ok, 'boolean');
    });

    test('openai: chat.completions.parse and stream with zodResponseFormat', async () => {
      const response_format = zodResponseFormat(Person, 'person');
      assert.equal(response_format.json_schema.strict, true);
      const completions = client.chat.completions.parse ? client.chat.completions : client.beta.chat.completions;
      const r = await completions.parse({
        model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, seed: 6, response_format,
      });
      assert.equal(r.choices[0].finish_reason, 'stop');
      assert.deepEqual(Person.parse(r.choices[0].message.parsed), r.choices[0].message.parsed);
      const stream = completions.stream({
        model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, seed: 7, response_format,
      });
      const final = await stream.finalChatCompletion();
      assert.equal(final.choices[0].finish_reason, 'stop');
      assert.deepEqual(Person.parse(final.choices[0].message.parsed), final.choices[0].message.parsed);
    });
  });
}
