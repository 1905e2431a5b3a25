import type { JSX } from "preact";
import { api } from "../api";
import { errorToast, runAction } from "../lib/actions";
import { Field, FormError } from "../components/Field";
import { ProgressBar } from "../components/ProgressBar";
import { useForm } from "../lib/forms";
import { when } from "../lib/display";
import { useLoad } from "../lib/useLoad";
import { changed, go, sync, toast } from "../state";

export const STATE_WORDS: Record<string, string> = {
  off: "Off: this device has no sync login",
  syncing: "Syncing",
  up_to_date: "Up to date",
  offline: "Offline: retrying on its own",
  error: "Error",
};

/** This computer's time zone (for times that belong to no account). */
export const localZone = (): string => Intl.DateTimeFormat("en-US").resolvedOptions().timeZone || "UTC";

/**
 * Sync: sign in with the connection string `trenddojo server add-user` printed (the password goes to the
 * OS keyring), the status, the conflict log with restore, and what merges left to resolve.
 */
export function SyncScreen(): JSX.Element {
  const status = useLoad(() => api.syncStatus(), [sync.value?.state, sync.value?.status?.cursor]);
  const conflicts = useLoad(() => api.syncConflicts(), []);
  const review = useLoad(() => api.syncReview(), []);
  const s = status.data;
  const form = useForm({ server: "", password: "" }, { server: ["server", "url"], password: ["password"] });
  const v = form.values.value;
  const e = form.errors.value;
  const login = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const ok = await form.submit(async (x) => {
      const o = await api.syncLogin(x.server, x.password);
      toast(
        `Signed in to ${o.server}.${o.keyring ? " The password is in the system keyring." : " No keyring here: the password was not saved."}`,
      );
    });
    if (ok) {
      form.reset();
      changed();
    }
  };
  /** The offered "sign in again": the sign-in form below, focused. */
  const signIn = (): void => {
    const f = document.querySelector<HTMLInputElement>("form[aria-label='Sign in'] input");
    f?.focus();
    f?.scrollIntoView({ block: "center" });
  };
  const now = async (): Promise<void> => {
    try {
      const r = await api.syncNow();
      toast(`Synced: pushed ${r.pushed}, pulled ${r.pulled}.`);
      changed();
    } catch (x) {
      errorToast(x, "Sync failed");
    }
  };
  const restore = async (seq: number): Promise<void> => {
    try {
      await api.syncRestore(seq);
      toast("Restored; it reaches your other devices at the next sync.");
      changed();
    } catch (x) {
      errorToast(x, "Could not restore");
    }
  };
  return (
    <section aria-label="Sync" class="stack">
      <h1>Sync</h1>
      <div class="panel">
        <h2>Status</h2>
        {s ? (
          <dl class="facts" data-testid="sync-status">
            <dt>Server</dt>
            <dd>{s.server ?? "not signed in"}</dd>
            <dt>State</dt>
            <dd data-testid="sync-state">
              {STATE_WORDS[sync.value?.state ?? (s.server ? "syncing" : "off")]}
            </dd>
            <dt>Waiting to push</dt>
            <dd>{s.pending}</dd>
            <dt>Last success</dt>
            <dd>{s.last_success ? when(s.last_success, localZone()) : "never"}</dd>
            <dt>Notifications</dt>
            <dd>
              {sync.value?.listening == null
                ? "—"
                : sync.value.listening
                  ? "on: other devices' changes arrive at once"
                  : "off: polling"}
            </dd>
            {s.last_error && !s.last_error_resolved && (
              <>
                <dt>Last error</dt>
                <dd class="loss">{s.last_error}</dd>
              </>
            )}
          </dl>
        ) : (
          <p class="muted">{status.error?.message ?? "Loading…"}</p>
        )}
        <ProgressBar only={["sync_upload", "sync_download"]} />
        {sync.value?.message && (sync.value.state === "error" || sync.value.state === "offline") && (
          <FormError
            error={sync.value.message}
            action={sync.value.action}
            onAction={(a) => (a.kind === "sign_in" ? signIn() : runAction(a, true))}
          />
        )}
        {s?.server && (
          <button onClick={() => void now()} class="primary">
            Sync now
          </button>
        )}
      </div>
      <form class="panel stack" onSubmit={login} aria-label="Sign in">
        <h2>{s?.server ? "Sign in again" : "Sign in to a sync server"}</h2>
        <p class="muted small">
          Paste the connection string your server's admin gave you (it never holds the password), then the
          password.
        </p>
        <Field
          label="Connection string"
          value={v.server}
          onInput={(x) => form.set("server", x)}
          error={e.server}
          placeholder="postgresql://td_…@host:5432/trenddojo"
        />
        <Field
          label="Password"
          type="password"
          value={v.password}
          onInput={(x) => form.set("password", x)}
          error={e.password}
        />
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button class="primary" type="submit" disabled={form.busy.value}>
            {form.busy.value ? "Signing in…" : "Sign in"}
          </button>
        </div>
      </form>
      <div class="panel">
        <h2>Needs review</h2>
        {review.data &&
          review.data.trades.length === 0 &&
          review.data.kept_aside.length === 0 &&
          review.data.orphan_executions.length === 0 && <p class="muted">Nothing to resolve.</p>}
        <ul class="plain">
          {review.data?.trades.map((t) => (
            <li key={t.trade.id}>
              <button class="link" onClick={() => go({ name: "trades", trade: t.trade.id })}>
                {t.trade.symbol}
              </button>{" "}
              needs review ({t.reasons.join(", ")}): {t.advice.join(" ")}
            </li>
          ))}
          {review.data?.kept_aside.map((k) => (
            <li key={`${k.table}-${k.row_id}`}>
              A {k.table} row was kept aside ({k.reason}; {k.attempts} attempt(s)): {k.advice}
            </li>
          ))}
          {review.data?.orphan_executions.map((x) => (
            <li key={x.id}>
              A fill of a trade deleted on another device: delete it or keep it to move it to another trade.
            </li>
          ))}
        </ul>
      </div>
      <div class="panel">
        <h2>Conflict log</h2>
        {conflicts.data?.length === 0 && <p class="muted">No values were replaced by a merge.</p>}
        {conflicts.data && conflicts.data.length > 0 && (
          <table class="table">
            <thead>
              <tr>
                <th>Seen</th>
                <th>What</th>
                <th>Kept</th>
                <th>Replaced</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {conflicts.data.map((c) => (
                <tr key={c.seq}>
                  <td>{when(c.seen_at, localZone())}</td>
                  <td>
                    {c.table}.{c.field}
                  </td>
                  <td class="mono">{c.kept_shown ?? c.kept_value}</td>
                  <td class="mono">{c.lost_shown ?? c.lost_value}</td>
                  <td>
                    {c.restored_at ? (
                      <span class="muted">restored</span>
                    ) : (
                      <button onClick={() => void restore(c.seq)}>Restore</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
