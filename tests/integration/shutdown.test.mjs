// Graceful shutdown of `parley serve` as a real process: SIGTERM with a reply streaming through
// the conversation API. The server stops taking work (/ready 503, or no new connection at all),
// lets the stream finish within --shutdown-grace, saves the reply, and exits 0; after a restart the
// reply is in the conversation. A second SIGTERM while it waits stops it at once (status 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parleyBin, startServer } from './server.mjs';

const json = { 'Content-Type': 'application/json' };

// The integration model with a long context, so that a reply can outlast the signals.
function longModel(dir) {
  const path = join(dir, 'tiny.gguf');
  execFileSync(parleyBin, ['model', 'synth', '--arch', 'qwen2', '--vocab-from', 'builtin:bytes', '--layers', '2',
    '--embd', '128', '--heads', '4', '--kv-heads', '2', '--ff', '256', '--ctx', '8192', '--type', 'q8_0',
    '--tie-embeddings', '--seed', '3', '--out', path], { stdio: 'pipe' });
  return path;
}

// Reads an SSE response to its end (or until the connection breaks); `onDelta` runs at each delta.
async function readEvents(response, onDelta) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const events = [];
  let buffered = '';
  let broken = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        events.push({ event, data: data ? JSON.parse(data) : null });
        if (event === 'delta') await onDelta(events.length);
      }
    }
  } catch {
    broken = true;  // cut off
  }
  return { events, broken };
}

async function startReply(server, maxTokens) {
  const conversation = await (await fetch(`${server.baseURL}/api/conversations`,
    { method: 'POST', headers: json, body: '{}' })).json();
  const reply = await fetch(`${server.baseURL}/api/conversations/${conversation.id}/messages`, {
    method: 'POST', headers: json,
    body: JSON.stringify({ content: 'Tell me everything.', max_tokens: maxTokens, ignore_eos: true, temperature: 0 }),
  });
  assert.equal(reply.status, 200);
  return { conversation, reply };
}

const exitOf = (proc) => new Promise((resolve) => proc.once('exit', (code) => resolve(code)));

async function waitForLog(server, pattern) {
  while (!pattern.test(server.logs.join('\n'))) await new Promise((r) => setTimeout(r, 20));
}

test('SIGTERM: no new work, the streamed reply finishes and is saved, exit 0', async () => {
  const server = await startServer(['--shutdown-grace', '600'], { synth: longModel });
  try {
    assert.equal((await fetch(`${server.baseURL}/ready`)).status, 200);
    const exited = exitOf(server.proc);
    const { conversation, reply } = await startReply(server, 300);
    let readyAfter;
    const { events, broken } = await readEvents(reply, async (n) => {
      if (n !== 2) return;  // the first delta (after the user message event)
      server.proc.kill('SIGTERM');
      await waitForLog(server, /SIGTERM received: stopping/);
      try {
        readyAfter = (await fetch(`${server.baseURL}/ready`)).status;
      } catch {
        readyAfter = 'refused';  // no longer accepting connections
      }
    });
    assert.ok(readyAfter === 503 || readyAfter === 'refused', String(readyAfter));
    assert.equal(broken, false);
    const done = events.at(-1);
    assert.equal(done.event, 'done', JSON.stringify(events.at(-1)));
    assert.equal(done.data.message.usage.completion_tokens, 300);
    assert.equal(await exited, 0, server.logs.join('\n'));
    assert.match(server.logs.join('\n'), /"msg":"stopped"/);

    const again = await startServer([], { dir: server.dir });
    try {
      const tree = await (await fetch(`${again.baseURL}/api/conversations/${conversation.id}`)).json();
      assert.equal(tree.messages.at(-1).content, done.data.message.content);
      assert.equal(tree.current_leaf_id, done.data.message.id);
    } finally {
      await again.stop();
    }
  } finally {
    await server.stop();
  }
});

test('a second SIGTERM stops at once', async () => {
  const server = await startServer(['--shutdown-grace', '600'], { synth: longModel });
  try {
    const exited = exitOf(server.proc);
    const { reply } = await startReply(server, 8000);
    const { events } = await readEvents(reply, async (n) => {
      if (n !== 2) return;
      server.proc.kill('SIGTERM');
      await waitForLog(server, /SIGTERM received: stopping/);
      server.proc.kill('SIGTERM');
    });
    assert.equal(await exited, 1, server.logs.join('\n'));
    assert.match(server.logs.join('\n'), /second signal: stopping at once/);
    assert.notEqual(events.at(-1)?.event, 'done');  // the 8000-token reply was cut off
  } finally {
    await server.stop();
  }
});
