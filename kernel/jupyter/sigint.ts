/**
 * SIGINT, Jupyter's interrupt (interrupt_mode "signal"), without a thread per cell.
 *
 * Node stops synchronous code on SIGINT only inside a `vm` call with `breakOnSigint`
 * (tslab runs every cell that way). Each such call starts Node's SIGINT watchdog
 * thread and joins it afterwards, and while the process has JS SIGINT listeners it
 * also takes them off and puts them back, reinstalling libuv's signal handler: about
 * 55–130 µs per call in a bare process, and about 0.4 ms of a trivial cell in the
 * kernel. Node's watchdog helper is counted, though: while one start is held, a
 * call only registers with the running helper (under 1 µs), and a signal that comes
 * while no call runs is kept as pending instead of being lost.
 *
 * So the kernel holds the helper for its whole life and listens to no SIGINT of its
 * own. A signal during a cell's synchronous code stops that code (V8 terminates it;
 * Node turns that into ERR_SCRIPT_EXECUTION_INTERRUPTED); a signal while the cell
 * awaits is found pending by a poll that runs only while a cell is busy. If a cell
 * or a library listens to SIGINT itself (signal-exit does), the kernel falls back to
 * Node's own way, a process listener and a watchdog per call, until those listeners
 * are gone; without Node's internal binding it always does.
 */

/** Node's contextify binding: the SIGINT watchdog helper's counted start and stop. */
interface WatchdogBinding {
  startSigintWatchdog(): boolean;
  /** Returns whether a signal came while no `breakOnSigint` call ran (and forgets it). */
  stopSigintWatchdog(): boolean;
  watchdogHasPendingSigint(): boolean;
}

/** How often a busy kernel looks for a signal that came while its cell awaited. */
const PENDING_POLL_MS = 20;

/** The kernel's SIGINT handling. */
export interface SigintWatch {
  /** Interrupts reach `onSigint` while busy (a signal that came while idle is dropped). Returns the end of the busy spell. */
  busy(): () => void;
  /** Stops watching: SIGINT gets Node's default again. */
  close(): void;
}

function watchdogBinding(): WatchdogBinding | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): Partial<WatchdogBinding> }).binding("contextify");
    const { startSigintWatchdog, stopSigintWatchdog, watchdogHasPendingSigint } = binding;
    if (typeof startSigintWatchdog !== "function" || typeof stopSigintWatchdog !== "function" || typeof watchdogHasPendingSigint !== "function") return undefined;
    return binding as WatchdogBinding;
  } catch {
    return undefined;
  }
}

/** Watches for SIGINT on behalf of a kernel; `onSigint` interrupts its running cell. */
export function watchSigint(onSigint: () => void): SigintWatch {
  const watchdog = watchdogBinding();
  if (!watchdog) {
    process.on("SIGINT", onSigint);
    return { busy: () => () => undefined, close: () => void process.off("SIGINT", onSigint) };
  }
  /** Whether the kernel holds a start of Node's watchdog helper (and so, normally, its signal handler). */
  let held = false;
  /** Whether the kernel's own process listener is on (while others listen too). */
  const listening = () => process.rawListeners("SIGINT").includes(onSigint);
  /** Set when another SIGINT listener came while the helper was held: libuv's handler replaced the helper's. */
  let displaced = false;

  /** Takes a pending signal: a start and a stop leave the helper held and return what was pending. */
  const takePending = (): boolean => {
    if (!watchdog.watchdogHasPendingSigint()) return false;
    watchdog.startSigintWatchdog();
    return watchdog.stopSigintWatchdog();
  };
  const hold = () => {
    const wasHeld = held;
    held = false; // first, so that taking the kernel's listener off does not put it back
    process.off("SIGINT", onSigint);
    // A stop and a start reinstall the helper's handler where libuv's replaced it.
    if (wasHeld) watchdog.stopSigintWatchdog();
    held = watchdog.startSigintWatchdog();
    displaced = false;
  };
  const listen = () => {
    if (held) {
      // First, so that the removals below do not take the handler back. The helper's
      // stop installs a handler that ends the process; putting the listeners back
      // installs libuv's again (what `vm` does around each call).
      held = false;
      const listeners = process.rawListeners("SIGINT") as ((...args: unknown[]) => void)[];
      process.removeAllListeners("SIGINT");
      watchdog.stopSigintWatchdog();
      for (const listener of listeners) process.on("SIGINT", listener);
    }
    if (!listening()) process.on("SIGINT", onSigint);
  };
  /** Picks the way that fits the listeners there are now. */
  const settle = () => {
    const others = process.listenerCount("SIGINT") - (listening() ? 1 : 0);
    if (others > 0) listen();
    else if (!held || displaced) hold();
  };
  const onNewListener = (event: string | symbol) => {
    if (event === "SIGINT" && held) displaced = true;
  };
  // The last listener's removal leaves SIGINT to its default action, which ends the
  // process. The helper's handler cannot come back while a cell runs (its start is
  // counted), so the kernel's own listener keeps the process alive until the next cell.
  const onRemoveListener = (event: string | symbol) => {
    if (event === "SIGINT" && held && process.listenerCount("SIGINT") === 0) process.on("SIGINT", onSigint);
  };
  process.on("newListener", onNewListener);
  process.on("removeListener", onRemoveListener);
  settle();

  return {
    busy() {
      settle();
      if (!held) return () => undefined;
      takePending();
      const poll = setInterval(() => {
        if (held && takePending()) onSigint();
      }, PENDING_POLL_MS).unref();
      return () => clearInterval(poll);
    },
    close() {
      process.off("newListener", onNewListener);
      process.off("removeListener", onRemoveListener);
      process.off("SIGINT", onSigint);
      if (held) watchdog.stopSigintWatchdog();
      held = false;
    },
  };
}
