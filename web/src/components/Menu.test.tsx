// The popup menu takes the focus in the commit that opens it: an arrow key pressed at once moves
// from the first item (a focus left to after the next paint would undo it).
import { render } from 'preact';
import { afterEach, describe, expect, it } from 'vitest';
import { Menu } from './Menu';

let root: HTMLElement;
afterEach(() => {
  render(null, root);
  root.remove();
});

const microtasks = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};
const paint = () => new Promise((r) => setTimeout(r, 120)); // past Preact's after-paint effects

describe('Menu', () => {
  it('focuses its first item as it opens, and an arrow pressed at once is kept', async () => {
    root = document.createElement('div');
    document.body.appendChild(root);
    const noop = () => undefined;
    render(
      <Menu label="Actions" items={[{ label: 'Rename', run: noop }, { label: 'Archive', run: noop }, { label: 'Delete', run: noop, danger: true }]}>
        …
      </Menu>,
      root,
    );
    (root.querySelector('button[aria-label="Actions"]') as HTMLButtonElement).click();
    await microtasks();
    const items = [...root.querySelectorAll<HTMLElement>('[role="menuitem"]')];
    expect(items.map((i) => i.textContent)).toEqual(['Rename', 'Archive', 'Delete']);
    expect(document.activeElement).toBe(items[0]);
    document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    expect(document.activeElement).toBe(items[1]);
    await paint();
    expect(document.activeElement).toBe(items[1]);
  });
});
