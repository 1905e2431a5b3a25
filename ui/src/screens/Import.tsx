import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { api } from "../api";
import { errorToast } from "../lib/actions";
import type { ImportPreview } from "../bindings/ImportPreview";
import { Field, FormError } from "../components/Field";
import { ProgressBar } from "../components/ProgressBar";
import { money, when } from "../lib/display";
import { orNull, useForm } from "../lib/forms";
import { useLoad } from "../lib/useLoad";
import { account, changed, toast } from "../state";

/** Broker files: preview what an import does (nothing written), import it as one undoable batch, undo. */
export function ImportScreen(): JSX.Element {
  const a = account.value;
  const preview = useSignal<ImportPreview | null>(null);
  const batches = useLoad(() => api.importList(a?.id ?? null), [a?.id]);
  const form = useForm(
    { file: "", format: "", tz: "" },
    { file: ["file"], format: ["format"], tz: ["time_zone", "tz", "timezone"] },
  );
  const v = form.values.value;
  const e = form.errors.value;
  if (!a) return <p>Add an account first.</p>;
  const input = (x: typeof v) => ({
    file: x.file,
    account: a.id,
    format: orNull(x.format),
    time_zone: orNull(x.tz),
  });
  const pick = async (): Promise<void> => {
    const f = await openDialog({ multiple: false, directory: false });
    if (typeof f === "string") form.set("file", f);
  };
  const doPreview = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    await form.submit(async (x) => (preview.value = await api.importPreview(input(x))));
  };
  const commit = async (): Promise<void> => {
    if (
      await form.submit(async (x) => {
        const done = await api.importCommit(input(x));
        toast(`Imported ${done.counts.new} fill(s) from ${done.file_name}.`);
      })
    ) {
      preview.value = null;
      changed();
    }
  };
  const undo = async (id: string): Promise<void> => {
    try {
      const r = await api.importUndo(id);
      toast(`Import undone: ${r.fills_removed} fill(s) removed.`);
      changed();
    } catch (x) {
      errorToast(x, "Could not undo the import");
    }
  };
  const p = preview.value;
  return (
    <section aria-label="Import" class="stack">
      <h1>Import a broker file into {a.name}</h1>
      <form class="panel stack" onSubmit={doPreview}>
        <Field label="File" value={v.file} onInput={(s) => form.set("file", s)} error={e.file}>
          <button type="button" onClick={() => void pick()}>
            Choose…
          </button>
        </Field>
        <div class="row wrap">
          <Field
            label="Format (empty: detect)"
            value={v.format}
            onInput={(s) => form.set("format", s)}
            error={e.format}
          />
          <Field
            label="File's time zone (empty: the format's)"
            value={v.tz}
            onInput={(s) => form.set("tz", s)}
            error={e.tz}
          />
        </div>
        {form.busy.value && <ProgressBar only={["import_read"]} />}
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button type="submit" disabled={form.busy.value}>
            Preview
          </button>
          {p && (
            <button type="button" class="primary" onClick={() => void commit()} disabled={form.busy.value}>
              Import {p.counts.new} new fill(s)
            </button>
          )}
        </div>
      </form>
      {p && (
        <div class="panel">
          <h2>
            {p.file_name} <span class="muted small">{p.format_label}</span>
          </h2>
          <p>
            {p.counts.new} new, {p.counts.duplicate} already imported, {p.counts.corrected} corrected,{" "}
            {p.counts.cancelled} cancelled, {p.counts.rejected} rejected; {p.counts.trades_created} trade(s)
            created, {p.counts.trades_changed} changed.
          </p>
          <p>
            Realized P&amp;L {money(p.pnl.before, p.currency)} → {money(p.pnl.after, p.currency)}
          </p>
          {p.warnings.map((w) => (
            <p class="note" key={w}>
              {w}
            </p>
          ))}
          {p.rejected.length > 0 && (
            <ul class="plain small">
              {p.rejected.slice(0, 20).map((r) => (
                <li key={r.line}>
                  Line {r.line}: {r.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div class="panel">
        <h2>Imports</h2>
        {batches.data?.length === 0 && <p class="muted">No imports yet.</p>}
        <table class="table">
          <tbody>
            {batches.data?.map((b) => (
              <tr key={b.id}>
                <td>{when(b.confirmed_at, a.time_zone)}</td>
                <td>{b.file_name}</td>
                <td>{b.new_count} new</td>
                <td>
                  {b.undone_at ? (
                    <span class="muted">undone</span>
                  ) : (
                    <button onClick={() => void undo(b.id)}>Undo</button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
