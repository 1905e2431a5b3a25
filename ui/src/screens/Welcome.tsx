import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { open as openDialog } from "@tauri-apps/plugin-dialog";
import { api } from "../api";
import type { Action } from "../bindings/Action";
import type { LaunchState } from "../bindings/LaunchState";
import { Field, FormError } from "../components/Field";
import { actionFile, restoreFile, welcomeRequest } from "../lib/actions";
import { FieldError, orNull, passphraseStrength, useForm } from "../lib/forms";

type Step = "choose" | "create" | "recovery" | "start" | "unlock" | "restore";

/**
 * First run and unlock: create the encrypted store (key in the OS keyring; where there is none, a
 * passphrase with a strength hint), show the recovery key once and have it typed back, offer the demo
 * data; unlock on later runs (a wrong passphrase says so and keeps the field for a retry); restore a backup
 * on a machine that never saw the store.
 */
export function Welcome(p: {
  launch: LaunchState;
  onReady: () => void;
  onLaunch: (l: LaunchState) => void;
}): JSX.Element {
  const step = useSignal<Step>(p.launch.exists ? "unlock" : "choose");
  const recoveryKey = useSignal("");
  // Set by an offered action: ask for the passphrase even where the keyring is the usual way, or create
  // the journal behind a passphrase.
  const askPassphrase = useSignal(false);
  const preferPassphrase = useSignal(!p.launch.keyring_available);
  /** The core's offered action (`ApiError.action`), done here: switch to the step that does it. */
  const onAction = (a: Action): void => {
    const file = actionFile(a);
    if (file) restoreFile.value = file;
    switch (a.kind) {
      case "create_store":
        step.value = "create";
        break;
      case "use_passphrase_instead":
        preferPassphrase.value = true;
        step.value = p.launch.exists ? "unlock" : "create";
        askPassphrase.value = true;
        break;
      case "give_passphrase":
        askPassphrase.value = true;
        step.value = "unlock";
        break;
      case "restore_backup":
      case "restore_or_salvage":
        step.value = "restore";
        break;
      default:
        step.value = p.launch.exists ? "unlock" : "choose";
    }
  };
  useEffect(() => {
    const a = welcomeRequest.value;
    if (a) {
      welcomeRequest.value = null;
      onAction(a);
    }
  }, [welcomeRequest.value]);
  return (
    <main class="welcome">
      <div class="welcome-card">
        <h1 class="brand">TrendDojo</h1>
        <p class="muted">Your trading journal, encrypted on this computer.</p>
        {step.value === "choose" && (
          <div class="choices">
            <button class="primary big" onClick={() => (step.value = "create")}>
              Create a new journal
            </button>
            <button class="big" onClick={() => (step.value = "restore")}>
              Restore from a backup
            </button>
          </div>
        )}
        {step.value === "create" && (
          <Create
            keyring={p.launch.keyring_available}
            usePassphrase={preferPassphrase.value}
            onAction={onAction}
            onCreated={(code) => {
              recoveryKey.value = code;
              step.value = "recovery";
            }}
            onBack={() => (step.value = "choose")}
          />
        )}
        {step.value === "recovery" && (
          <Recovery
            code={recoveryKey.value}
            onDone={() => ((recoveryKey.value = ""), (step.value = "start"))}
          />
        )}
        {step.value === "start" && <Start onReady={p.onReady} />}
        {step.value === "unlock" && (
          <Unlock
            launch={p.launch}
            askPassphrase={askPassphrase.value}
            onReady={p.onReady}
            onRestore={() => (step.value = "restore")}
            onAction={onAction}
          />
        )}
        {step.value === "restore" && (
          <Restore
            onRestored={(l) => {
              p.onLaunch(l);
              step.value = "unlock";
            }}
            onBack={() => (step.value = p.launch.exists ? "unlock" : "choose")}
            onAction={onAction}
          />
        )}
        <p class="muted small">Data folder: {p.launch.home}</p>
      </div>
    </main>
  );
}

