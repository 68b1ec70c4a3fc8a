/** Text of a process exit, in the reference's (Go os.ProcessState) wording. */

const signalNames: Record<string, string> = {
  SIGKILL: "killed",
  SIGTERM: "terminated",
  SIGINT: "interrupt",
  SIGABRT: "aborted",
  SIGSEGV: "segmentation fault",
  SIGBUS: "bus error",
  SIGHUP: "hangup",
  SIGQUIT: "quit",
  SIGPIPE: "broken pipe",
  SIGFPE: "floating point exception",
  SIGILL: "illegal instruction",
};

/** "exit status 1", "signal: killed", ... */
export function describeExit(status: Deno.CommandStatus): string {
  if (status.signal !== null) return `signal: ${signalNames[status.signal] ?? status.signal}`;
  return `exit status ${status.code}`;
}
