// The thinking of a reasoning model: collapsed under "Thoughts", above the answer, and absent
// when the message has none.
import { render } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message as Msg } from '../api/types';
import { Message } from './Message';

let root: HTMLElement;
afterEach(() => {
  render(null, root);
  root.remove();
});

async function mount(vnode: preact.ComponentChild): Promise<HTMLElement> {
  root = document.createElement('div');
  document.body.appendChild(root);
  render(vnode, root);
  await new Promise((r) => setTimeout(r, 0));
  return root;
}

function answer(extra: Partial<Msg>): Msg {
  return {
    id: 'msg_1',
    object: 'conversation.message',
    parent_id: 'msg_0',
    role: 'assistant',
    content: 'It is 4.',
    model: 'r1',
    created_at: 1,
    finish_reason: 'stop',
    ...extra,
  };
}

const versions = { index: 0, count: 1, prev: null, next: null };
const noop = () => undefined;

describe('Message thoughts', () => {
  it('shows the reasoning collapsed under "Thoughts", before the answer', async () => {
    const el = await mount(
      <Message message={answer({ reasoning: 'Two plus two.\nThat is 4.' })} versions={versions} busy={false} eager={true} onSwitch={noop} onEdit={noop} onRegenerate={noop} />,
    );
    const details = el.querySelector('details.thoughts') as HTMLDetailsElement;
    expect(details).not.toBeNull();
    expect(details.open).toBe(false);
    expect(details.querySelector('summary')!.textContent).toBe('Thoughts');
    expect(details.querySelector('.thoughts-body')!.textContent).toBe('Two plus two.\nThat is 4.');
    // The answer stays the message's content, after the thoughts.
    const body = el.querySelector('.msg-body')!;
    expect(body.firstElementChild).toBe(details);
    expect(body.textContent).toContain('It is 4.');
  });

  it('has no thoughts without reasoning, and never for a user message', async () => {
    const el = await mount(
      <div>
        <Message message={answer({})} versions={versions} busy={false} eager={true} onSwitch={noop} onEdit={noop} onRegenerate={noop} />
        <Message
          message={answer({ id: 'msg_2', role: 'user', reasoning: 'not shown' })}
          versions={versions}
          busy={false}
          eager={true}
          onSwitch={noop}
          onEdit={noop}
          onRegenerate={noop}
        />
      </div>,
    );
    expect(el.querySelector('details.thoughts')).toBeNull();
  });
});
