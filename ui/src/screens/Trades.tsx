import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { api } from "../api";
import { errorToast } from "../lib/actions";
import type { Trade } from "../bindings/Trade";
import type { TradePageInput } from "../bindings/TradePageInput";
import { Select } from "../components/Field";
import { VirtualList } from "../components/VirtualList";
import { dayOf, exact, money, price, qty, rMultiple, statusLabel, tone } from "../lib/display";
import { markPage } from "../lib/perf";
import { useLoad } from "../lib/useLoad";
import { account, accounts, changed, dataVersion, go, range, timeZoneOf, toast } from "../state";
import { TradeDetailPanel } from "./TradeDetail";

const PAGE = 100;
const ROW = 34;

type Filters = { status: string; side: string; symbol: string; setup: string; sort: string; scope: string };

/** Trades deleted in the last seconds: still undoable, deleted for real when the undo window ends. */
export const pendingDeletes = new Map<string, ReturnType<typeof setTimeout>>();

export function deleteWithUndo(t: Trade, after?: () => void): void {
  const run = (): void => {
    pendingDeletes.delete(t.id);
    api.deleteTrade(t.id).then(
      () => changed(),
      (e: unknown) => errorToast(e, `Could not delete ${t.symbol}`),
    );
  };
  pendingDeletes.set(t.id, setTimeout(run, 6000));
  changed();
  after?.();
  toast(
    `Deleted ${t.symbol}.`,
    "info",
    {
      label: "Undo",
      run: () => {
        const timer = pendingDeletes.get(t.id);
        if (timer) clearTimeout(timer);
        pendingDeletes.delete(t.id);
        changed();
      },
    },
    6000,
  );
}

