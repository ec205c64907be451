/** Below this many lines a map is read too fast for a bar to be worth drawing. */
const MINIMUM_LINES = 50;
const REDRAW_MS = 100;
const WIDTH = 30;

/**
 * A one-line text progress bar on stderr, drawn only when stderr is a
 * terminal (never into a log file or a pipe). When stdout is that terminal
 * too, lines written through `print` clear the bar first and redraw it
 * after, so the screen is not torn.
 */
export class ProgressBar {
  private done = 0;
  private shown = false;
  private drawnAt = 0;

  private constructor(
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream | undefined,
  ) {}

  static onStderr(total: number): ProgressBar {
    return new ProgressBar(total, process.stderr.isTTY && total >= MINIMUM_LINES ? process.stderr : undefined);
  }

  tick(): void {
    this.done += 1;
    const now = Date.now();
    if (this.stream && (now - this.drawnAt >= REDRAW_MS || this.done === this.total)) {
      this.draw(now);
    }
  }

  print(write: () => void): void {
    if (!process.stdout.isTTY) {
      // stdout goes elsewhere (a file, a pipe): the bar and the report do not share a screen line.
      write();
      return;
    }
    const wasShown = this.shown;
    this.clear();
    write();
    if (wasShown) {
      this.draw(Date.now());
    }
  }

  clear(): void {
    if (this.stream && this.shown) {
      this.stream.write('\r\x1b[K');
      this.shown = false;
    }
  }

  private draw(now: number): void {
    const fraction = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const filled = Math.round(fraction * WIDTH);
    this.stream!.write(
      `\r[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${this.done}/${this.total} lines ${Math.floor(fraction * 100)}%`,
    );
    this.shown = true;
    this.drawnAt = now;
  }
}
