import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api";
import { errorToast } from "../lib/actions";
import type { Trade } from "../bindings/Trade";
import { dayOf, statusLabel } from "../lib/display";
import { isDark } from "../lib/theme";
import { requestedAction } from "../screens/TradeDetail";
import { accountId, accounts, changed, go, paletteOpen, prefs, route, timeZoneOf, toast } from "../state";

interface Command {
  id: string;
  label: string;
  run: () => void;
}

/** Every action by keyboard (Ctrl+K): go to a screen, open a trade, add an execution, close, switch
 * account, sync now, switch the theme. Type to filter; arrows choose; Enter runs; Escape closes. */
export function Palette(): JSX.Element {
  const [q, setQ] = useState("");
  const [sel, setSel] = useState(0);
  const [found, setFound] = useState<Trade[]>([]);
  const input = useRef<HTMLInputElement>(null);
  const close = (): void => void (paletteOpen.value = false);

  useEffect(() => input.current?.focus(), []);
  useEffect(() => {
    const sym = q.replace(/^open\s+/i, "").trim();
    if (!/^[A-Za-z0-9.\-/_:]{1,32}$/.test(sym)) return setFound([]);
    let live = true;
    api.tradePage({ symbol: sym, limit: 8 }).then(
      (p) => live && setFound(p.trades),
      () => live && setFound([]),
    );
    return () => void (live = false);
  }, [q]);

  const r = route.value;
  const current = r.name === "trades" ? r.trade : undefined;
  const onTrade = (a: "execution" | "close") => () => {
    if (!current) return toast("Open a trade first (type its symbol here).", "error");
    requestedAction.current = a;
    go({ name: "trades" });
    setTimeout(() => go({ name: "trades", trade: current }), 0);
  };
  const all: Command[] = [
    ...(["dashboard", "trades", "new-trade", "journal", "import", "sync", "settings"] as const).map((n) => ({
      id: `go-${n}`,
      label: `Go to ${n.replace("-", " ")}`,
      run: () => go({ name: n }),
    })),
    { id: "add-execution", label: "Add execution to the open trade", run: onTrade("execution") },
    { id: "close-trade", label: "Close the open trade", run: onTrade("close") },
    ...accounts.value.map((a) => ({
      id: `acct-${a.id}`,
      label: `Switch account: ${a.name}`,
      run: () => void (accountId.value = a.id),
    })),
    {
      id: "sync-now",
      label: "Sync now",
      run: () =>
        void api.syncNow().then(
          (x) => (toast(`Synced: pushed ${x.pushed}, pulled ${x.pulled}.`), changed()),
          (e: unknown) => errorToast(e, "Sync failed"),
        ),
    },
    {
      id: "theme",
      label: `Switch to the ${isDark() ? "light" : "dark"} theme`,
      run: () => void (prefs.value = { ...prefs.value, theme: isDark() ? "light" : "dark" }),
    },
    ...found.map((t) => ({
      id: `trade-${t.id}`,
      label: `Open trade ${t.symbol} ${t.direction} (${dayOf(t.opened_at, timeZoneOf(t.account_id))}, ${statusLabel[t.status] ?? t.status})`,
      run: () => go({ name: "trades", trade: t.id }),
    })),
  ];
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = all.filter(
    (c) => c.id.startsWith("trade-") || words.every((w) => c.label.toLowerCase().includes(w)),
  );
  const pick = (c: Command | undefined): void => {
    if (!c) return;
    close();
    c.run();
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === "ArrowDown") setSel((s) => Math.min(shown.length - 1, s + 1));
    else if (e.key === "ArrowUp") setSel((s) => Math.max(0, s - 1));
    else if (e.key === "Enter") pick(shown[sel]);
    else if (e.key === "Escape") close();
    else return;
    e.preventDefault();
  };
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && close()}>
      <div class="palette" role="dialog" aria-modal="true" aria-label="Command palette">
        <input
          ref={input}
          aria-label="Command"
          aria-controls="palette-list"
          aria-activedescendant={shown[sel] ? `pc-${shown[sel].id}` : undefined}
          placeholder="Type a command or a symbol…"
          value={q}
          onInput={(e) => {
            setQ(e.currentTarget.value);
            setSel(0);
          }}
          onKeyDown={onKey}
        />
        <ul id="palette-list" role="listbox">
          {shown.map((c, i) => (
            <li
              key={c.id}
              id={`pc-${c.id}`}
              role="option"
              aria-selected={i === sel}
              class={i === sel ? "active" : ""}
              onMouseEnter={() => setSel(i)}
              onClick={() => pick(c)}
            >
              {c.label}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
