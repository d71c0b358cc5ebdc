import { spawn } from 'node:child_process';

// The one place proxy-init starts programs; everything else takes a Runner so the decisions
// around it stay testable.

export interface RunResult {
  /** null when the program could not be started (see `error`) or died by a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (ENOENT: not installed). */
  error?: NodeJS.ErrnoException;
}

export type Runner = (file: string, args: readonly string[], input?: string) => Promise<RunResult>;

export const runProgram: Runner = (file, args, input) =>
  new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let startError: NodeJS.ErrnoException | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      startError = error;
    });
    // A program that exits before reading stdin would otherwise raise EPIPE here.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    child.on('close', (code) => resolve({ code: startError ? null : code, stdout, stderr, ...(startError ? { error: startError } : {}) }));
  });
