import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { listen } from "@tauri-apps/api/event";
import { api } from "./api";
import type { LaunchState } from "./bindings/LaunchState";
import type { Progress } from "./bindings/Progress";
import type { SyncActivity } from "./bindings/SyncActivity";
import { Palette } from "./components/Palette";
import { ProgressBar } from "./components/ProgressBar";
import { Toasts } from "./components/Toasts";
import { actionLabel, runAction } from "./lib/actions";
import { money } from "./lib/display";
import { markInteractive } from "./lib/perf";
import { Dashboard } from "./screens/Dashboard";
import { ImportScreen } from "./screens/Import";
import { JournalScreen } from "./screens/Journal";
import { NewTrade } from "./screens/NewTrade";
import { Settings } from "./screens/Settings";
import { SyncScreen } from "./screens/Sync";
import { Trades } from "./screens/Trades";
import { Welcome } from "./screens/Welcome";
import {
  account,
  accountId,
  accounts,
  changed,
  dataVersion,
  go,
  paletteOpen,
  progress,
  range,
  route,
  sync,
  user,
  type Route,
} from "./state";

const NAV: [Route["name"], string][] = [
  ["dashboard", "Dashboard"],
  ["trades", "Trades"],
  ["new-trade", "New trade"],
  ["journal", "Journal"],
  ["import", "Import"],
  ["sync", "Sync"],
  ["settings", "Settings"],
];

export function App(): JSX.Element {
  const [launch, setLaunch] = useState<LaunchState | null>(null);
  const [ready, setReady] = useState(false);

  const refreshSession = async (): Promise<void> => {
    const [l, u] = await Promise.all([api.launchState(), api.session()]);
    setLaunch(l);
    user.value = u;
    setReady(true);
  };

  useEffect(() => {
    void refreshSession();
    const un = listen<SyncActivity>("sync-activity", (e) => {
      sync.value = e.payload;
      if (e.payload.pulled > 0) changed();
    });
    // A finished job's bar stays a moment so its last words can be read, unless a newer report came.
    let clear: ReturnType<typeof setTimeout> | undefined;
    const unProgress = listen<Progress>("progress", (e) => {
      progress.value = e.payload;
      clearTimeout(clear);
      const p = e.payload;
      if (p.total !== null && p.done >= p.total)
        clear = setTimeout(() => {
          if (progress.value === p) progress.value = null;
        }, 1500);
    });
    return () => {
      void un.then((f) => f());
      void unProgress.then((f) => f());
      clearTimeout(clear);
    };
  }, []);

  useEffect(() => {
    if (!user.value) return;
    api.listAccounts().then(
      (a) => {
        accounts.value = a;
        if (!a.some((x) => x.id === accountId.value)) accountId.value = a[0]?.id ?? null;
      },
      () => undefined,
    );
  }, [user.value, dataVersion.value]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        paletteOpen.value = !paletteOpen.value;
      } else if (e.altKey && /^[1-7]$/.test(e.key) && user.value) {
        const n = NAV[e.key.charCodeAt(0) - 49];
        if (n) go({ name: n[0] });
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  if (!ready || !launch) return <main class="loading" aria-busy="true" />;
  if (!user.value)
    return (
      <>
        <Welcome launch={launch} onReady={() => void refreshSession()} onLaunch={setLaunch} />
        <Toasts />
      </>
    );
  const a = account.value;
  return (
    <div class="shell">
      <nav class="side" aria-label="Screens">
        <div class="brand">TrendDojo</div>
        {NAV.map(([name, label], i) => (
          <button
            key={name}
            class={`nav ${route.value.name === name ? "current" : ""}`}
            aria-current={route.value.name === name ? "page" : undefined}
            title={`${label} (Alt+${i + 1})`}
            onClick={() => go({ name })}
          >
            {label}
          </button>
        ))}
        <div class="grow" />
        <button class="nav" onClick={() => (paletteOpen.value = true)} title="Command palette (Ctrl+K)">
          Commands <kbd>Ctrl K</kbd>
        </button>
        <ProgressBar only={["sync_upload", "sync_download"]} />
        <SyncBadge />
      </nav>
      <div class="main">
        <header class="top">
          <label class="inline">
            <span>Account</span>
            <select
              aria-label="Account"
              value={a?.id ?? ""}
              onChange={(e) => (accountId.value = e.currentTarget.value)}
            >
              {accounts.value.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name} ({x.currency})
                </option>
              ))}
            </select>
          </label>
          {a && (
            <span
              class="equity"
              title={`Equity: starting balance plus realized P&L; exact ${a.equity} ${a.currency}`}
            >
              Equity <strong>{money(a.equity, a.currency)}</strong>
            </span>
          )}
          <div class="grow" />
          <label class="inline">
            <span>From</span>
            <input
              type="date"
              aria-label="From"
              value={range.value.from}
              onChange={(e) => (range.value = { ...range.value, from: e.currentTarget.value })}
            />
          </label>
          <label class="inline">
            <span>To</span>
            <input
              type="date"
              aria-label="To"
              value={range.value.to}
              onChange={(e) => (range.value = { ...range.value, to: e.currentTarget.value })}
            />
          </label>
          {(range.value.from || range.value.to) && (
            <button class="ghost" onClick={() => (range.value = { from: "", to: "" })}>
              All time
            </button>
          )}
        </header>
        <div class="content">
          <Screen onInteractive={markInteractive} />
        </div>
      </div>
      {paletteOpen.value && <Palette />}
      <Toasts />
    </div>
  );
}

function Screen(p: { onInteractive: () => void }): JSX.Element {
  const r = route.value;
  switch (r.name) {
    case "dashboard":
      return <Dashboard onReady={p.onInteractive} />;
    case "trades":
      return <Trades open={r.trade ?? null} />;
    case "new-trade":
      return <NewTrade />;
    case "journal":
      return <JournalScreen />;
    case "sync":
      return <SyncScreen />;
    case "settings":
      return <Settings />;
    case "import":
      return <ImportScreen />;
  }
}

function SyncBadge(): JSX.Element {
  const s = sync.value;
  const state = s?.state ?? "off";
  const words: Record<string, string> = {
    off: "Sync off",
    syncing: "Syncing…",
    up_to_date: "Up to date",
    offline: "Offline",
    error: "Sync error",
  };
  const pending = s?.status?.pending ?? 0;
  const title = [
    s?.message ?? "",
    pending > 0 ? `${pending} change(s) waiting to be pushed` : "",
    s?.status?.last_success ? `Last success: ${s.status.last_success}` : "",
  ]
    .filter(Boolean)
    .join("\n");
  const offer = s?.action && (state === "error" || state === "offline") ? s.action : null;
  const label = offer ? actionLabel(offer) : null;
  return (
    <>
      <button
        class={`sync-badge ${state}`}
        onClick={() => go({ name: "sync" })}
        title={title || words[state]}
        data-sync-state={state}
      >
        <span class="dot" aria-hidden="true" />
        {words[state]}
        {pending > 0 ? ` (${pending})` : ""}
      </button>
      {offer && label && (
        <button class="offer small" data-action={offer.kind} onClick={() => runAction(offer, true)}>
          {label}
        </button>
      )}
    </>
  );
}
