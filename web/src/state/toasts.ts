// Short notices at the bottom of the screen, some with an action (Undo).
import { signal } from '@preact/signals';

export interface Toast {
  id: number;
  text: string;
  action?: { label: string; run: () => void };
  kind?: 'info' | 'error';
}

export const toasts = signal<Toast[]>([]);
let nextId = 1;

export function showToast(text: string, opts: { action?: Toast['action']; kind?: Toast['kind']; ms?: number } = {}): number {
  const id = nextId++;
  toasts.value = [...toasts.value.slice(-3), { id, text, action: opts.action, kind: opts.kind }];
  setTimeout(() => dismissToast(id), opts.ms ?? 5000);
  return id;
}

export function dismissToast(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}
