import 'aws-sdk-client-mock-jest';

// Handlers log and emit EMF metrics to stdout; tests that check them turn them back on.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
// The SDK's notice that Node 20 support ends in 2027 is in the README; it is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
