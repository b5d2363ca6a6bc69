import 'aws-sdk-client-mock-jest';

// Handlers log and emit EMF metrics to stdout; tests that check them turn them back on.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// The SDK's notice that Node 20 support ends in 2027 is in the README; it is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Every SDK command a test sends through aws-sdk-client-mock is recorded, so that the run
// fails when code sends one the IAM call table (lib/aws-calls.ts) has no row for (see
// test/support/sdk-calls.ts, checked by the global teardown).
afterAll(() => jest.requireActual('./sdk-calls').recordAllStubs());
jest.mock('aws-sdk-client-mock', () => {
  const actual = jest.requireActual('aws-sdk-client-mock');
  const { recordStub } = jest.requireActual('./sdk-calls');
  return { ...actual, mockClient: (...args: unknown[]) => recordStub(actual.mockClient(...args)) };
});
