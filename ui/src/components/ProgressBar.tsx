import type { JSX } from "preact";
import type { ProgressTask } from "../bindings/ProgressTask";
import { progressWords } from "../lib/display";
import { progress } from "../state";

/**
 * How far a long job has come (the core's `Progress` events: sync upload and download, reading a broker
 * file), as a bar with its words. A download does not know its total until it ends: the bar is then
 * indeterminate and the words count what arrived. `only` limits it to some tasks (the Import screen shows
 * only its file being read).
 */
export function ProgressBar(p: { only?: readonly ProgressTask[] }): JSX.Element | null {
  const x = progress.value;
  if (!x || (p.only && !p.only.includes(x.task))) return null;
  const words = progressWords(x);
  return (
    <div class="progress" data-progress-task={x.task} role="status">
      {x.total !== null && x.total > 0 ? (
        <progress value={Math.min(x.done, x.total)} max={x.total} aria-label={words} />
      ) : (
        <progress aria-label={words} />
      )}
      <small>{words}</small>
    </div>
  );
}
