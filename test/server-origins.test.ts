import { afterEach, describe, expect, it } from 'vitest';
import { lpGet, startServer, wsClient, type TestServer } from './helpers/server-clients';

const servers: TestServer<any>[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const GOOD = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer<any>> {
  const s = await startServer({ pollTimeout: 300, ...options });
  servers.push(s);
  return s;
}

/** A GET that reads only the head of the answer (SSE never ends). */
async function head(url: string, headers: Record<string, string>) {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  const text = res.status === 200 ? '' : await res.text();
  ac.abort();
  return { status: res.status, text, h: res.headers };
}

describe('allowOrigins', () => {
  it('refuses other sites with 403 on every transport and on sends', async () => {
    const s = await start({ allowOrigins: [GOOD] });
    const sse = await head(s.url + '?t=sse', { Origin: EVIL });
    expect(sse).toMatchObject({ status: 403, text: 'origin not allowed' });
    expect((await head(s.url + '?t=lp', { Origin: EVIL })).status).toBe(403);
    const { cid } = JSON.parse((await lpGet(s.url, {})).frames[0].data);
    const send = await fetch(`${s.url}?cid=${cid}`, {
      method: 'POST',
      headers: { Origin: EVIL, 'Content-Type': 'application/json' },
      body: '{"e":"x"}',
    });
    expect(send.status).toBe(403);
    await expect(wsClient(s.url, {}, { Origin: EVIL })).rejects.toMatchObject({ status: 403 });
  });

  it('lets allowed origins in with CORS headers, and answers their preflight', async () => {
    const got: unknown[] = [];
    const s = await start({ allowOrigins: [GOOD] });
    s.push.onMessage((e) => got.push(e));
    const sse = await head(s.url + '?t=sse', { Origin: GOOD });
    expect(sse.status).toBe(200);
    expect(sse.h.get('access-control-allow-origin')).toBe(GOOD);
    expect(sse.h.get('access-control-allow-credentials')).toBe('true');
    expect(sse.h.get('vary')).toBe('Origin');

    const pre = await fetch(`${s.url}?cid=x`, {
      method: 'OPTIONS',
      headers: { Origin: GOOD, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type, x-token' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toBe('GET, POST, DELETE');
    expect(pre.headers.get('access-control-allow-headers')).toBe('content-type, x-token');
    expect(pre.headers.get('access-control-allow-origin')).toBe(GOOD);

    const lp = await fetch(s.url + '?t=lp', { headers: { Origin: GOOD } });
    expect(lp.headers.get('access-control-allow-origin')).toBe(GOOD);
    const cid = /"cid":"([^"]+)"/.exec(await lp.text())![1];
    const send = await fetch(`${s.url}?cid=${cid}`, {
      method: 'POST',
      headers: { Origin: GOOD, 'Content-Type': 'application/json' },
      body: '{"e":"x"}',
    });
    expect(send.status).toBe(204);
    expect(send.headers.get('access-control-allow-origin')).toBe(GOOD);
    expect(got).toEqual(['x']);
    const w = await wsClient(s.url, {}, { Origin: GOOD });
    await w.inbox.waitFor((f) => f.length > 0);
    w.close();
  });

  it('always lets requests without Origin and same-origin requests in, without CORS headers', async () => {
    const s = await start({ allowOrigins: (origin) => origin.endsWith('.trusted.test') });
    const none = await head(s.url + '?t=sse', {});
    expect(none.status).toBe(200);
    expect(none.h.get('access-control-allow-origin')).toBeNull();
    const same = await head(s.url + '?t=sse', { Origin: s.origin });
    expect(same.status).toBe(200);
    expect(same.h.get('access-control-allow-origin')).toBeNull();
    expect((await head(s.url + '?t=sse', { Origin: 'https://a.trusted.test' })).status).toBe(200);
    expect((await head(s.url + '?t=sse', { Origin: EVIL })).status).toBe(403);
  });

  it('checks nothing and adds no CORS headers without the option', async () => {
    const s = await start();
    const r = await head(s.url + '?t=sse', { Origin: EVIL });
    expect(r.status).toBe(200);
    expect(r.h.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(s.url, { method: 'OPTIONS', headers: { Origin: EVIL } })).status).toBe(405);
  });

  it('rejects a malformed allowOrigins at construction', async () => {
    await expect(start({ allowOrigins: 'https://x' as never })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});
