/** A pino destination for tests that keeps every JSON line written to it, parsed. */
import { Writable } from 'node:stream';

export function logSink(): { records: Record<string, unknown>[]; stream: Writable } {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line !== '') records.push(JSON.parse(line));
      cb();
    },
  });
  return { records, stream };
}
