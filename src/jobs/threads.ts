// Work that runs in worker threads of this process (an export's reading and formatting), so that it
// uses the machine's other cores while the server's thread answers requests.
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** Threads an export may use: one per core, at most four. */
export const EXPORT_THREADS = Math.max(1, Math.min(4, os.availableParallelism()));

/**
 * A thread's young generation, in MB. Its objects (a batch of rows and its text) live briefly; a small
 * nursery keeps each thread's memory down (an export of a million: peak server RSS 236-269 MiB with 8,
 * 254-316 with V8's default) at no cost in speed.
 */
const YOUNG_GENERATION_MB = 8;

/**
 * Starts the module `name` of this directory in a worker thread. From the build it is the compiled
 * file; when this code runs from its TypeScript source (the tests), the thread loads the source
 * through tsx, as the test runner does for everything else.
 */
export function startThread(name: string, workerData: unknown): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./${name}.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  const options = { workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } };
  if (!fromSource) return new Worker(url, options);
  const boot = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
