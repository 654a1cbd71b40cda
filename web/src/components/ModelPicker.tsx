// The model for the next reply: the server's models (GET /api/models), else the conversation's.
import { patchConversation } from '../api/conversations';
import { chosenModel, effectiveModel, models } from '../state/models';
import { conversation } from '../state/thread';

export function ModelPicker() {
  const c = conversation.value;
  const current = effectiveModel(c?.settings?.model ?? c?.model);
  const ids = models.value.map((m) => m.id);
  if (current && !ids.includes(current)) ids.unshift(current);
  // No list from the server (and no conversation yet): the server picks its first model.
  if (ids.length === 0) return <span class="model-name">Default model</span>;
  return (
    <label class="model-picker">
      <span class="visually-hidden">Model</span>
      <select
        value={current ?? ''}
        onChange={(e) => {
          const id = e.currentTarget.value;
          chosenModel.value = id;
          // Remember it with the conversation where the server supports settings.
          if (c) void patchConversation(c.id, { settings: { model: id } }).catch(() => undefined);
        }}
      >
        {ids.map((id) => (
          <option key={id} value={id}>
            {id}
          </option>
        ))}
      </select>
    </label>
  );
}
