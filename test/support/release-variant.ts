import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Release } from '../../core/manifest';

/**
 * A copy of a built release under another id, beside it, optionally with one bundle replaced
 * (and its digest in the manifest with it: runtimes refuse a bundle that does not match its
 * manifest). Returns the copy's directory, ready for `orbit stage`.
 */
export function releaseVariant(
  release: Release,
  releaseId: string,
  replace?: { readonly file: string; readonly code: string }
): string {
  const dir = path.join(path.dirname(release.dir), releaseId);
  cpSync(release.dir, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const functions = (manifest.functions as { file: string }[]).map((f) =>
    replace && f.file === replace.file
      ? {
          ...f,
          sha256: createHash('sha256').update(replace.code).digest('hex'),
          bytes: Buffer.byteLength(replace.code),
        }
      : f
  );
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ ...manifest, releaseId, functions })
  );
  if (replace) writeFileSync(path.join(dir, replace.file), replace.code);
  return dir;
}
