// A conversation with what a real model writes (code, a table, math), for screenshots: the
// demo model's replies are noise. Shape: GET /api/conversations/{id}.
const t0 = Math.floor(Date.now() / 1000) - 600;

const answer1 = `A **KV cache** keeps the attention keys and values of tokens already processed, so each new token only computes its own.

Here is the idea in Python:

\`\`\`python
def decode_step(model, token, cache):
    # Only the new token goes through the layers; past keys/values come from the cache.
    q, k, v = model.project(token)
    cache.append(k, v)
    return model.attend(q, cache.keys, cache.values)
\`\`\`

Memory grows linearly with the context:

$$\\text{bytes} = 2 \\times n_{\\text{layers}} \\times n_{\\text{kv heads}} \\times d_{\\text{head}} \\times n_{\\text{tokens}} \\times \\text{bytes per value}$$

| model | layers | KV heads | per token (f16) |
|---|--:|--:|--:|
| Qwen2.5 7B | 28 | 4 | 56 KiB |
| Llama 3 8B | 32 | 8 | 128 KiB |
| Mistral 7B | 32 | 8 | 128 KiB |

So a 32k context of Llama 3 8B needs about $32768 \\times 128\\,\\text{KiB} = 4\\,\\text{GiB}$.`;

const answer2 = `Paged attention stores the cache in fixed-size **blocks**:

1. A block table maps each sequence's logical blocks to physical ones.
2. Blocks are shared between sequences with a common prefix (copy on write).
3. Freed blocks go back to a pool, so there is no fragmentation.

\`\`\`ts
interface BlockTable {
  blocks: number[]; // physical block ids, in order
  tokens: number;   // tokens stored in the last block
}
\`\`\`

> Inline \`code\`, a [link](https://example.com/docs), and math such as $O(n^2)$ all render inline.

\`\`\`bash
parley serve --model qwen2.5-7b-instruct-q4_k_m.gguf --kv-cache-mib 4096
\`\`\``;

export function showcaseTree() {
  const m = (id, parent, role, content, children, extra = {}) => ({
    id,
    object: 'conversation.message',
    parent_id: parent,
    role,
    content,
    model: role === 'assistant' ? 'qwen2.5-7b-instruct' : null,
    created_at: t0 + Object.keys(extra).length,
    children,
    ...(role === 'assistant' ? { finish_reason: 'stop', usage: { prompt_tokens: 40, completion_tokens: 220, total_tokens: 260 } } : {}),
    ...extra,
  });
  const messages = [
    m('msg_u1', null, 'user', 'What is a KV cache, and how much memory does it need?', ['msg_a1a', 'msg_a1']),
    m('msg_a1a', 'msg_u1', 'assistant', 'An earlier, shorter answer.', []),
    m('msg_a1', 'msg_u1', 'assistant', answer1, ['msg_u2']),
    m('msg_u2', 'msg_a1', 'user', 'And how does paged attention organise it?', ['msg_a2']),
    m('msg_a2', 'msg_u2', 'assistant', answer2, []),
  ];
  return {
    conversation: {
      id: 'cnv_showcase',
      object: 'conversation',
      title: 'KV caches and paged attention',
      created_at: t0,
      updated_at: t0 + 60,
      archived: false,
      current_leaf_id: 'msg_a2',
      message_count: messages.length,
      model: 'qwen2.5-7b-instruct',
      settings: { system_prompt: 'You are a concise systems engineer.', temperature: 0.7 },
      usage: { requests: 3, prompt_tokens: 120, completion_tokens: 660, total_tokens: 780, cost_micros: 1560, cost: 0.00156 },
    },
    current_leaf_id: 'msg_a2',
    messages,
  };
}
