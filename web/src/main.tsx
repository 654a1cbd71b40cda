// Entry point: theme first (before the first paint), then the router, the session and the UI.
import { render } from 'preact';
import { App } from './components/App';
import { getCsrfToken } from './api/http';
import { flushPendingDeletes } from './state/conversations';
import { startLayout } from './state/layout';
import { startRouter } from './state/router';
import { bootstrap } from './state/session';
import { startTheme } from './state/theme';
import './styles/base.css';
import './styles/controls.css';
import './styles/layout.css';
import './styles/chat.css';
import './styles/composer.css';
import './styles/markdown.css';
import './styles/pages.css';
import './styles/tables.css';

startTheme();
startLayout();
startRouter();
window.addEventListener('pagehide', () => flushPendingDeletes(getCsrfToken()));
if (!location.pathname.startsWith('/share/')) void bootstrap();
render(<App />, document.getElementById('app')!);
