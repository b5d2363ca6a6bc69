/**
 * A fastify adapter hosting one Lambda bundle (ORBIT_BENCH_BUNDLE) for the route
 * ORBIT_BENCH_ROUTE_KEY: the framework a user would pick to run handlers on a server. A
 * baseline of bench/runtime.ts (fastify is a devDependency), never used by Orbit.
 */
const fastify = require('fastify');
const { toEvent, loadHandler, resultParts, ready } = require('./event');

const routeKey = process.env.ORBIT_BENCH_ROUTE_KEY ?? '$default';

loadHandler().then(async (invoke) => {
  const app = fastify({ logger: false, keepAliveTimeout: 65_000 });
  // Bodies reach the handler as received, whatever their type, as API Gateway passes them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.all('*', async (request, reply) => {
    const event = toEvent({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: request.body,
      sourceIp: request.ip,
      routeKey,
    });
    const { status, headers, body } = resultParts(await invoke(event));
    reply.code(status).headers(headers);
    return body;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  ready(app.server.address().port);
});
