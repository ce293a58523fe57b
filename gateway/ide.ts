// The GraphQL IDE in the browser (issue 18 §4): a browser's GET of /graphql (Accept: text/html, no `query` parameter)
// gets GraphiQL, served from the gateway itself: GraphiQL's prebuilt browser bundle and React's and graphql-ws's UMD
// builds from node_modules, and the small sign-in page below. Nothing is fetched from anywhere else, and the page's
// Content-Security-Policy forbids it (Apollo's own landing page loads from a CDN and stays off). The sign-in box logs
// in with `login` (or takes an API token), keeps the token in sessionStorage for the tab's session, and sends it as
// `Authorization: Bearer` on HTTP and in graphql-ws's connection_init for subscriptions. On unless NODE_ENV=production
// (GATEWAY_IDE switches it either way).
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const IDE_ASSET_PREFIX = '/ide/';

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

const require = createRequire(import.meta.url);

/** The folder of an installed package (some packages' exports hide their package.json). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === name) return dir;
    } catch {
      // no package.json at this level: go up
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of the package ${name}`);
    dir = up;
  }
}

/** The files the page loads, each from its package: name → [package, file, content type]. */
const LIBRARIES: Record<string, [string, string, string]> = {
  'react.js': ['react', 'umd/react.production.min.js', 'text/javascript'],
  'react-dom.js': ['react-dom', 'umd/react-dom.production.min.js', 'text/javascript'],
  'graphiql.js': ['graphiql', 'graphiql.min.js', 'text/javascript'],
  'graphiql.css': ['graphiql', 'graphiql.min.css', 'text/css'],
  'graphql-ws.js': ['graphql-ws', 'umd/graphql-ws.min.js', 'text/javascript'],
};

// The page's own script: sign-in, then GraphiQL with a fetcher carrying the token (HTTP and graphql-ws).
const APP_JS = `'use strict';
(function () {
  var h = React.createElement;
  var TOKEN_KEY = 'kubegraph.token';
  var LOGIN = 'mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { accessToken } }';
  var endpoint = location.pathname;
  var wsUrl = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + endpoint;

  function SignIn(props) {
    var s = React.useState({ username: '', password: '', token: '', error: '', busy: false });
    var state = s[0], set = s[1];
    function field(name, type, label) {
      return h('label', null, label, h('input', { name: name, type: type, value: state[name], autoComplete: name === 'token' ? 'off' : name,
        onChange: function (e) { var next = Object.assign({}, state); next[name] = e.target.value; set(next); } }));
    }
    function submit(e) {
      e.preventDefault();
      if (state.token) { props.onToken(state.token.replace(/^Bearer\\s+/i, '')); return; }
      set(Object.assign({}, state, { busy: true, error: '' }));
      fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query: LOGIN, operationName: 'Login', variables: { username: state.username, password: state.password } }) })
        .then(function (r) { return r.json(); })
        .then(function (body) {
          if (body.data && body.data.login) props.onToken(body.data.login.accessToken);
          else set(Object.assign({}, state, { busy: false, error: (body.errors && body.errors[0] && body.errors[0].message) || 'sign-in failed' }));
        })
        .catch(function (err) { set(Object.assign({}, state, { busy: false, error: String(err) })); });
    }
    return h('form', { className: 'kg-signin', onSubmit: submit },
      h('h1', null, 'kubegraph'),
      field('username', 'text', 'Username'),
      field('password', 'password', 'Password'),
      h('p', { className: 'kg-or' }, 'or an API token'),
      field('token', 'password', 'Token'),
      h('button', { type: 'submit', disabled: state.busy }, 'Sign in'),
      state.error ? h('p', { className: 'kg-error', role: 'alert' }, state.error) : null);
  }

  function App() {
    var t = React.useState(sessionStorage.getItem(TOKEN_KEY) || '');
    var token = t[0], setToken = t[1];
    var fetcher = React.useMemo(function () {
      if (!token) return null;
      var auth = 'Bearer ' + token;
      return GraphiQL.createFetcher({
        url: endpoint,
        headers: { authorization: auth },
        wsClient: graphqlWs.createClient({ url: wsUrl, connectionParams: { authorization: auth }, lazy: true }),
      });
    }, [token]);
    function signIn(value) { sessionStorage.setItem(TOKEN_KEY, value); setToken(value); }
    function signOut() { sessionStorage.removeItem(TOKEN_KEY); setToken(''); }
    if (!token) return h(SignIn, { onToken: signIn });
    return h('div', { className: 'kg-ide' },
      h('div', { className: 'kg-bar' }, h('span', null, 'kubegraph'), h('button', { onClick: signOut }, 'Sign out')),
      h('div', { className: 'kg-graphiql' }, h(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true })));
  }

  ReactDOM.createRoot(document.getElementById('root')).render(h(App));
})();
`;

