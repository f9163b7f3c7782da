// The dashboard's entry: top navigation and hash routing to the pages.
import { html, render } from 'htm/preact';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import { FailuresPage } from './failures.js';
import { JobPage } from './job.js';
import { JobsPage } from './jobs.js';
import { OverviewPage } from './overview.js';
import { useRoute } from './router.js';
import { SchedulesPage } from './schedules.js';

const NAV = [
  { href: '#/', label: 'Overview', match: (p) => p.length === 0 },
  { href: '#/jobs', label: 'Jobs', match: (p) => p[0] === 'jobs' },
  { href: '#/failures', label: 'Failures', match: (p) => p[0] === 'failures' },
  { href: '#/schedules', label: 'Schedules', match: (p) => p[0] === 'schedules' },
];

function Page({ route }) {
  const { parts, params } = route;
  if (parts.length === 0) return html`<${OverviewPage} />`;
  if (parts[0] === 'jobs' && parts.length === 1) return html`<${JobsPage} params=${params} />`;
  if (parts[0] === 'jobs' && parts.length === 2) return html`<${JobPage} key=${parts[1]} id=${parts[1]} />`;
  if (parts[0] === 'failures') return html`<${FailuresPage} params=${params} />`;
  if (parts[0] === 'schedules') return html`<${SchedulesPage} />`;
  return html`<section><h1>Not found</h1><p><a href="#/">Back to the overview</a></p></section>`;
}

function App() {
  const route = useRoute();
  return html`
    <header class="topbar">
      <a class="brand" href="#/">Queues</a>
      <nav>
        ${NAV.map((n) => html`
          <a href=${n.href} class=${n.match(route.parts) ? 'active' : ''} data-testid=${`nav-${n.label.toLowerCase()}`}>${n.label}</a>
        `)}
      </nav>
    </header>
    <main class="content"><${Page} route=${route} /></main>
  `;
}

render(html`<${App} />`, document.getElementById('app'));
