// Store faults on a real `parley serve` with SQLite (issue 18): the disk fills up, the data
// directory is read-only at start-up, and the file system turns read-only at run time. Each gives
// a clear error (a warn log line naming the cause, /ready 503, HTTP 503 with Retry-After on the
// writes it refuses; at start-up a message naming the file and a non-zero exit) and recovers once
// the fault is gone, with every acknowledged write still there, after a restart too.
// The faults are real file systems, so these tests need root (they skip otherwise): a small tmpfs
// that fills up, a tmpfs mounted read-only, an ext4 image loop-mounted with errors=remount-ro whose
// error switch turns it read-only under the open database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parleyBin, startServer, synthModel } from './server.mjs';
import {
  cannotMount, fillUp, json, logged, mountLoopExt4, mountTmpfs, remount, sendMessage, status, unmount, until,
} from './faults_lib.mjs';

const skip = cannotMount();

// A directory with the model, and the store under `db/` (where the fault is mounted).
function layout() {
  const dir = mkdtempSync(join(tmpdir(), 'parley-faults-'));
  synthModel(dir);
  const db = join(dir, 'db');
  return { dir, db, args: ['--database', `sqlite:${db}/parley.db`] };
}

async function createConversation(baseURL, title) {
  return status(`${baseURL}/api/conversations`, { method: 'POST', headers: json, body: JSON.stringify({ title }) });
}

async function listTitles(baseURL) {
  const r = await status(`${baseURL}/api/conversations?limit=100`);
  assert.equal(r.status, 200, r.text);
  return new Set(r.body.data.map((c) => c.title));
}

// Every acknowledged conversation and reply is there (on this server, e.g. after a restart).
async function assertAllThere(baseURL, acknowledged, reply) {
  const titles = await listTitles(baseURL);
  for (const t of acknowledged) assert.ok(titles.has(t), `acknowledged conversation '${t}' is missing`);
  const tree = await status(`${baseURL}/api/conversations/${reply.conversation}`);
  assert.equal(tree.status, 200);
  assert.ok(tree.body.messages.some((m) => m.id === reply.id && m.content === reply.content), tree.text);
}

// Writes until the store refuses one; returns the refusal. Those acknowledged are added to `acked`.
async function writeUntilRefused(baseURL, acked, prefix) {
  for (let i = 0; i < 500; ++i) {
    const title = `${prefix} ${i} ${'x'.repeat(150)}`;
    const r = await createConversation(baseURL, title);
    if (r.status === 201) {
      acked.push(title);
      continue;
    }
    return r;
  }
  assert.fail('the store never refused a write');
}

function assertStoreRefusal(r, cause) {
  assert.equal(r.status, 503, r.text);
  assert.equal(r.retryAfter, '1');
  assert.equal(r.body.error.type, 'server_error');
  assert.match(r.body.error.message, cause);
}

async function readyStatus(baseURL) {
  return (await fetch(`${baseURL}/ready`)).status;
}

