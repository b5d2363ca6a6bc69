#!/usr/bin/env node
// `npx orbit`: runs the TypeScript CLI through tsx, as the CDK app and `npm start` run.
require('tsx/cjs');
require('./orbit-cli.ts');
