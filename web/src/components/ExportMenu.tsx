// Export the conversation as Markdown or JSON (the server builds the file).
import { exportConversation, type ExportFormat } from '../api/conversations';
import { describeError } from '../lib/errors';
import { showToast } from '../state/toasts';
import { Icon } from './Icons';
import { Menu } from './Menu';

async function download(id: string, format: ExportFormat): Promise<void> {
  try {
    const { blob, filename } = await exportConversation(id, format);
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    showToast(`Export failed: ${describeError(err).message}`, { kind: 'error' });
  }
}

export function ExportMenu({ conversationId }: { conversationId: string }) {
  return (
    <Menu
      label="Export"
      items={[
        { label: 'Markdown (.md)', run: () => void download(conversationId, 'markdown') },
        { label: 'JSON (.json)', run: () => void download(conversationId, 'json') },
      ]}
    >
      <Icon name="download" />
    </Menu>
  );
}
