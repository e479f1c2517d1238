/**
 * A tiny progress bar on stderr: `[#####-----] 5/12  esme w10 c4  2.1s`. Redrawn in place on a
 * terminal; elsewhere (CI logs, pipes) one line per step, so logs stay readable.
 */
export class Progress {
  readonly #total: number;
  readonly #tty: boolean;
  readonly #width = 24;
  #done = 0;
  #label = '';
  #started = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.#total = Math.max(1, total);
    this.#tty = stream.isTTY === true;
  }

  /** A new step starts (`label` says what runs). */
  step(label: string): void {
    this.#label = label;
    this.#started = performance.now();
    if (this.#tty) {
      this.#draw();
      this.#timer ??= setInterval(() => this.#draw(), 250);
      this.#timer.unref();
    } else {
      process.stderr.write(`[${this.#done + 1}/${this.#total}] ${label}\n`);
    }
  }

  /** The current step is done. */
  tick(): void {
    this.#done = Math.min(this.#total, this.#done + 1);
    if (this.#tty) this.#draw();
  }

  /** Clears the bar. */
  end(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#tty) process.stderr.write('\r\x1b[K');
  }

  #draw(): void {
    const filled = Math.round((this.#done / this.#total) * this.#width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(this.#width - filled)}`;
    const secs = ((performance.now() - this.#started) / 1000).toFixed(1);
    process.stderr.write(`\r\x1b[K[${bar}] ${this.#done}/${this.#total}  ${this.#label}  ${secs}s`);
  }
}
