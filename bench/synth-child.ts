// One synth of an environment of N locations, in its own process: prints time and peak RSS.
import { App } from 'aws-cdk-lib';
import { loadRelease } from '../core/manifest';
import { addOrbitEnvironment } from '../lib/app';
import { benchEnvironment } from './environments';

const [n, releaseDir, outdir] = process.argv.slice(2);
const started = performance.now();
const app = new App({ outdir });
addOrbitEnvironment(app, benchEnvironment(Number(n)), loadRelease(releaseDir as string));
app.synth();
process.stdout.write(
  JSON.stringify({
    ms: performance.now() - started,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  })
);
