import { clfTime, fromResult, toEvent } from '../../../functions/shared/http-event';

/**
 * The example event of AWS's "Create AWS Lambda proxy integrations for HTTP APIs" page
 * (payload format 2.0), keys and shapes: what handlers see in a region.
 */
const AWS_EXAMPLE_KEYS = [
  'version',
  'routeKey',
  'rawPath',
  'rawQueryString',
  'cookies',
  'headers',
  'queryStringParameters',
  'requestContext',
  'body',
  'pathParameters',
  'isBase64Encoded',
];
const AWS_REQUEST_CONTEXT_KEYS = [
  'accountId',
  'apiId',
  'domainName',
  'domainPrefix',
  'http',
  'requestId',
  'routeKey',
  'stage',
  'time',
  'timeEpoch',
];

describe('the payload 2.0 event', () => {
  const now = new Date(Date.UTC(2026, 10, 25, 9, 5, 7));
  const event = toEvent({
    method: 'POST',
    url: '/my/path/abc?parameter1=value1&parameter1=value2&parameter2=value',
    headers: {
      host: 'id.orbit.example.com',
      header1: 'value1',
      header2: 'value1,value2',
      cookie: 'cookie1=a; cookie2=b',
      'content-type': 'application/json',
      'user-agent': 'agent',
    },
    body: Buffer.from('{"hello":"world"}'),
    sourceIp: '192.0.2.1',
    requestId: 'id',
    routeKey: 'POST /my/path/{id}',
    pathParameters: { id: 'abc' },
    domainName: 'id.orbit.example.com',
    now,
  });

  it('has every field of AWS documented example, in the same shapes', () => {
    expect(Object.keys(event).sort()).toEqual([...AWS_EXAMPLE_KEYS].sort());
    expect(Object.keys(event.requestContext).sort()).toEqual([...AWS_REQUEST_CONTEXT_KEYS].sort());
    expect(event.requestContext.http).toEqual({
      method: 'POST',
      path: '/my/path/abc',
      protocol: 'HTTP/1.1',
      sourceIp: '192.0.2.1',
      userAgent: 'agent',
    });
  });

  it('joins repeated query parameters with commas and keeps the raw query string', () => {
    expect(event.rawQueryString).toBe('parameter1=value1&parameter1=value2&parameter2=value');
    expect(event.queryStringParameters).toEqual({
      parameter1: 'value1,value2',
      parameter2: 'value',
    });
  });

  it('moves cookies out of the headers into their own field', () => {
    expect(event.cookies).toEqual(['cookie1=a', 'cookie2=b']);
    expect(event.headers.cookie).toBeUndefined();
    expect(event.headers.header2).toBe('value1,value2');
  });

  it('carries the route key, path parameters, time and epoch like API Gateway', () => {
    expect(event.routeKey).toBe('POST /my/path/{id}');
    expect(event.pathParameters).toEqual({ id: 'abc' });
    expect(event.requestContext.time).toBe('25/Nov/2026:09:05:07 +0000');
    expect(event.requestContext.timeEpoch).toBe(now.getTime());
    expect(event.requestContext.domainPrefix).toBe('id');
    expect(clfTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)))).toBe('02/Jan/2026:03:04:05 +0000');
  });

  it('passes text bodies as text and binary bodies base64-encoded', () => {
    expect(event.body).toBe('{"hello":"world"}');
    expect(event.isBase64Encoded).toBe(false);
    const binary = toEvent({
      method: 'PUT',
      url: '/file',
      headers: { 'content-type': 'image/png' },
      body: Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      sourceIp: '',
      requestId: 'id',
      routeKey: 'PUT /file',
      domainName: 'localhost',
      now,
    });
    expect(binary.isBase64Encoded).toBe(true);
    expect(binary.body).toBe('iVBORw==');
  });

  it('omits body, cookies, query and path parameters when there are none', () => {
    const bare = toEvent({
      method: 'GET',
      url: '/health',
      headers: {},
      body: Buffer.alloc(0),
      sourceIp: '',
      requestId: 'id',
      routeKey: 'GET /health',
      domainName: 'localhost',
      now,
    });
    expect(bare).not.toHaveProperty('body');
    expect(bare).not.toHaveProperty('cookies');
    expect(bare).not.toHaveProperty('queryStringParameters');
    expect(bare).not.toHaveProperty('pathParameters');
    expect(bare.isBase64Encoded).toBe(false);
  });
});

describe('mapping a result back', () => {
  it('sends a structured result as given, with cookies as set-cookie headers', () => {
    const res = fromResult({
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'X-A': 'b' },
      cookies: ['a=1; Secure', 'b=2'],
      body: 'made',
    });
    expect(res.status).toBe(201);
    expect(res.headers).toEqual({
      'content-type': 'text/plain',
      'x-a': 'b',
      'set-cookie': ['a=1; Secure', 'b=2'],
    });
    expect(res.body.toString()).toBe('made');
  });

  it('decodes a base64 body', () => {
    expect(
      fromResult({ statusCode: 200, body: 'aGk=', isBase64Encoded: true }).body.toString()
    ).toBe('hi');
  });

  it.each([
    ['a string', 'Hello from Lambda!', 'Hello from Lambda!'],
    [
      'an object without statusCode',
      { message: 'Hello from Lambda!' },
      '{"message":"Hello from Lambda!"}',
    ],
    ['nothing', undefined, 'null'],
  ])('answers %s as 200 application/json with the result as body', (_, result, body) => {
    const res = fromResult(result as never);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.body.toString()).toBe(body);
  });
});
