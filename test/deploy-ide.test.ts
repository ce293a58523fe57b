// The GraphQL IDE in a real browser (issue 18 §4): Debian's chromium driven by playwright-core against the whole test
// stack. Sign in, run a query and see its result, open the documentation explorer, start podStatusChanged, delete a
// pod with kubectl and see the event arrive; a screenshot of each step goes to .data/test-output/deploy-ide/. Every
// request the page makes goes to the gateway (no CDN): anything else is refused and fails the test. Off when the
// gateway is told so (NODE_ENV=production's default), and GATEWAY_IDE switches it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatewayOptionsFromEnv } from '../gateway/config.js';
import { ROOT } from './harness/deploy.js';
import { STACK_ADMIN_PASSWORD, startTestStack, type TestStack } from './harness/stack.js';
import { eventually } from './harness/sandbox.js';

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(ROOT, '.data/test-output/deploy-ide');

let stack: TestStack;
let browser: Browser;
let page: Page;
const foreign: string[] = [];
let step = 0;
const shot = async (name: string) => {
  step += 1;
  await page.screenshot({ path: join(OUT, `${String(step).padStart(2, '0')}-${name}.png`) });
};

beforeAll(async () => {
  expect(existsSync(CHROMIUM), 'Debian chromium (apt-get install chromium)').toBe(true);
  mkdirSync(OUT, { recursive: true });
  stack = await startTestStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const origin = new URL(stack.gateway.url).origin;
  // Only the gateway: a request anywhere else is refused before it leaves the browser, and noted.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:')) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  page = await context.newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

// What the page's functions use of the browser (the project compiles without the DOM library; these run in Chromium).
interface PageGlobals {
  document: {
    querySelector(selector: string): { CodeMirror?: { getValue(): string; setValue(v: string): void } } | null;
  };
  localStorage: { getItem(key: string): string | null };
  sessionStorage: { getItem(key: string): string | null };
}

/** The text of a GraphiQL editor (CodeMirror 5 keeps its instance on its wrapper element). */
const editorText = (selector: string) =>
  page.evaluate((sel) => {
    const g = globalThis as unknown as PageGlobals;
    return g.document.querySelector(`${sel} .CodeMirror`)?.CodeMirror?.getValue() ?? '';
  }, selector);
/** Puts a document into the query editor and waits until GraphiQL has taken it in (it saves it, debounced). */
async function setQuery(text: string): Promise<void> {
  await page.evaluate((q) => {
    const g = globalThis as unknown as PageGlobals;
    g.document.querySelector('.graphiql-query-editor .CodeMirror')!.CodeMirror!.setValue(q);
  }, text);
  await eventually(
    async () =>
      (await page.evaluate(() => (globalThis as unknown as PageGlobals).localStorage.getItem('graphiql:query'))) ===
        text || undefined,
    10_000,
    'GraphiQL to take the query in',
  );
}

describe('GraphiQL in Chromium', () => {
  it('serves the sign-in page from the gateway alone, then signs in', async () => {
    const res = await page.goto(`${stack.gateway.url}`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toMatch(/default-src 'none'/);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(STACK_ADMIN_PASSWORD);
    await shot('sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.graphiql-query-editor').waitFor({ timeout: 30_000 });
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('kubegraph.token')),
    ).toMatch(/^ey/);
    await shot('signed-in');
  }, 60_000);

  it('runs a query and shows the result', async () => {
    await setQuery('{ me { username } pods(namespace: "shop", first: 3) { edges { node { name status } } } }');
    await page.locator('.graphiql-execute-button').click();
    await eventually(
      async () => (await editorText('.graphiql-response')).includes('"username": "admin"') || undefined,
      30_000,
      'the result',
    );
    expect(await editorText('.graphiql-response')).toMatch(/"status": "RUNNING"/);
    await shot('query-result');
  }, 60_000);

  it("opens the schema's documentation explorer", async () => {
    await page.getByRole('button', { name: /Show Documentation Explorer/i }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await eventually(async () => /Root Types/i.test(await docs.innerText()) || undefined, 20_000, 'the root types');
    await docs.getByText('Query', { exact: true }).first().click();
    await eventually(
      async () => /podStatusChanged|pods/.test(await docs.innerText()) || undefined,
      20_000,
      'the fields',
    );
    expect(await docs.innerText()).toMatch(/\bpods\b/);
    await shot('docs-explorer');
  }, 60_000);

  it('starts podStatusChanged over graphql-ws and shows the event of a pod deleted with kubectl', async () => {
    const pods = JSON.parse(await stack.cluster.kubectl(['-n', 'shop', 'get', 'pods', '-o', 'json'])) as {
      items: { metadata: { name: string } }[];
    };
    const victim = pods.items[0].metadata.name;
    // What the browser's graphql-ws connection receives.
    const frames: string[] = [];
    page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))));
    await setQuery('subscription PodEvents { podStatusChanged(namespace: "shop") { type pod { name status } } }');
    await page.locator('.graphiql-execute-button').click();
    await shot('subscription-run');
    // The subscription is open once the gateway counts it.
    await eventually(
      async () => {
        const metrics = await (await fetch(`${new URL(stack.gateway.url).origin}/metrics`)).text();
        return /kubegraph_gateway_subscriptions_active(\{[^}]*\})? [1-9]/.test(metrics) || undefined;
      },
      30_000,
      'the subscription to open',
    ).catch(async (e: Error) => {
      throw new Error(`${e.message}; the response pane says: ${await editorText('.graphiql-response')}`);
    });
    await shot('subscription-started');
    await stack.cluster.kubectl(['-n', 'shop', 'delete', 'pod', victim, '--wait=false']);
    // The pane shows the latest event (the ReplicaSet's new pod follows at once); the frames show each one.
    await eventually(
      () => frames.find((f) => f.includes('"next"') && f.includes(victim) && /"type":"(MODIFIED|DELETED)"/.test(f)),
      60_000,
      'the event of the deleted pod',
    );
    await eventually(
      async () => (await editorText('.graphiql-response')).includes('podStatusChanged') || undefined,
      30_000,
      'an event in the pane',
    );
    await shot('subscription-event');
  }, 120_000);

  it('fetched nothing from anywhere but the gateway', () => {
    expect(foreign).toEqual([]);
  });
});

describe('switching the IDE', () => {
  it('is off when the gateway is told so: a browser GET of /graphql is an ordinary GraphQL request', async () => {
    const off = await stack.startGateway({ ide: false });
    const res = await fetch(off.url, { headers: { accept: 'text/html' } });
    await res.arrayBuffer();
    expect(res.headers.get('content-type')).not.toMatch(/text\/html/);
    const asset = await fetch(`${new URL(off.url).origin}/ide/graphiql.js`);
    await asset.arrayBuffer();
    expect(asset.status).toBe(404);
  });

  it('defaults to off with NODE_ENV=production, and GATEWAY_IDE switches it either way', () => {
    const saved = { NODE_ENV: process.env.NODE_ENV, GATEWAY_IDE: process.env.GATEWAY_IDE };
    try {
      process.env.NODE_ENV = 'production';
      delete process.env.GATEWAY_IDE;
      expect(gatewayOptionsFromEnv().ide).toBe(false);
      process.env.GATEWAY_IDE = 'true';
      expect(gatewayOptionsFromEnv().ide).toBe(true);
      delete process.env.NODE_ENV;
      process.env.GATEWAY_IDE = 'false';
      expect(gatewayOptionsFromEnv().ide).toBe(false);
      delete process.env.GATEWAY_IDE;
      expect(gatewayOptionsFromEnv().ide).toBe(true);
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });
});
