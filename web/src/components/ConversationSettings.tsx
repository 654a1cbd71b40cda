// Per-conversation settings (system prompt, temperature, max tokens) and the usage recorded
// for this conversation's replies.
import { useState } from 'preact/hooks';
import type { SettingsPatch, Usage } from '../api/types';
import { describeError } from '../lib/errors';
import { formatCost, formatInt } from '../lib/format';
import { effectiveModel, models } from '../state/models';
import { conversation, currentSettings, saveSettings, tree } from '../state/thread';
import { showToast } from '../state/toasts';
import { Dialog } from './Dialog';

function usageFromTree(): Usage {
  const u: Usage = { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost_micros: 0, cost: 0 };
  for (const m of tree.value.byId.values()) {
    if (m.role !== 'assistant' || !m.usage) continue;
    u.requests += 1;
    u.prompt_tokens += m.usage.prompt_tokens;
    u.completion_tokens += m.usage.completion_tokens;
    u.total_tokens += m.usage.total_tokens;
  }
  return u;
}

function parseNumber(v: string): number | null {
  const t = v.trim();
  if (t === '') return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : NaN;
}

export function ConversationSettings({ onClose }: { onClose: () => void }) {
  const s = currentSettings.value;
  const c = conversation.value;
  const [system, setSystem] = useState(s.system_prompt ?? '');
  const [temperature, setTemperature] = useState(s.temperature?.toString() ?? '');
  const [maxTokens, setMaxTokens] = useState(s.max_tokens?.toString() ?? '');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const usage = c?.usage ?? (c ? usageFromTree() : null);
  const context = models.value.find((x) => x.id === effectiveModel(c?.settings?.model ?? c?.model))?.context_length;
  const costKnown = Boolean(c?.usage);

  const save = async (e: Event) => {
    e.preventDefault();
    const t = parseNumber(temperature);
    const m = parseNumber(maxTokens);
    if (Number.isNaN(t) || (t !== null && (t < 0 || t > 2))) return setError('Temperature is a number from 0 to 2.');
    if (Number.isNaN(m) || (m !== null && (m < 1 || !Number.isInteger(m)))) return setError('Max tokens is a whole number of at least 1.');
    const patch: SettingsPatch = { system_prompt: system.trim() ? system : null, temperature: t, max_tokens: m };
    setSaving(true);
    setError(null);
    try {
      await saveSettings(patch);
      showToast(c ? 'Settings saved' : 'Settings will apply to this new chat');
      onClose();
    } catch (err) {
      setError(describeError(err).message);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Dialog title="Conversation settings" onClose={onClose} variant="side">
      <form class="form" onSubmit={(e) => void save(e)}>
        <label class="field">
          <span>System prompt</span>
          <textarea rows={6} value={system} placeholder="How the assistant should behave in this conversation" onInput={(e) => setSystem(e.currentTarget.value)} />
        </label>
        <div class="field-row">
          <label class="field">
            <span>Temperature</span>
            <input type="number" inputMode="decimal" min={0} max={2} step={0.1} placeholder="default" value={temperature} onInput={(e) => setTemperature(e.currentTarget.value)} />
          </label>
          <label class="field">
            <span>Max tokens</span>
            <input
              type="number"
              inputMode="numeric"
              min={1}
              max={context}
              step={1}
              placeholder={context ? `up to ${context}` : 'up to the context'}
              value={maxTokens}
              onInput={(e) => setMaxTokens(e.currentTarget.value)}
            />
          </label>
        </div>
        <p class="hint">Empty fields use the server's defaults. A reply's own choices win over these.</p>
        {error ? (
          <p class="error-text" role="alert">
            {error}
          </p>
        ) : null}
        <div class="form-actions">
          <button type="submit" class="btn-primary" disabled={saving}>
            {saving ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>
      <section class="usage-box" aria-labelledby="conv-usage">
        <h3 id="conv-usage">Usage of this conversation</h3>
        {usage ? (
          <dl class="stats">
            <div>
              <dt>Replies</dt>
              <dd>{formatInt(usage.requests)}</dd>
            </div>
            <div>
              <dt>Prompt tokens</dt>
              <dd>{formatInt(usage.prompt_tokens)}</dd>
            </div>
            <div>
              <dt>Completion tokens</dt>
              <dd>{formatInt(usage.completion_tokens)}</dd>
            </div>
            <div>
              <dt>Total tokens</dt>
              <dd>{formatInt(usage.total_tokens)}</dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd>{costKnown ? formatCost(usage.cost_micros) : '—'}</dd>
            </div>
          </dl>
        ) : (
          <p class="muted">Nothing yet: usage is recorded with each reply.</p>
        )}
      </section>
    </Dialog>
  );
}
