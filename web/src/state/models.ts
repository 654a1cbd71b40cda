// The models the server offers (GET /api/models), and the one chosen for the open conversation.
import { signal } from '@preact/signals';
import * as account from '../api/account';
import type { ModelInfo } from '../api/types';

export const models = signal<ModelInfo[]>([]);
/** The user's choice in the picker for the open conversation (null: the conversation's own). */
export const chosenModel = signal<string | null>(null);

// The built-in demo model's id; used only when the server does not say `demo` (older servers).
const DEMO_ID = 'parley-demo';

export async function loadModels(): Promise<void> {
  try {
    const answer = await account.listModels();
    models.value = answer.data;
  } catch {
    // Servers before /api/models: /v1/models answers in local mode (not to sessions); else the
    // picker falls back to the conversation's model.
    try {
      models.value = (await account.listOpenAiModels()).data;
    } catch {
      models.value = [];
    }
  }
}

/** The model a new reply uses: the picker, else the conversation's setting or last model. */
export function effectiveModel(conversationModel: string | null | undefined): string | null {
  const ids = models.value.map((m) => m.id);
  const pick = chosenModel.value;
  if (pick && (ids.length === 0 || ids.includes(pick))) return pick;
  if (conversationModel && (ids.length === 0 || ids.includes(conversationModel))) return conversationModel;
  return ids[0] ?? conversationModel ?? null;
}

export function isDemoModel(id: string | null): boolean {
  if (!id) return false;
  const info = models.value.find((m) => m.id === id);
  if (info && info.demo !== undefined) return info.demo;
  return id === DEMO_ID;
}

