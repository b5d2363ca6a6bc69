/**
 * A minimal `node:http` adapter hosting one Lambda bundle (ORBIT_BENCH_BUNDLE) for the route
 * ORBIT_BENCH_ROUTE_KEY: what someone writes by hand to run a handler on a server. A baseline
 * of bench/runtime.ts, never used by Orbit.
 */
const http = require('node:http');
const { toEvent, loadHandler, resultParts, ready } = require('./event');

const routeKey = process.env.ORBIT_BENCH_ROUTE_KEY ?? '$default';

loadHandler().then((invoke) => {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const event = toEvent({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
          sourceIp: req.socket.remoteAddress ?? '',
          routeKey,
        });
        const { status, headers, body } = resultParts(await invoke(event));
        res.writeHead(status, headers);
        res.end(body);
      } catch {
        res.writeHead(500);
        res.end();
      }
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => ready(server.address().port));
});
