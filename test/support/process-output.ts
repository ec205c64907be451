import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';

/**
 * What a child process prints (stdout and stderr, in arrival order), and a
 * way to wait until it has printed something: the condition is checked each
 * time output arrives, so the wait ends the moment it holds, and fails at
 * once when the process exits first or the deadline passes.
 */
export class ProcessOutput {
  private collected = '';
  private closed = false;
  private readonly listeners = new Set<() => void>();
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>;

  constructor(child: ChildProcess) {
    const append = (chunk: Buffer) => {
      this.collected += chunk.toString();
      this.notify();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = once(child, 'exit').then(([code]) => code as number | null);
    // After 'close' no more output can arrive: only then is "exited without saying it" certain.
    child.once('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  get text(): string {
    return this.collected;
  }

  /** Resolves when `holds(text)` is true; rejects (with everything printed) if the process exits first or after `timeoutMs`. */
  waitFor(holds: (text: string) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const deadline = AbortSignal.timeout(timeoutMs);
      const settle = (error?: Error) => {
        this.listeners.delete(check);
        deadline.removeEventListener('abort', onDeadline);
        if (error) {
          reject(error);
        } else {
          resolve();
        }
      };
      const check = () => {
        if (holds(this.collected)) {
          settle();
        } else if (this.closed) {
          settle(new Error(`the process exited before ${what}:\n${this.collected}`));
        }
      };
      const onDeadline = () => settle(new Error(`${what} did not happen within ${timeoutMs} ms:\n${this.collected}`));
      deadline.addEventListener('abort', onDeadline);
      this.listeners.add(check);
      check();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      listener();
    }
  }
}