function Create(p: {
  keyring: boolean;
  usePassphrase: boolean;
  onCreated: (code: string) => void;
  onBack: () => void;
  onAction: (a: Action) => void;
}): JSX.Element {
  const form = useForm({ email: "", name: "", passphrase: "", again: "" }, { passphrase: ["passphrase"] });
  const usePass = useSignal(p.usePassphrase || !p.keyring);
  const v = form.values.value;
  const e = form.errors.value;
  const strength = passphraseStrength(v.passphrase);
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    await form.submit(async (x) => {
      if (usePass.value && x.passphrase !== x.again)
        throw new FieldError("again", "the two passphrases differ");
      p.onCreated(await api.createStore(x.email, orNull(x.name), usePass.value ? x.passphrase : null));
    });
  };
  return (
    <form onSubmit={submit} class="stack">
      <h2>New journal</h2>
      <Field
        label="Email"
        type="email"
        value={v.email}
        onInput={(s) => form.set("email", s)}
        error={e.email}
        autoFocus
      />
      <Field label="Name (optional)" value={v.name} onInput={(s) => form.set("name", s)} error={e.name} />
      {p.keyring ? (
        <label class="check">
          <input
            type="checkbox"
            checked={usePass.value}
            onChange={(x) => (usePass.value = x.currentTarget.checked)}
          />
          Protect it with a passphrase instead of the system keyring
        </label>
      ) : (
        <p class="note">No system keyring is available here: choose a passphrase to protect the journal.</p>
      )}
      {usePass.value && (
        <>
          <Field
            label="Passphrase"
            type="password"
            value={v.passphrase}
            onInput={(s) => form.set("passphrase", s)}
            error={e.passphrase}
          >
            <meter min={0} max={4} value={strength.score} aria-label="Passphrase strength" />
            <small class="hint" aria-live="polite">
              {strength.words}
            </small>
          </Field>
          <Field
            label="Passphrase again"
            type="password"
            value={v.again}
            onInput={(s) => form.set("again", s)}
            error={e.again}
          />
        </>
      )}
      <FormError error={e._form} action={form.action.value} onAction={p.onAction} />
      <div class="row">
        <button type="button" onClick={p.onBack}>
          Back
        </button>
        <button class="primary" type="submit" disabled={form.busy.value}>
          {form.busy.value ? "Creating…" : "Create the journal"}
        </button>
      </div>
    </form>
  );
}

function Recovery(p: { code: string; onDone: () => void }): JSX.Element {
  const form = useForm({ typed: "" }, { typed: ["recovery_key", "recovery key"] });
  const submit = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    if (await form.submit((x) => api.confirmRecoveryKey(x.typed))) p.onDone();
  };
  return (
    <form onSubmit={submit} class="stack">
      <h2>Your recovery key</h2>
      <p>
        Write this down and keep it away from this computer. It opens the journal and every backup of it if
        the passphrase is forgotten or this computer is lost. <strong>It is shown only now.</strong>
      </p>
      <code class="recovery" aria-label="Recovery key" data-testid="recovery-key">
        {p.code}
      </code>
      <Field
        label="Type the recovery key back to confirm"
        value={form.values.value.typed}
        onInput={(s) => form.set("typed", s)}
        error={form.errors.value.typed}
        autoFocus
      />
      <FormError error={form.errors.value._form} action={form.action.value} />
      <div class="row">
        <button class="primary" type="submit" disabled={form.busy.value}>
          I wrote it down
        </button>
      </div>
    </form>
  );
}