const APP_CSS = `html, body, #root { height: 100%; margin: 0; }
body { font-family: system-ui, sans-serif; }
.kg-ide { display: flex; flex-direction: column; height: 100%; }
.kg-bar { display: flex; justify-content: space-between; align-items: center; padding: 4px 12px; background: #0f2b46; color: #fff; }
.kg-graphiql { flex: 1; min-height: 0; }
.kg-signin { max-width: 320px; margin: 10vh auto; display: flex; flex-direction: column; gap: 10px; }
.kg-signin label { display: flex; flex-direction: column; gap: 4px; font-size: 14px; }
.kg-signin input { padding: 6px; font-size: 14px; }
.kg-or { margin: 6px 0 0; color: #666; font-size: 13px; }
.kg-error { color: #b00020; }
`;

function page(): string {
  const asset = (name: string) => `${IDE_ASSET_PREFIX}${name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kubegraph GraphQL IDE</title>
<link rel="stylesheet" href="${asset('graphiql.css')}">
<link rel="stylesheet" href="${asset('app.css')}">
</head>
<body>
<div id="root"></div>
<script src="${asset('react.js')}"></script>
<script src="${asset('react-dom.js')}"></script>
<script src="${asset('graphql-ws.js')}"></script>
<script src="${asset('graphiql.js')}"></script>
<script src="${asset('app.js')}"></script>
</body>
</html>
`;
}

// Only this origin: scripts and styles from /ide/, fetches and websockets to the gateway. (GraphiQL's editors set
// inline styles; its fonts are data: URLs in its CSS.)
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, cache: string) {
  res.writeHead(status, {
    'Content-Type': `${type}; charset=utf-8`,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': cache,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CSP,
    'Referrer-Policy': 'no-referrer',
  });
  res.end(body);
}

/** A browser asking for the endpoint as a page, not a GraphQL-over-HTTP client asking a GET query. */
function wantsPage(req: IncomingMessage, url: URL): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (url.searchParams.has('query') || url.searchParams.has('extensions')) return false;
  return (req.headers.accept ?? '').split(',').some((part) => part.trim().toLowerCase().startsWith('text/html'));
}

export interface IdeOptions {
  /** The GraphQL endpoint's path, where the page is served (and `/`, which redirects to it). */
  path: string;
}

/** The gateway's IDE routes: the page on GET `path` (and `/`) from a browser, its files under /ide/. */
export function ideRoute(opts: IdeOptions): Route {
  const files = new Map<string, { body: Buffer | string; type: string }>([
    ['app.js', { body: APP_JS, type: 'text/javascript' }],
    ['app.css', { body: APP_CSS, type: 'text/css' }],
  ]);
  // Read once, when first asked (a gateway that never serves the IDE never reads them).
  const file = (name: string) => {
    if (!files.has(name) && name in LIBRARIES) {
      const [pkg, path, type] = LIBRARIES[name];
      files.set(name, { body: readFileSync(join(packageDir(pkg), path)), type });
    }
    return files.get(name);
  };
  const html = page();
  return (req, res, url) => {
    if (url.pathname.startsWith(IDE_ASSET_PREFIX) && (req.method === 'GET' || req.method === 'HEAD')) {
      const f = file(url.pathname.slice(IDE_ASSET_PREFIX.length));
      if (!f) return false;
      send(res, 200, f.type, f.body, 'public, max-age=3600');
      return true;
    }
    if (url.pathname === '/' && wantsPage(req, url)) {
      res.writeHead(302, { Location: opts.path, 'Content-Length': 0 });
      res.end();
      return true;
    }
    if (url.pathname === opts.path && wantsPage(req, url)) {
      send(res, 200, 'text/html', html, 'no-store');
      return true;
    }
    return false;
  };
}

/** Several route handlers as one: the first that handles the request wins. */
export function firstRoute(...routes: (Route | undefined)[]): Route {
  return async (req, res, url) => {
    for (const route of routes) if (route && (await route(req, res, url))) return true;
    return false;
  };
}
