/**
 * The demo (examples/): its server started in-process with `startDemo({ port: 0 })`, its page in
 * Chromium. Ticker events arrive on each forced transport, the cut button leads to a reconnect that
 * resumes with no gap, chat reaches the room and no other, `npm run demo`'s command prints what to
 * open and stops cleanly on Ctrl-C. demo-screenshot.spec.ts writes docs/demo.png.
 */
import { spawn } from 'node:child_process';
import type { Page } from '@playwright/test';
import { startDemo, type Demo } from '../../examples/server';
import { expect, grows, long, num, openPage, ROOT, test as base } from './fixtures';

const TRANSPORTS = ['websocket', 'eventsource', 'longpoll'] as const;

const test = base.extend<{ demo: Demo & { lines: string[] } }>({
  // eslint-disable-next-line no-empty-pattern
  demo: async ({}, use) => {
    const lines: string[] = [];
    const demo = await startDemo({ port: 0, host: '127.0.0.1', log: (l) => lines.push(l) });
    await use(Object.assign(demo, { lines }));
    await demo.close();
  },
});

// On failure, the page's lifecycle log says what the client went through.
test.afterEach(async ({ page }, info) => {
  if (info.status === info.expectedStatus || page.isClosed()) return;
  const log = await page
    .locator('#log')
    .innerText({ timeout: 2000 })
    .catch(() => '(no log)');
  await info.attach('lifecycle log', { body: log, contentType: 'text/plain' });
});

// The machine may be busy with other test runs: be patient, but every wait still has an end (`long`).
test.describe.configure({ timeout: 150_000 });

/** The page's connections as the server sees them (not the start-up self-check). */
const served = (demo: Demo) => demo.push.connections.filter((c) => !c.user?.selfCheck);

async function force(page: Page, mode: (typeof TRANSPORTS)[number] | 'auto', expected: string = mode): Promise<void> {
  await page.bringToFront();
  await page.locator(`[data-mode="${mode}"]`).click();
  await expect(page.locator(`[data-mode="${mode}"]`)).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('#transport')).toHaveText(expected, long);
  await expect(page.locator('#state')).toHaveText('open', long);
}

async function noLoss(page: Page): Promise<void> {
  await expect(page.locator('#missed')).toHaveText('0');
  await expect(page.locator('#dups')).toHaveText('0');
  await expect(page.locator('#log li[data-kind="gap"]')).toHaveCount(0);
}