function Start(p: { onReady: () => void }): JSX.Element {
  const busy = useSignal(false);
  const error = useSignal("");
  const demo = async (): Promise<void> => {
    busy.value = true;
    try {
      await api.loadDemo();
      p.onReady();
    } catch (e) {
      error.value = (e as { message?: string }).message ?? String(e);
    } finally {
      busy.value = false;
    }
  };
  return (
    <div class="stack">
      <h2>Your journal is ready</h2>
      <p>Start with an empty journal, or explore TrendDojo with a demo portfolio (you can reset it later).</p>
      <FormError error={error.value} />
      <div class="row">
        <button onClick={p.onReady}>Start empty</button>
        <button class="primary" onClick={() => void demo()} disabled={busy.value}>
          {busy.value ? "Loading…" : "Load the demo data"}
        </button>
      </div>
    </div>
  );
}

function Unlock(p: {
  launch: LaunchState;
  askPassphrase: boolean;
  onReady: () => void;
  onRestore: () => void;
  onAction: (a: Action) => void;
}): JSX.Element {
  const byPass = p.launch.method === "passphrase" || p.askPassphrase;
  const withRecovery = useSignal(false);
  const form = useForm(
    { passphrase: "", recovery: "" },
    { passphrase: ["passphrase", "code:wrong_key"], recovery: ["recovery_key", "recovery key"] },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const submit = async (ev?: Event): Promise<void> => {
    ev?.preventDefault();
    const ok = await form.submit(async (x) => {
      await api.unlock(
        withRecovery.value ? null : orNull(x.passphrase),
        withRecovery.value ? x.recovery : null,
      );
    });
    if (ok) p.onReady();
  };
  return (
    <form onSubmit={submit} class="stack">
      <h2>Unlock your journal</h2>
      {withRecovery.value ? (
        <Field
          label="Recovery key"
          value={v.recovery}
          onInput={(s) => form.set("recovery", s)}
          error={e.recovery}
          autoFocus
        />
      ) : byPass ? (
        <Field
          label="Passphrase"
          type="password"
          value={v.passphrase}
          onInput={(s) => form.set("passphrase", s)}
          error={e.passphrase}
          autoFocus
        />
      ) : (
        <p>The key is in this computer's keyring.</p>
      )}
      <FormError
        error={e._form ?? (!byPass && !withRecovery.value ? e.passphrase : undefined)}
        action={form.action.value}
        onAction={p.onAction}
      />
      <div class="row">
        <button type="button" class="link" onClick={() => (withRecovery.value = !withRecovery.value)}>
          {withRecovery.value ? "Use the passphrase" : "Use the recovery key"}
        </button>
        <button type="button" class="link" onClick={p.onRestore}>
          Restore a backup
        </button>
        <button class="primary" type="submit" disabled={form.busy.value}>
          {form.busy.value ? "Unlocking…" : "Unlock"}
        </button>
      </div>
    </form>
  );
}

function Restore(p: {
  onRestored: (l: LaunchState) => void;
  onBack: () => void;
  onAction: (a: Action) => void;
}): JSX.Element {
  const form = useForm(
    { file: takeRestoreFile(), passphrase: "", recovery: "" },
    {
      file: ["file", "backup"],
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
    await form.submit(async (x) =>
      p.onRestored(await api.restoreBackup(x.file, orNull(x.passphrase), orNull(x.recovery))),
    );
  };
  return (
    <form onSubmit={submit} class="stack">
      <h2>Restore from a backup</h2>
      <p>A backup opens with the passphrase it was made with, or with the recovery key.</p>
      <Field label="Backup file" value={v.file} onInput={(s) => form.set("file", s)} error={e.file}>
        <button type="button" onClick={() => void pick()}>
          Choose…
        </button>
      </Field>
      <Field
        label="Passphrase (if it had one)"
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
      <FormError error={e._form} action={form.action.value} onAction={p.onAction} />
      <div class="row">
        <button type="button" onClick={p.onBack}>
          Back
        </button>
        <button class="primary" type="submit" disabled={form.busy.value}>
          {form.busy.value ? "Restoring…" : "Restore"}
        </button>
      </div>
    </form>
  );
}

/** The backup file an offered action named (once): the restore form starts with it. */
export function takeRestoreFile(): string {
  const f = restoreFile.value ?? "";
  restoreFile.value = null;
  return f;
}
