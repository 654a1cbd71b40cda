// The accessible names of the issue are exact (end-to-end tests and screen readers rely on them):
// each reserved name belongs to exactly one control of a screen, and no other control's name
// contains it.
import { computeAccessibleName, getRole } from 'dom-accessibility-api';
import { render } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message as Msg } from '../api/types';
import { Composer } from './Composer';
import { Message } from './Message';
import { SignInPage } from './SignInPage';
import { VersionSwitcher } from './VersionSwitcher';

const reserved = [
  'Message',
  'Send message',
  'Stop generating',
  'Regenerate',
  'Edit message',
  'New chat',
  'Previous version',
  'Next version',
  'Copy',
  'Share',
  'Export',
  'Email',
  'Password',
  'Sign in',
  'Create account',
  'Edit message text',
  'Save and send',
  'Cancel',
];

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

function controls(el: HTMLElement): { role: string; name: string; el: Element }[] {
  return [...el.querySelectorAll('button, input, textarea, select, a[href]')].map((c) => ({
    role: getRole(c) ?? c.tagName.toLowerCase(),
    name: computeAccessibleName(c),
    el: c,
  }));
}

/** No control's name contains a reserved name unless it is exactly that name. */
function expectNoCollisions(list: { name: string }[]): void {
  for (const { name } of list) {
    for (const r of reserved) {
      if (name !== r && name.toLowerCase().includes(r.toLowerCase())) {
        // "Edit message text" and "Send message"/"Edit message" are names of the issue itself.
        if (reserved.includes(name)) continue;
        throw new Error(`control "${name}" contains the reserved name "${r}"`);
      }
    }
  }
}

const noop = () => undefined;
const msg = (role: 'user' | 'assistant', id = `m_${role}`): Msg => ({
  id,
  object: 'conversation.message',
  parent_id: 'p',
  role,
  content: role === 'user' ? 'hi' : '```js\nlet x = 1\n```',
  model: role === 'assistant' ? 'm' : null,
  created_at: 1,
});

describe('accessible names', () => {
  it('a user message: data-role, "N / M", Previous/Next version, Copy, Edit message inside it', async () => {
    const el = await mount(
      <Message message={msg('user')} versions={{ index: 2, count: 3, prev: 'a', next: 'b' }} busy={false} eager onSwitch={noop} onEdit={noop} onRegenerate={noop} />,
    );
    const article = el.querySelector('[data-role="user"]')!;
    expect(article).not.toBeNull();
    expect(article.querySelector('.versions-text')!.textContent).toBe('2 / 3');
    const names = controls(article as HTMLElement).map((c) => c.name);
    expect(names).toEqual(['Previous version', 'Next version', 'Copy', 'Edit message']);
  });

  it('editing: "Edit message text", "Cancel", "Save and send"', async () => {
    const el = await mount(
      <Message message={msg('user')} versions={{ index: 1, count: 1, prev: null, next: null }} busy={false} eager onSwitch={noop} onEdit={noop} onRegenerate={noop} />,
    );
    (el.querySelector('button[aria-label="Edit message"]') as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    const list = controls(el);
    expect(list.map((c) => [c.role, c.name])).toEqual([
      ['textbox', 'Edit message text'],
      ['button', 'Cancel'],
      ['button', 'Save and send'],
    ]);
  });

  it('an answer: Copy and Regenerate; its code block\'s button is "Copy code"', async () => {
    const el = await mount(
      <Message message={msg('assistant')} versions={{ index: 1, count: 1, prev: null, next: null }} busy={false} eager onSwitch={noop} onEdit={noop} onRegenerate={noop} />,
    );
    const list = controls(el.querySelector('[data-role="assistant"]') as HTMLElement);
    expect(list.map((c) => c.name)).toEqual(['Copy code', 'Copy', 'Regenerate']);
    expect(list.filter((c) => c.name === 'Copy')).toHaveLength(1);
  });

  it('the composer: "Message" and "Send message"', async () => {
    const el = await mount(<Composer draftKey="t" conversationId={null} />);
    const list = controls(el);
    expect(list.map((c) => [c.role, c.name])).toEqual([
      ['textbox', 'Message'],
      ['button', 'Send message'],
    ]);
    expectNoCollisions(list);
  });

  it('the sign-in page: "Email", "Password", "Sign in", "Create account" when sign-up is open', async () => {
    const el = await mount(<SignInPage options={{ auth_mode: 'required', signup: true }} />);
    const list = controls(el);
    // A password field has no ARIA role of its own (Playwright's getByRole counts it a textbox).
    expect(list.map((c) => [c.role, c.name])).toEqual([
      ['textbox', 'Email'],
      ['input', 'Password'],
      ['button', 'Sign in'],
      ['button', 'Create account'],
    ]);
    expect((list[1]!.el as HTMLInputElement).type).toBe('password');
  });

  it('the sign-in page without sign-up has no "Create account"', async () => {
    const el = await mount(<SignInPage options={{ auth_mode: 'required', signup: false }} />);
    expect(controls(el).map((c) => c.name)).toEqual(['Email', 'Password', 'Sign in']);
  });

  it('a message with one version has no switcher', async () => {
    const el = await mount(<VersionSwitcher versions={{ index: 1, count: 1, prev: null, next: null }} disabled={false} onSwitch={noop} />);
    expect(el.textContent).toBe('');
  });
});
