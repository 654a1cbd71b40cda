// "< 2 / 3 >": the versions of a message (edits of a user message, regenerated answers).
import type { Versions } from '../lib/tree';
import { Icon } from './Icons';

export function VersionSwitcher({ versions, disabled, onSwitch }: { versions: Versions; disabled: boolean; onSwitch: (id: string) => void }) {
  if (versions.count < 2) return null;
  return (
    <div class="versions" role="group" aria-label="Versions">
      <button
        type="button"
        class="icon-btn small"
        aria-label="Previous version"
        disabled={disabled || !versions.prev}
        onClick={() => versions.prev && onSwitch(versions.prev)}
      >
        <Icon name="left" size={16} />
      </button>
      <span class="versions-text">
        {versions.index} / {versions.count}
      </span>
      <button
        type="button"
        class="icon-btn small"
        aria-label="Next version"
        disabled={disabled || !versions.next}
        onClick={() => versions.next && onSwitch(versions.next)}
      >
        <Icon name="right" size={16} />
      </button>
    </div>
  );
}
