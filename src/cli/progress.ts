/**
 * A progress bar on stderr for long CLI operations (bulk send, waiting for receipts):
 * `sending [########----------------] 4,000/10,000  3,912/s`. Redrawn in place at most ten
 * times a second on a terminal; elsewhere (pipes, CI logs) one line per tenth of the way.
 */
export class ProgressBar {
  readonly #label: string;
  readonly #total: number;
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #started = performance.now();
  #done = 0;
  #drawnAt = 0;
  #tenth = 0;

  readonly #showRate: boolean;

  /** `showRate: false` for counts whose pace says nothing (e.g. receipts already waiting). */
  constructor(label: string, total: number, options: { stream?: NodeJS.WriteStream; showRate?: boolean } = {}) {
    const stream = options.stream ?? process.stderr;
    this.#showRate = options.showRate ?? true;
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  /** `done` of the total are done. */
  update(done: number): void {
    this.#done = Math.min(this.#total, done);
    const now = performance.now();
    if (this.#tty) {
      if (now - this.#drawnAt < 100 && this.#done < this.#total) return;
      this.#drawnAt = now;
      this.#stream.write(`\r\x1b[K${this.line()}`);
      return;
    }
    const tenth = Math.floor((this.#done / this.#total) * 10);
    if (tenth > this.#tenth) {
      this.#tenth = tenth;
      this.#stream.write(`${this.line()}\n`);
    }
  }

  /** The bar as text. */
  line(): string {
    const width = 24;
    const filled = Math.round((this.#done / this.#total) * width);
    const secs = (performance.now() - this.#started) / 1000;
    const rate = secs > 0 ? Math.round(this.#done / secs) : 0;
    const bar = `${this.#label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${this.#done.toLocaleString('en')}/${this.#total.toLocaleString('en')}`;
    return this.#showRate ? `${bar}  ${rate.toLocaleString('en')}/s` : bar;
  }

  /** Clears the bar on a terminal (the caller prints its summary). */
  end(): void {
    if (this.#tty) this.#stream.write('\r\x1b[K');
  }
}
