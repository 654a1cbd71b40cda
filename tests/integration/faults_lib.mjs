// Helpers for the fault tests: file systems that fill up or turn read-only (root only: a tmpfs, a
// loop-mounted ext4), SSE reading, polling, and a conversation client that remembers what the
// server acknowledged.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { metric } from './server.mjs';

export const json = { 'Content-Type': 'application/json' };
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function run(cmd, args) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

// Why mounting is not possible here (a string for `skip`), or false.
export function cannotMount() {
  if (!isRoot) return 'needs root (mounts a tmpfs / a loop file system)';
  try {
    run('mount', ['--version']);
  } catch {
    return 'no mount(8)';
  }
  return false;
}

// A tmpfs of `sizeKiB` at `dir` (created), `ro` mounted read-only.
export function mountTmpfs(dir, sizeKiB, { ro = false } = {}) {
  mkdirSync(dir, { recursive: true });
  run('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k${ro ? ',ro' : ''}`, 'tmpfs', dir]);
}

export function remount(dir, mode) {
  run('mount', ['-o', `remount,${mode}`, dir]);
}

export function unmount(dir) {
  try {
    run('umount', [dir]);
  } catch { /* not mounted */ }
}

// Fills the file system holding `dir` with `dir`/filler until ENOSPC; returns the file's path.
export function fillUp(dir) {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  // The last bytes too: what is left is under one block.
  try {
    for (;;) writeSync(fd, block.subarray(0, 512));
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  closeSync(fd);
  return path;
}

// An ext4 file system in a file, loop-mounted at `dir` with errors=remount-ro, whose "error"
// switch turns it read-only under the open files as a failing disk does (ext4's
// /sys/fs/ext4/<dev>/trigger_fs_error). Returns null when the kernel lacks that switch.
export function mountLoopExt4(image, dir) {
  run('truncate', ['-s', '64M', image]);
  run('mkfs.ext4', ['-q', '-F', image]);
  mkdirSync(dir, { recursive: true });
  run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  const dev = basename(run('findmnt', ['-no', 'SOURCE', dir]).trim());
  const trigger = `/sys/fs/ext4/${dev}/trigger_fs_error`;
  try {
    run('test', ['-w', trigger]);
  } catch {
    unmount(dir);
    return null;
  }
  return {
    fail: () => run('sh', ['-c', `echo 1 > ${trigger}`]),
    // After the failure: unmounted, checked and repaired, mounted again read-write.
    repair: () => {
      run('umount', [dir]);
      try {
        run('e2fsck', ['-fy', image]);
      } catch { /* status 1: errors corrected */ }
      run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
    },
    remove: () => {
      unmount(dir);
      rmSync(image, { force: true });
    },
  };
}

// Polls `fn` until it returns a truthy value (the test's own timeout bounds the wait).
export async function until(fn, what, intervalMs = 100) {
  for (let i = 0; ; ++i) {
    const v = await fn();
    if (v) return v;
    if (i > 0 && i % 300 === 0) console.log(`still waiting: ${what}`);
    await sleep(intervalMs);
  }
}

export async function status(url, init) {
  const r = await fetch(url, init);
  const body = await r.text();
  let parsed = null;
  try {
    parsed = JSON.parse(body);
  } catch { /* not JSON */ }
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: parsed, text: body };
}

// Reads an SSE body to its end; returns the events ({event, data}).
export async function readSse(response) {
  const text = await response.text();
  return text.split('\n\n').filter((b) => b.trim()).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
    const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
    let parsed = data;
    try {
      parsed = JSON.parse(data);
    } catch { /* [DONE] */ }
    return { event, data: parsed };
  });
}

// Sends a message and reads the streamed reply; returns { status, done } (done: the saved reply).
export async function sendMessage(baseURL, conversationId, content, maxTokens = 4) {
  const r = await fetch(`${baseURL}/api/conversations/${conversationId}/messages`, {
    method: 'POST', headers: json,
    body: JSON.stringify({ content, max_tokens: maxTokens, temperature: 0 }),
  });
  if (r.status !== 200) return { status: r.status, retryAfter: r.headers.get('retry-after'), error: await r.text() };
  const events = await readSse(r);
  const done = events.find((e) => e.event === 'done');
  return { status: r.status, done: done?.data, events };
}

export async function kvUsed(baseURL) {
  return metric(baseURL, 'parley_kv_cache_blocks', 'state="used"');
}

export async function running(baseURL) {
  return metric(baseURL, 'parley_running_requests');
}

// Waits for a line matching `re` in the server's log: a request's log line may reach the test
// after the response it describes.
export async function logged(server, re) {
  await until(() => re.test(server.logs.join('\n')), `a log line matching ${re}`);
}
