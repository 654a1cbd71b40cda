// Notices above the conversation: the demo model's banner.
import { isDemoModel } from '../state/models';
import { Icon } from './Icons';

export function DemoBanner({ model }: { model: string | null }) {
  if (!isDemoModel(model)) return null;
  return (
    <div class="banner banner-demo" role="note" aria-label="Demo model">
      <Icon name="alert" size={16} />
      <p>
        <strong>Demo model:</strong> {model} has random weights, so its replies are noise. To chat with a real model, start the server with{' '}
        <code>parley serve --model FILE.gguf</code>.
      </p>
    </div>
  );
}
