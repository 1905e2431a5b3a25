import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { open as openDialog, save as saveDialog } from "@tauri-apps/plugin-dialog";
import { api } from "../api";
import type { UpdateCheck } from "../bindings/UpdateCheck";
import { describeUpdate } from "../lib/update";
import { errorToast } from "../lib/actions";
import { Field, FormError, Select } from "../components/Field";
import { day, money } from "../lib/display";
import { orNull, useForm } from "../lib/forms";
import { takeRestoreFile } from "./Welcome";
import { account, changed, prefs, toast, user, type DateStyle, type NumberStyle, type Theme } from "../state";

/** Backup and restore, the theme, number and date formats, and each account's time zone. */
export function Settings(): JSX.Element {
  const p = prefs.value;
  const a = account.value;
  const busy = useSignal(false);
  const backup = async (): Promise<void> => {
    const file = await saveDialog({
      defaultPath: `trenddojo-${new Date().toISOString().slice(0, 10)}.tdbackup`,
      filters: [{ name: "TrendDojo backup", extensions: ["tdbackup"] }],
    });
    if (!file) return;
    busy.value = true;
    try {
      await api.backupNow(file);
      toast(`Backed up to ${file}.`);
    } catch (e) {
      errorToast(e, "The backup failed");
    } finally {
      busy.value = false;
    }
  };
  return (
    <section aria-label="Settings" class="stack">
      <h1>Settings</h1>
      <div class="panel stack">
        <h2>Appearance</h2>
        <div class="row wrap">
          <Select
            label="Theme"
            value={p.theme}
            options={
              [
                ["system", "Follow the system"],
                ["dark", "Dark"],
                ["light", "Light"],
              ] as const
            }
            onChange={(t: Theme) => (prefs.value = { ...p, theme: t })}
          />
          <Select
            label="Dates"
            value={p.dates}
            options={
              [
                ["iso", "2026-03-09"],
                ["us", "03/09/2026"],
                ["eu", "09.03.2026"],
              ] as const
            }
            onChange={(d: DateStyle) => (prefs.value = { ...p, dates: d })}
          />
          <Select
            label="Numbers"
            value={p.numbers}
            options={
              [
                ["comma-dot", "1,234.57"],
                ["dot-comma", "1.234,57"],
                ["space-comma", "1 234,57"],
              ] as const
            }
            onChange={(n: NumberStyle) => (prefs.value = { ...p, numbers: n })}
          />
        </div>
        <p class="muted small">
          Example: {money("-1234.567", a?.currency ?? "USD")} on {day("2026-03-09")}. Amounts are rounded to
          the currency's minor unit for reading; hover any amount for its exact value.
        </p>
      </div>
      {a && <TimeZone key={a.id} />}
      <div class="panel stack">
        <h2>Backups</h2>
        <p>
          A backup is one encrypted file that opens with your passphrase or recovery key on any computer. A
          daily backup is also kept in the data folder.
        </p>
        <div class="row">
          <button class="primary" onClick={() => void backup()} disabled={busy.value}>
            Back up now…
          </button>
        </div>
        <Restore />
      </div>
      <Updates />
    </section>
  );
}

/**
 * Check the signed update feed and install what it offers. The shell verifies the package against the key
 * built into the app and backs the journal up before installing; this panel only asks and reports.
 */
function Updates(): JSX.Element {
  const found = useSignal<UpdateCheck | null>(null);
  const busy = useSignal(false);
  const check = async (): Promise<void> => {
    busy.value = true;
    try {
      found.value = await api.checkUpdate();
    } catch (e) {
      errorToast(e, "Checking for updates failed");
    } finally {
      busy.value = false;
    }
  };
  const install = async (): Promise<void> => {
    busy.value = true;
    try {
      const done = await api.installUpdate();
      const saved = done.backup ? ` Your journal was backed up first to ${done.backup}.` : "";
      toast(`TrendDojo ${done.version} is installed; restart the app to use it.${saved}`);
      found.value = null;
    } catch (e) {
      errorToast(e, "The update was not installed");
    } finally {
      busy.value = false;
    }
  };
  const u = found.value;
  return (
    <div class="panel stack">
      <h2>Updates</h2>
      <p class="muted small">
        Updates are installed only when signed with TrendDojo's key; your journal is backed up before one
        installs.
      </p>
      {u && <p role="status">{describeUpdate(u)}</p>}
      <div class="row">
        <button onClick={() => void check()} disabled={busy.value}>
          Check for updates
        </button>
        {u?.status === "available" && (
          <button class="primary" onClick={() => void install()} disabled={busy.value}>
            Back up and install {u.version}
          </button>
        )}
      </div>
    </div>
  );
}

function TimeZone(): JSX.Element {
  const a = account.value;
  const form = useForm({ tz: a?.time_zone ?? "UTC" }, { tz: ["timezone"] });
  if (!a) return <></>;
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (await form.submit((v) => api.setAccountTimeZone(a.id, v.tz))) {
      changed();
      toast(`${a.name} now uses ${form.values.value.tz}.`);
    }
  };
  return (
    <form class="panel stack" onSubmit={save}>
      <h2>Time zone of {a.name}</h2>
      <p class="muted small">
        Trading days, the calendar and times typed without an offset are in this zone. Changing it recomputes
        each trade's days.
      </p>
      <Field
        label="Time zone (IANA name)"
        value={form.values.value.tz}
        onInput={(s) => form.set("tz", s)}
        error={form.errors.value.tz}
      />
      <FormError error={form.errors.value._form} action={form.action.value} />
      <div class="row">
        <button type="submit" disabled={form.busy.value}>
          Save the time zone
        </button>
      </div>
    </form>
  );
}

function Restore(): JSX.Element {
  const form = useForm(
    { file: takeRestoreFile(), passphrase: "", recovery: "" },
    {
      file: ["file"],
      passphrase: ["passphrase", "code:wrong_key"],
      recovery: ["recovery_key", "recovery key"],
    },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const pick = async (): Promise<void> => {
    const f = await openDialog({
      multiple: false,
      directory: false,
      filters: [{ name: "TrendDojo backup", extensions: ["tdbackup"] }],
    });
    if (typeof f === "string") form.set("file", f);
  };
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    if (!confirm("Replace this journal with the backup? The current files are kept aside, not deleted."))
      return;
    if (await form.submit((x) => api.restoreBackup(x.file, orNull(x.passphrase), orNull(x.recovery)))) {
      user.value = null;
      location.reload();
    }
  };
  return (
    <form class="stack" onSubmit={submit}>
      <h3>Restore a backup</h3>
      <Field label="Backup file" value={v.file} onInput={(s) => form.set("file", s)} error={e.file}>
        <button type="button" onClick={() => void pick()}>
          Choose…
        </button>
      </Field>
      <Field
        label="Its passphrase (if it had one)"
        type="password"
        value={v.passphrase}
        onInput={(s) => form.set("passphrase", s)}
        error={e.passphrase}
      />
      <Field
        label="or the recovery key"
        value={v.recovery}
        onInput={(s) => form.set("recovery", s)}
        error={e.recovery}
      />
      <FormError error={e._form} action={form.action.value} />
      <div class="row">
        <button type="submit" disabled={form.busy.value}>
          Restore…
        </button>
      </div>
    </form>
  );
}
