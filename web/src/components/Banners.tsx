// Notices above the conversation: the demo model's banner.
import { signal } from '@preact/signals';
import { isDemoModel } from '../state/models';
import { Icon } from './Icons';

const KEY = 'parley.demoBannerHidden';
// Hidden for this browser tab only: a new visit shows it again.
const hidden = signal(typeof sessionStorage !== 'undefined' && sessionStorage.getItem(KEY) === '1');

export function DemoBanner({ model }: { model: string | null }) {
  if (!isDemoModel(model) || hidden.value) return null;
  return (
    <div class="banner banner-demo" role="note" aria-label="Demo model">
      <Icon name="alert" size={16} />
      <p>
        <strong>Demo model:</strong> {model} has random weights, so its replies are noise. To chat with a real model, start the server with{' '}
        <code>parley serve --model FILE.gguf</code>.
      </p>
      <button
        type="button"
        class="icon-btn small"
        aria-label="Hide the demo notice"
        title="Hide"
        onClick={() => {
          hidden.value = true;
          try {
            sessionStorage.setItem(KEY, '1');
          } catch {
            /* hidden until reload */
          }
        }}
      >
        <Icon name="close" size={14} />
      </button>
    </div>
  );
}
