// Moderation with the official openai client against `parley serve --config` with [moderation]
// rules: moderations.create (a string and an array), a blocked chat request (400,
// content_policy_violation) and its audit event through `parley admin moderation events`, and a
// redacted prompt whose e-mail address never reaches the logs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, startServer, synthModel } from '../integration/server.mjs';

const rules = `
[moderation]
[[moderation.rules]]
name = "nightingale"
kind = "phrases"
phrases = ["project nightingale"]
stage = "input"
action = "block"

[[moderation.rules]]
name = "pii"
kind = "detector"
detectors = ["pii"]
stage = "input"
action = "redact"
`;

describe('moderation with the openai client', () => {
  let server;
  let client;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-moderation-'));
    synthModel(dir);
    writeFileSync(join(dir, 'parley.toml'), rules);
    server = await startServer(['--config', join(dir, 'parley.toml')], { dir });
    client = new OpenAI({ baseURL: server.baseURL + '/v1', apiKey: 'local' });
  });
  after(async () => {
    await server?.stop();
  });

  test('moderations.create flags what the rules find', async () => {
    const one = await client.moderations.create({ input: 'project nightingale starts today' });
    assert.equal(one.results.length, 1);
    assert.equal(one.results[0].flagged, true);
    assert.equal(one.results[0].categories.nightingale, true);
    assert.equal(one.results[0].category_scores.nightingale, 1);
    const many = await client.moderations.create({ input: ['a quiet day', 'write to bob@example.com'] });
    assert.deepEqual(many.results.map((r) => r.flagged), [false, true]);
    assert.equal(many.results[1].categories.pii, true);
    assert.equal(many.results[1].categories.nightingale, false);
  });

  test('a blocked prompt is a 400 content_policy_violation', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'PROJECT Nightingale?' }] }),
      (e) => e.status === 400 && e.code === 'content_policy_violation',
    );
  });

  test('parley admin moderation events lists the audit log', async () => {
    // The audit log is written off the request path: wait for the blocked request's event.
    let events = [];
    for (let i = 0; i < 100 && events.length === 0; ++i) {
      events = admin(server.dir, ['moderation', 'events', '--rule', 'nightingale', '--json'])
        .split('\n').filter((l) => l).map((l) => JSON.parse(l));
      if (events.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(events.length >= 1);
    assert.equal(events[0].action, 'block');
    assert.equal(events[0].stage, 'input');
    assert.equal(events[0].excerpt, '');  // no prompt text by default
    assert.equal(admin(server.dir, ['moderation', 'suspensions', '--active']), '');
  });

  test('a redacted address reaches neither the reply nor the logs', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny', max_tokens: 2, messages: [{ role: 'user', content: 'I am carol.secret@example.com' }],
    });
    assert.equal(r.choices.length, 1);
    assert.ok(!server.logs.some((l) => l.includes('carol.secret')), 'the address is in the logs');
  });
});
