import { type LocalControl, startLocalControl } from '../../lib/local/control';
import type { LinkStatus } from '../../lib/local/links';
import { LogBuffer } from '../../lib/local/log-buffer';

describe('the local control endpoint: faults and logs', () => {
  let control: LocalControl;
  const logs = new LogBuffer(3);
  const links = new Map<string, LinkStatus>();

  beforeAll(async () => {
    control = await startLocalControl({
      wake: () => {},
      governance: async () => 0,
      state: () => ({ environment: 'test', pid: process.pid, runtimes: [] }),
      locations: ['lab', 'boston'],
      logs,
      link: (location, connected) => {
        const status = { location, connected, since: new Date().toISOString() };
        links.set(location, status);
        return status;
      },
    });
  });
  afterAll(() => control.stop());

  const fault = (body: unknown) =>
    fetch(`${control.url}faults`, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('cuts and restores a location link, answering its state', async () => {
    const down = await fault({ location: 'lab', link: 'down' });
    expect(down.status).toBe(200);
    expect(await down.json()).toEqual({
      location: 'lab',
      connected: false,
      since: expect.any(String),
    });
    expect(await (await fault({ location: 'lab', link: 'up' })).json()).toMatchObject({
      connected: true,
    });
  });

  it.each([
    [
      'an unknown location',
      { location: 'mars', link: 'down' },
      404,
      /no location mars; it has lab, boston/,
    ],
    ['no location', { link: 'down' }, 400, /location must name/],
    ['another link state', { location: 'lab', link: 'sideways' }, 400, /"down" .* or "up"/],
    ['a body that is not JSON', 'cut lab', 400, /not JSON/],
  ])('answers a problem for %s', async (_, body, status, detail) => {
    const res = await fault(body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toMatch(detail);
  });

  it("serves a location's recent lines as NDJSON, a function's alone on request", async () => {
    logs.add('lab', 'stderr', 'orbit runtime: the table cannot be reached');
    logs.add(
      'lab',
      'stdout',
      JSON.stringify({ level: 'WARN', function: 'items', message: 'slow' })
    );
    logs.add('boston', 'stdout', 'elsewhere');
    const all = await fetch(`${control.url}logs?location=lab`);
    expect(all.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await all.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        at: expect.any(String),
        location: 'lab',
        stream: 'stderr',
        line: 'orbit runtime: the table cannot be reached',
      },
      expect.objectContaining({ location: 'lab', stream: 'stdout' }),
    ]);
    const items = await (await fetch(`${control.url}logs?location=lab&function=items`)).text();
    expect(items.trim().split('\n')).toHaveLength(1);
    expect((await fetch(`${control.url}logs?location=mars`)).status).toBe(404);
  });

  it('keeps the last lines only', () => {
    for (let i = 0; i < 10; i++) logs.add('kept', 'stdout', `line ${i}`);
    expect(logs.recent({ location: 'kept' }).map((l) => l.line)).toEqual([
      'line 7',
      'line 8',
      'line 9',
    ]);
  });

  it('streams new lines to a follower until it goes', async () => {
    const controller = new AbortController();
    const res = await fetch(`${control.url}logs?location=boston&follow=true`, {
      signal: controller.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = '';
    const next = async () => {
      while (!text.includes('followed')) text += decoder.decode((await reader.read()).value);
    };
    logs.add('boston', 'stdout', 'followed');
    await next();
    expect(text).toContain('"line":"followed"');
    controller.abort();
  });
});
