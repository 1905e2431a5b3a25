import type { JSX } from "preact";
import { useEffect } from "preact/hooks";
import { api } from "../api";
import type { Dashboard as Data } from "../bindings/Dashboard";
import type { Stats } from "../bindings/Stats";
import { EquityChart } from "../components/EquityChart";
import { Heatmap } from "../components/Heatmap";
import { day, exact, money, pct, price, qty, rMultiple, tone } from "../lib/display";
import { METRICS } from "../lib/metrics";
import { isDark } from "../lib/theme";
import { useLoad } from "../lib/useLoad";
import { account, go, range } from "../state";

/** A statistic with its exact definition (docs/metrics.md) on hover and focus. */
function Stat(p: { k: string; value: string; exactValue?: string | undefined; tone?: string }): JSX.Element {
  const m = METRICS[p.k];
  const tip = [m?.definition ?? "", p.exactValue ?? ""].filter(Boolean).join("\n\n");
  return (
    <div
      class="stat"
      tabIndex={0}
      title={tip}
      aria-label={`${m?.label ?? p.k}: ${p.value}. ${m?.definition ?? ""}`}
      data-stat={p.k}
    >
      <span class="label">{m?.label ?? p.k}</span>
      <span class={`value ${p.tone ?? ""}`}>{p.value}</span>
    </div>
  );
}

function profitFactor(s: Stats): string {
  if (s.profit_factor === "no_losses") return "no losses";
  if (s.profit_factor === "no_trades") return "no trades";
  return rMultiple(s.profit_factor).replace(" R", "");
}

export function Dashboard(p: { onReady: () => void }): JSX.Element {
  const a = account.value;
  const r = range.value;
  const { data, error } = useLoad<Data | null>(
    () =>
      a ? api.dashboard({ account: a.id, from: r.from || null, to: r.to || null }) : Promise.resolve(null),
    [a?.id, r.from, r.to],
  );
  useEffect(() => {
    if (data) p.onReady();
  }, [data]);
  if (!a)
    return (
      <section class="empty">
        <h1>Welcome</h1>
        <p>There are no accounts yet.</p>
        <button class="primary" onClick={() => go({ name: "journal" })}>
          Add an account
        </button>
      </section>
    );
  if (error)
    return (
      <p class="form-error" role="alert">
        {error.message}
      </p>
    );
  if (!data)
    return (
      <p class="muted" aria-busy="true">
        Loading…
      </p>
    );
  const s = data.stats.stats;
  const c = data.stats.currency;
  return (
    <section class="dashboard" aria-label="Dashboard">
      <h1>
        {data.account.name}{" "}
        <span class="muted small">
          {data.stats.from || data.stats.to ? `${day(data.stats.from)} – ${day(data.stats.to)}` : "all time"}
        </span>
      </h1>
      <div class="stats" role="list">
        <Stat
          k="net_pnl"
          value={money(s.net_pnl, c)}
          exactValue={exact(s.net_pnl, c)}
          tone={tone(s.net_pnl)}
        />
        <Stat k="trades" value={`${s.trades}`} />
        <Stat
          k="win_rate"
          value={pct(s.win_rate)}
          exactValue={s.win_rate ? `${s.wins} wins, ${s.losses} losses, ${s.breakevens} breakeven` : ""}
        />
        <Stat k="profit_factor" value={profitFactor(s)} exactValue={exact(s.profit_factor)} />
        <Stat
          k="expectancy"
          value={money(s.expectancy, c)}
          exactValue={exact(s.expectancy, c)}
          tone={tone(s.expectancy)}
        />
        <Stat k="expectancy_r" value={rMultiple(s.expectancy_r)} exactValue={exact(s.expectancy_r)} />
        <Stat k="avg_win" value={money(s.avg_win, c)} exactValue={exact(s.avg_win, c)} />
        <Stat k="avg_loss" value={money(s.avg_loss, c)} exactValue={exact(s.avg_loss, c)} />
        <Stat k="max_drawdown" value={money(s.max_drawdown, c)} exactValue={exact(s.max_drawdown, c)} />
        <Stat k="max_drawdown_pct" value={s.max_drawdown_pct == null ? "n/a" : pct(s.max_drawdown_pct)} />
        <Stat k="total_fees" value={money(s.total_fees, c)} exactValue={exact(s.total_fees, c)} />
        <Stat k="ending_equity" value={money(s.ending_equity, c)} exactValue={exact(s.ending_equity, c)} />
      </div>
      <div class="panels">
        <div class="panel wide">
          <h2>Equity curve</h2>
          <EquityChart points={data.equity_curve} currency={c} dark={isDark()} />
        </div>
        <div class="panel">
          <h2>
            Daily P&amp;L <span class="muted small">({data.stats.time_zone})</span>
          </h2>
          <Heatmap days={data.calendar} currency={c} />
          {s.best_day && (
            <p class="small">
              Best day {day(s.best_day.date)} <span class="gain">{money(s.best_day.net_pnl, c)}</span>
              {s.worst_day && (
                <>
                  {" "}
                  · worst {day(s.worst_day.date)} <span class="loss">{money(s.worst_day.net_pnl, c)}</span>
                </>
              )}
            </p>
          )}
        </div>
      </div>
      <div class="panel">
        <h2>
          Open positions{" "}
          <span class="muted small" title={METRICS.open_risk?.definition}>
            open risk {money(data.open_risk, c)}
            {data.unbounded_positions > 0 ? ` + ${data.unbounded_positions} without a stop` : ""}
          </span>
        </h2>
        {data.open_positions.length === 0 ? (
          <p class="muted">No open positions.</p>
        ) : (
          <table class="table">
            <thead>
              <tr>
                <th>Symbol</th>
                <th>Side</th>
                <th class="num">Open</th>
                <th class="num">Avg entry</th>
                <th class="num">Stop</th>
                <th class="num">Open risk</th>
                <th class="num">% of equity</th>
              </tr>
            </thead>
            <tbody>
              {data.open_positions.map((o) => (
                <tr
                  key={o.trade.id}
                  class="clickable"
                  onClick={() => go({ name: "trades", trade: o.trade.id })}
                >
                  <td>
                    <button class="link" onClick={() => go({ name: "trades", trade: o.trade.id })}>
                      {o.trade.symbol}
                    </button>
                  </td>
                  <td>{o.trade.direction}</td>
                  <td class="num">{qty(o.trade.open_quantity)}</td>
                  <td class="num" title={exact(o.trade.avg_entry_price, c)}>
                    {price(o.trade.avg_entry_price, c)}
                  </td>
                  <td class="num">{price(o.trade.current_stop, c)}</td>
                  <td class="num" title={exact(o.open_risk, c)}>
                    {o.open_risk == null ? "no stop" : money(o.open_risk, c)}
                  </td>
                  <td class="num">{pct(o.open_risk_pct)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