export function Trades(p: { open: string | null }): JSX.Element {
  const f = useSignal<Filters>({
    status: "",
    side: "",
    symbol: "",
    setup: "",
    sort: "newest",
    scope: "account",
  });
  const [total, setTotal] = useState(0);
  const [, setTick] = useState(0);
  const cache = useRef(new Map<number, Trade[]>());
  const inflight = useRef(new Set<number>());
  const gen = useRef(0);
  const setups = useLoad(() => api.tradeSetups(), []);
  const currencyOf = (t: Trade): string =>
    accounts.value.find((a) => a.id === t.account_id)?.currency ?? "USD";
  const accountIdSel = useAccountScope(f.value.scope);

  const input = (offset: number): Partial<TradePageInput> => ({
    account: accountIdSel,
    statuses: f.value.status ? [f.value.status] : [],
    side: f.value.side || null,
    symbol: f.value.symbol || null,
    setup: f.value.setup || null,
    from: range.value.from || null,
    to: range.value.to || null,
    sort: f.value.sort,
    limit: PAGE,
    offset,
  });

  const load = (page: number, g: number): void => {
    if (inflight.current.has(page)) return;
    inflight.current.add(page);
    const started = performance.now();
    api.tradePage(input(page * PAGE)).then(
      (res) => {
        if (g !== gen.current) return;
        inflight.current.delete(page);
        cache.current.set(page, res.trades);
        setTotal(res.total);
        setTick((x) => x + 1);
        markPage(started);
      },
      (e: unknown) => {
        inflight.current.delete(page);
        if (g === gen.current) errorToast(e, "Could not load the trades");
      },
    );
  };

  // A layout effect, not an effect: the request for the new first page starts in the frame of the change
  // instead of after the next paint (Preact defers effects by a frame or more).
  useLayoutEffect(() => {
    gen.current++;
    cache.current = new Map();
    inflight.current = new Set();
    load(0, gen.current);
  }, [f.value, range.value, accountIdSel, dataVersion.value]);

  const onRange = (start: number, end: number): void => {
    for (let pg = Math.floor(start / PAGE); pg <= Math.floor(Math.max(start, end - 1) / PAGE); pg++) {
      if (!cache.current.has(pg)) load(pg, gen.current);
    }
  };
  const at = (i: number): Trade | undefined => cache.current.get(Math.floor(i / PAGE))?.[i % PAGE];
  const set = (k: keyof Filters, v: string): void => {
    f.value = { ...f.value, [k]: v };
  };

  return (
    <section class="trades" aria-label="Trades">
      <div class="filters" role="search">
        <label class="inline">
          <span>Symbol</span>
          <input
            type="search"
            aria-label="Symbol"
            placeholder="e.g. AAPL"
            value={f.value.symbol}
            onInput={(e) => set("symbol", e.currentTarget.value)}
          />
        </label>
        <Select
          label="Accounts"
          value={f.value.scope}
          options={
            [
              ["account", "This account"],
              ["all", "All accounts"],
            ] as const
          }
          onChange={(v) => set("scope", v)}
        />
        <Select
          label="Status"
          value={f.value.status}
          options={
            [
              ["", "Any"],
              ["open", "Open"],
              ["partially_closed", "Partly closed"],
              ["closed", "Closed"],
              ["planned", "Planned"],
              ["cancelled", "Cancelled"],
              ["needs_review", "Needs review"],
            ] as const
          }
          onChange={(v) => set("status", v)}
        />
        <Select
          label="Side"
          value={f.value.side}
          options={
            [
              ["", "Any"],
              ["long", "Long"],
              ["short", "Short"],
            ] as const
          }
          onChange={(v) => set("side", v)}
        />
        <Select
          label="Setup"
          value={f.value.setup}
          options={[["", "Any"] as const, ...(setups.data ?? []).map((s) => [s, s] as const)]}
          onChange={(v) => set("setup", v)}
        />
        <Select
          label="Sort"
          value={f.value.sort}
          options={
            [
              ["newest", "Newest"],
              ["oldest", "Oldest"],
              ["pnl", "Best P&L"],
              ["-pnl", "Worst P&L"],
              ["r", "Highest R"],
              ["-r", "Lowest R"],
              ["symbol", "Symbol"],
            ] as const
          }
          onChange={(v) => set("sort", v)}
        />
        <span class="muted" aria-live="polite" data-testid="trade-total">
          {total.toLocaleString("en-US")} trades
        </span>
      </div>
      <div class="split">
        <div class="list-pane">
          <VirtualList
            label="Trades"
            header={
              <div class="vhead" role="row">
                <span>Opened</span>
                <span>Symbol</span>
                <span>Side</span>
                <span>Status</span>
                <span class="num">Qty</span>
                <span class="num">Entry</span>
                <span class="num">Net P&amp;L</span>
                <span class="num">R</span>
              </div>
            }
            total={total}
            rowHeight={ROW}
            onRange={onRange}
            onOpen={(i) => {
              const t = at(i);
              if (t) go({ name: "trades", trade: t.id });
            }}
            row={(i) => {
              const t = at(i);
              if (!t) return <span class="muted">…</span>;
              const c = currencyOf(t);
              const gone = pendingDeletes.has(t.id);
              return (
                <div
                  class={`trow ${p.open === t.id ? "selected" : ""} ${gone ? "deleted" : ""}`}
                  data-trade={t.id}
                >
                  <span>{dayOf(t.opened_at, timeZoneOf(t.account_id))}</span>
                  <span class="sym">{t.symbol}</span>
                  <span>{t.direction}</span>
                  <span class={`status ${t.status}`}>{gone ? "Deleted" : statusLabel[t.status]}</span>
                  <span class="num">{qty(t.entered_quantity)}</span>
                  <span class="num">{price(t.avg_entry_price, c)}</span>
                  <span class={`num ${tone(t.net_pnl)}`} title={exact(t.net_pnl, c)}>
                    {money(t.net_pnl, c)}
                  </span>
                  <span class="num">{rMultiple(t.r_multiple)}</span>
                </div>
              );
            }}
          />
        </div>
        {p.open && <TradeDetailPanel id={p.open} onClose={() => go({ name: "trades" })} />}
      </div>
    </section>
  );
}

function useAccountScope(scope: string): string | null {
  return scope === "all" ? null : (account.value?.id ?? null);
}
