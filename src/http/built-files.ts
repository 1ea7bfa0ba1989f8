// Files the build makes beside the server (dist/web, dist/widget), found from wherever this module
// runs: dist/http when built, src/http under the tests.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function builtPath(...parts: string[]): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'dist', ...parts);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`dist/${parts.join('/')} is missing: run npm run build`);
}