test('the terminal says what URL to open and which transports are up', async ({ demo }) => {
  const text = demo.lines.join('\n');
  expect(text).toContain(`Open ${demo.url} in a browser`);
  expect(demo.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  for (const t of TRANSPORTS) {
    expect(demo.transports[t]).toMatchObject({ ok: true });
    expect(text).toMatch(new RegExp(`^ +up +${t} +first message after \\d+ ms$`, 'm'));
  }
  expect(text).not.toContain('DOWN');
  // The self-check's connections are gone: nothing is connected before a page is.
  await expect.poll(() => demo.push.connections.length).toBe(0);
});

test('ticker events arrive on each forced transport, with nothing missed across the switches', async ({ page, demo }) => {
  await openPage(page, demo);
  // Auto picks WebSocket first.
  await expect(page.locator('#transport')).toHaveText('websocket');
  await grows(page, 'websocket', 10);

  for (const t of TRANSPORTS) {
    await force(page, t);
    await grows(page, t, 10);
    // The server agrees about the transport.
    await expect.poll(() => served(demo).map((c) => c.transport), long).toContain(t);
    await expect(page.locator(`#stats tr[data-transport="${t}"]`)).toHaveClass(/active/);
    // A latency figure is shown for the transport in use.
    await expect(page.locator(`#stats tr[data-transport="${t}"] .p50`)).toHaveText(/^\d+(\.\d)? ms$/);
  }
  await force(page, 'auto', 'websocket');
  await grows(page, 'websocket', 5);

  // The new client of each switch resumed from the old one's last-event-id.
  await expect(page.locator('#log li[data-kind="open"]').first()).toContainText('resumed after id');
  await noLoss(page);
  expect(await num(page.locator('#total'))).toBeGreaterThan(40);
});

test('the cut button closes the connection; the client reconnects and resumes with no gap, on each transport', async ({ page, demo }) => {
  await openPage(page, demo);
  for (const t of TRANSPORTS) {
    await force(page, t);
    await grows(page, t, 5);
    const before = served(demo)
      .filter((c) => c.transport === t)
      .map((c) => c.id);
    expect(before).toHaveLength(1);
    const reconnects = await page.locator('#log li[data-kind="reconnecting"]').count();
    const opens = await page.locator('#log li[data-kind="open"]').count();

    await page.bringToFront();
    await page.locator('#cut').click();
    await expect(page.locator('#cut-result')).toHaveText(/^server closed [1-9]\d* connections?$/);
    // Lifecycle: reconnecting (with the error's code), then open again, resumed.
    await expect(page.locator('#log li[data-kind="reconnecting"]')).toHaveCount(reconnects + 1, long);
    await expect(page.locator('#log li[data-kind="reconnecting"]').first()).toContainText('TRANSPORT_FAILED');
    await expect(page.locator('#log li[data-kind="open"]')).toHaveCount(opens + 1, long);
    await expect(page.locator('#log li[data-kind="open"]').first()).toContainText(`${t}: resumed after id`);
    await expect(page.locator('#transport')).toHaveText(t);
    await expect(page.locator('#state')).toHaveText('open');

    // It is a new connection on the server, and events flow again.
    await expect.poll(() => served(demo).some((c) => c.transport === t && !before.includes(c.id)), long).toBe(true);
    expect(served(demo).map((c) => c.id)).not.toContain(before[0]);
    await grows(page, t, 5);
    await noLoss(page);
  }
});

test('chat reaches the other pages in the same room and not those in another; a refused room keeps the old one', async ({ page, demo }) => {
  const errors: string[] = [];
  const other = async (query: string) => {
    const p = await page.context().newPage();
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await openPage(p, demo, query);
    return p;
  };
  await openPage(page, demo, '?name=ada');
  const bob = await other('?name=bob&room=lobby');
  const cy = await other('?name=cy&room=dev&transport=longpoll');
  await expect(cy.locator('#transport')).toHaveText('longpoll');
  const members = (room: string) => served(demo).filter((c) => c.channels.has(`room:${room}`)).length;
  await expect.poll(() => [members('lobby'), members('dev')], long).toEqual([2, 1]);

  const messages = (p: Page) => p.locator('#messages li');
  const say = async (p: Page, text: string) => {
    // A background tab gets no animation frames, which Playwright's actionability checks wait for.
    await p.bringToFront();
    await p.locator('#text').fill(text);
    await p.locator('#text').press('Enter');
  };

  await say(page, 'hello lobby');
  await expect(bob.locator('#messages li.other')).toHaveText([/^adahello lobby\d\d:\d\d:\d\d$/]);
  // The sender gets its own copy back (conn.send), marked as its own.
  await expect(page.locator('#messages li.self')).toHaveText([/^youhello lobby/]);
  await expect(page.locator('#messages li.other')).toHaveCount(0);

  // cy (in #dev) sees its own message; the lobby's, published before it, never came.
  await say(cy, 'hello dev');
  await expect(cy.locator('#messages li.self')).toHaveText([/^youhello dev/]);
  await expect(messages(cy).filter({ hasText: 'hello lobby' })).toHaveCount(0);
  // And the lobby does not see #dev's: bob's next message reaches ada after it, alone.
  await say(bob, 'still lobby');
  await expect(page.locator('#messages li.other')).toHaveText([/^bobstill lobby/]);
  await expect(messages(page).filter({ hasText: 'hello dev' })).toHaveCount(0);
  await expect(messages(bob).filter({ hasText: 'hello dev' })).toHaveCount(0);

  // cy moves to the lobby: joined without reconnecting, and gets the lobby's messages from now on.
  const cyConn = served(demo).find((c) => c.channels.has('room:dev'))!.id;
  await cy.bringToFront();
  await cy.locator('#room').selectOption('lobby');
  await expect(cy.locator('#log li[data-kind="join"]').first()).toHaveText(/left #dev, joined #lobby/);
  await expect.poll(() => [members('lobby'), members('dev')], long).toEqual([3, 0]);
  await say(page, 'welcome cy');
  await expect(cy.locator('#messages li.other')).toHaveText([/^adawelcome cy/]);

  // The secret room is refused by the server's onJoin: the reason reaches the page, cy stays in the lobby.
  await cy.bringToFront();
  await cy.locator('#room').selectOption('secret');
  const refused = cy.locator('#log li[data-kind="refused"]');
  await expect(refused).toHaveCount(1, long);
  await expect(refused).toContainText('JOIN_REFUSED');
  await expect(refused).toContainText('#secret is invite-only');
  await expect(cy.locator('#room')).toHaveValue('lobby');
  await say(bob, 'after the refusal');
  await expect(cy.locator('#messages li.other').last()).toHaveText(/^bobafter the refusal/);
  // Same connection all along: join and leave did not reconnect.
  expect(served(demo).some((c) => c.id === cyConn && c.channels.has('room:lobby') && !c.channels.has('room:secret'))).toBe(true);
  await expect(cy.locator('#log li[data-kind="reconnecting"]')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('`npm run demo`: prints the URL and the transports, refuses a busy port readably, stops cleanly on Ctrl-C', async () => {
  const run = (port: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: port, HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    return { child, exited, output: () => out };
  };
  const demo = run('0');
  try {
    await expect.poll(demo.output, { timeout: 45_000, message: 'the demo prints its URL' }).toMatch(/Open http:\/\/127\.0\.0\.1:\d+\/ in a browser/);
    const url = demo.output().match(/Open (http:\/\/\S+) in a browser/)![1];
    for (const t of TRANSPORTS) expect(demo.output()).toMatch(new RegExp(`up +${t} +first message after`));
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>push-client demo</title>');
    expect((await fetch(url + 'app.js')).status).toBe(200);

    const busy = run(new URL(url).port);
    expect(await busy.exited).toBe(1);
    expect(busy.output()).toContain(`Port ${new URL(url).port} is in use`);

    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('Closed. Bye.');
    await expect(fetch(url)).rejects.toThrow();
  } finally {
    if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
  }
});

test('with "Share across tabs", three tabs of the demo hold one connection: one leads, the others follow', async ({ context, demo }) => {
  const tabs = [await context.newPage(), await context.newPage(), await context.newPage()];
  for (const tab of tabs) await openPage(tab, demo, '?transport=eventsource&share=1');
  await expect(tabs[0].locator('#share-tabs')).toBeChecked();
  await expect(tabs[0].locator('#share')).toHaveText('· this tab leads 3 tab(s)', long);
  for (const tab of tabs.slice(1)) await expect(tab.locator('#share')).toHaveText('· follows the leading tab (3 tabs)', long);
  await expect.poll(() => served(demo).length, long).toBe(1);
  for (const tab of tabs) await grows(tab, 'eventsource', 3);
});
