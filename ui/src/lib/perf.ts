/**
 * Numbers the benchmark reads from the page (`window.__trenddojoPerf`): when the dashboard became
 * interactive, how long each trade-list page took from request to painted rows, and the frames that took
 * longer than 50 ms while the list scrolled (WebKitGTK has no Long Tasks API: a frame gap is the same
 * measure from the page's side). Collecting them costs a few timestamps; nothing is sent anywhere.
 */
interface Perf {
  interactiveAt: number | null;
  pageRenders: number[];
  longFrames: number[];
  frames: number;
  watching: boolean;
}

const perf: Perf = { interactiveAt: null, pageRenders: [], longFrames: [], frames: 0, watching: false };
(globalThis as unknown as { __trenddojoPerf: Perf }).__trenddojoPerf = perf;

export function markInteractive(): void {
  if (perf.interactiveAt === null) perf.interactiveAt = performance.now();
}

/** Record a page render: from `started` (before the request) to the next painted frame. */
export function markPage(started: number): void {
  requestAnimationFrame(() => perf.pageRenders.push(performance.now() - started));
}

/** Watch frame gaps for `ms` milliseconds (the benchmark scrolls meanwhile). */
export function watchFrames(ms: number): void {
  if (perf.watching) return;
  perf.watching = true;
  const end = performance.now() + ms;
  let last = performance.now();
  const tick = (t: number): void => {
    perf.frames++;
    if (t - last > 50) perf.longFrames.push(t - last);
    last = t;
    if (t < end) requestAnimationFrame(tick);
    else perf.watching = false;
  };
  requestAnimationFrame(tick);
}
(globalThis as unknown as { __trenddojoWatchFrames: (ms: number) => void }).__trenddojoWatchFrames =
  watchFrames;