test('the disk fills up: 503 + Retry-After, /ready 503, a warning; space again: all acknowledged writes are there',
  { skip }, async () => {
    const { dir, db, args } = layout();
    mountTmpfs(db, 4096);
    let server;
    try {
      server = await startServer(args, { dir });
      const { baseURL } = server;
      const acked = [];
      const first = await createConversation(baseURL, 'before the disk filled');
      assert.equal(first.status, 201);
      acked.push('before the disk filled');
      const sent = await sendMessage(baseURL, first.body.id, 'Hello there.');
      assert.equal(sent.status, 200);
      const reply = { conversation: first.body.id, id: sent.done.message.id, content: sent.done.message.content };

      const filler = fillUp(db);
      const refused = await writeUntilRefused(baseURL, acked, 'while full');
      assertStoreRefusal(refused, /full/);
      await logged(server, /"level":"warn".*database or disk is full/);
      // Reads go on; /ready says the store cannot take writes (its check writes after a failure).
      assert.equal((await listTitles(baseURL)).has('before the disk filled'), true);
      await until(async () => (await readyStatus(baseURL)) === 503, '/ready 503 while the disk is full');
      const ready = await status(`${baseURL}/ready`);
      assert.equal(ready.body.status, 'store unavailable');
      assert.equal(ready.retryAfter, '1');

      unlinkSync(filler);
      await until(async () => (await readyStatus(baseURL)) === 200, '/ready 200 once there is space');
      await logged(server, /the store answers again/);
      const after = await createConversation(baseURL, 'after the space came back');
      assert.equal(after.status, 201, after.text);
      acked.push('after the space came back');
      await assertAllThere(baseURL, acked, reply);

      await server.stop({ keep: true });
      assert.equal(server.proc.exitCode, 0, server.logs.join('\n'));
      server = await startServer(args, { dir });
      await assertAllThere(server.baseURL, acked, reply);
    } finally {
      await server?.stop({ keep: true });
      unmount(db);
      rmSync(dir, { recursive: true, force: true });
    }
  });

function serveOnce(args, dir) {
  return spawnSync(parleyBin, ['serve', '--model', join(dir, 'tiny.gguf'), '--port', '0', '-t', '2', '--data', dir,
    ...args], { encoding: 'utf8', timeout: 60000 });
}

test('a read-only data directory at start-up: a message naming the file and the cause, exit 1', { skip }, async () => {
  const { dir, db, args } = layout();
  try {
    // A new store on a read-only file system.
    mountTmpfs(db, 4096, { ro: true });
    let r = serveOnce(args, dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${db}/parley.db.*not writable: Read-only file system`));
    unmount(db);

    // An existing store whose file system is mounted read-only: the same, and it starts once
    // the file system is writable again, with what it held.
    mountTmpfs(db, 4096);
    let server = await startServer(args, { dir });
    assert.equal((await createConversation(server.baseURL, 'kept')).status, 201);
    await server.stop({ keep: true });
    remount(db, 'ro');
    r = serveOnce(args, dir);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${db}/parley.db.*not writable: Read-only file system`));
    remount(db, 'rw');
    server = await startServer(args, { dir });
    try {
      assert.ok((await listTitles(server.baseURL)).has('kept'));
    } finally {
      await server.stop({ keep: true });
    }
  } finally {
    unmount(db);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the file system turns read-only at run time: 503 + Retry-After, reads go on; repaired: nothing lost',
  { skip }, async (t) => {
    const { dir, db, args } = layout();
    const fs = mountLoopExt4(join(dir, 'disk.img'), db);
    if (!fs) {
      t.skip('this kernel has no ext4 trigger_fs_error');
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    let server;
    try {
      server = await startServer(args, { dir });
      const { baseURL } = server;
      const acked = [];
      const first = await createConversation(baseURL, 'before the failure');
      assert.equal(first.status, 201);
      acked.push('before the failure');
      const sent = await sendMessage(baseURL, first.body.id, 'Hello there.');
      assert.equal(sent.status, 200);
      const reply = { conversation: first.body.id, id: sent.done.message.id, content: sent.done.message.content };

      fs.fail();
      const refused = await writeUntilRefused(baseURL, acked, 'after the failure');
      assertStoreRefusal(refused, /readonly|read-only|I\/O/);
      await logged(server, /"level":"warn"/);
      assert.ok((await listTitles(baseURL)).has('before the failure'));
      await until(async () => (await readyStatus(baseURL)) === 503, '/ready 503 while the disk is read-only');

      // The operator's way out: stop the server (it exits cleanly), repair, start again.
      await server.stop({ keep: true });
      assert.equal(server.proc.exitCode, 0, server.logs.join('\n'));
      fs.repair();
      server = await startServer(args, { dir });
      await assertAllThere(server.baseURL, acked, reply);
      assert.equal((await createConversation(server.baseURL, 'after the repair')).status, 201);
    } finally {
      await server?.stop({ keep: true });
      fs.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
