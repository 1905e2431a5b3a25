import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { api } from "../api";
import type { SplitResult } from "../bindings/SplitResult";
import type { TradeDetail } from "../bindings/TradeDetail";
import { Field, FormError, Select } from "../components/Field";
import { Modal } from "../components/Modal";
import { day, exact, money, price, qty, rMultiple, statusLabel, tone, when } from "../lib/display";
import { orNull, useForm } from "../lib/forms";
import { useLoad } from "../lib/useLoad";
import { changed, go, timeZoneOf, toast } from "../state";
import { deleteWithUndo } from "./Trades";

export type Action = "execution" | "close" | "edit" | "split" | "merge" | null;
/** The palette opens these dialogs on the trade shown. */
export const requestedAction = { current: null as Action };

/**
 * A trade with everything recorded about it: executions (with what each exit realized), fees, the stop
 * history, targets, R, notes and checklist answers; and what can be done to it. Amounts are rounded for
 * reading; hovering shows the exact value.
 */
export function TradeDetailPanel(p: { id: string; onClose: () => void }): JSX.Element {
  const { data, error } = useLoad(() => api.tradeDetail(p.id), [p.id]);
  const action = useSignal<Action>(requestedAction.current);
  requestedAction.current = null;
  if (error)
    return (
      <aside class="detail">
        <p class="form-error" role="alert">
          {error.message}
        </p>
      </aside>
    );
  if (!data)
    return (
      <aside class="detail muted" aria-busy="true">
        Loading…
      </aside>
    );
  const t = data;
  const c = t.currency;
  const tz = timeZoneOf(t.account_id);
  const live =
    t.status === "open" ||
    t.status === "partially_closed" ||
    (t.status === "needs_review" && t.open_quantity !== "0");
  return (
    <aside class="detail" aria-label={`Trade ${t.symbol}`} data-testid="trade-detail">
      <header class="detail-head">
        <h2>
          {t.symbol} <span class="muted">{t.direction}</span>{" "}
          <span class={`status ${t.status}`}>{statusLabel[t.status]}</span>
        </h2>
        <button class="ghost" aria-label="Close the detail" onClick={p.onClose}>
          ×
        </button>
      </header>
      <div class="row wrap">
        {live && (
          <>
            <button onClick={() => (action.value = "execution")}>Add execution</button>
            <button onClick={() => (action.value = "close")}>Close</button>
          </>
        )}
        <button onClick={() => (action.value = "edit")}>Edit</button>
        {t.executions.length > 1 && <button onClick={() => (action.value = "split")}>Split…</button>}
        {t.executions.length > 0 && <button onClick={() => (action.value = "merge")}>Merge…</button>}
        <button class="danger" onClick={() => deleteWithUndo(t, p.onClose)}>
          Delete
        </button>
      </div>
      <dl class="facts">
        <dt>Net P&amp;L</dt>
        <dd class={tone(t.net_pnl)} title={exact(t.net_pnl, c)} data-testid="trade-net">
          {money(t.net_pnl, c)}
        </dd>
        <dt>Gross P&amp;L</dt>
        <dd title={exact(t.gross_pnl, c)}>{money(t.gross_pnl, c)}</dd>
        <dt>Fees</dt>
        <dd title={exact(t.fees, c)}>{money(t.fees, c)}</dd>
        <dt>R-multiple</dt>
        <dd title={exact(t.r_multiple)}>{rMultiple(t.r_multiple)}</dd>
        <dt>Initial risk</dt>
        <dd title={exact(t.initial_risk, c)}>{money(t.initial_risk, c)}</dd>
        <dt>Entered / open</dt>
        <dd>
          {qty(t.entered_quantity)} / {qty(t.open_quantity)}
        </dd>
        <dt>Avg entry / exit</dt>
        <dd title={`${exact(t.avg_entry_price, c)} / ${exact(t.avg_exit_price, c)}`}>
          {price(t.avg_entry_price, c)} / {price(t.avg_exit_price, c)}
        </dd>
        <dt>Stop (initial)</dt>
        <dd>
          {price(t.current_stop, c)} ({price(t.initial_stop, c)})
        </dd>
        <dt>Setup</dt>
        <dd>{t.setup ?? "—"}</dd>
        <dt>Opened / closed</dt>
        <dd>
          {when(t.opened_at, tz)} / {when(t.closed_at, tz)}
        </dd>
      </dl>
      {(t.warnings ?? []).length > 0 && (
        <ul class="warnings">
          {(t.warnings ?? []).map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <h3>Executions</h3>
      <table class="table compact" data-testid="executions">
        <thead>
          <tr>
            <th>Time</th>
            <th>Side</th>
            <th class="num">Qty</th>
            <th class="num">Price</th>
            <th class="num">Fees</th>
            <th class="num">Realized (net)</th>
          </tr>
        </thead>
        <tbody>
          {t.executions.map((e) => (
            <tr key={e.id}>
              <td>{when(e.executed_at, e.time_zone)}</td>
              <td>{e.side}</td>
              <td class="num">{qty(e.quantity)}</td>
              <td class="num" title={exact(e.price, c)}>
                {price(e.price, c)}
              </td>
              <td class="num" title={exact(e.fees, c)}>
                {money(e.fees, c)}
              </td>
              <td class={`num ${tone(e.realized_net)}`} title={exact(e.realized_net, c)}>
                {e.realized_net == null ? "" : money(e.realized_net, c)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {t.stops.length > 0 && (
        <>
          <h3>Stop history</h3>
          <ul class="plain">
            {t.stops.map((s) => (
              <li key={s.id}>
                {when(s.adjusted_at, tz)}: {price(s.price, c)}
                {s.reason ? ` (${s.reason})` : ""}
              </li>
            ))}
          </ul>
        </>
      )}
      {t.targets.length > 0 && (
        <>
          <h3>Targets</h3>
          <p>{t.targets.map((x) => price(x.price, c)).join(", ")}</p>
        </>
      )}
      {t.checklist.length > 0 && (
        <>
          <h3>Checklist</h3>
          <ul class="plain">
            {t.checklist.map((a) => (
              <li key={a.item_id}>
                {a.checked ? "☑" : "☐"} {a.prompt}
                {a.required ? " (required)" : ""}
                {a.comment ? `: ${a.comment}` : ""}
              </li>
            ))}
          </ul>
        </>
      )}
      <Notes trade={t} />
      {action.value === "execution" && <ExecutionDialog t={t} onClose={() => (action.value = null)} />}
      {action.value === "close" && <CloseDialog t={t} onClose={() => (action.value = null)} />}
      {action.value === "edit" && <EditDialog t={t} onClose={() => (action.value = null)} />}
      {action.value === "split" && <SplitDialog t={t} onClose={() => (action.value = null)} />}
      {action.value === "merge" && <MergeDialog t={t} onClose={() => (action.value = null)} />}
    </aside>
  );
}

function Notes(p: { trade: TradeDetail }): JSX.Element {
  const form = useForm({ body: "", kind: "review" }, { body: ["text", "body"], kind: ["kind"] });
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (await form.submit((v) => api.addNote(v.body, p.trade.id, null, v.kind))) {
      form.reset();
      changed();
    }
  };
  return (
    <>
      <h3>Notes</h3>
      <ul class="plain notes">
        {p.trade.notes.map((n) => (
          <li key={n.id}>
            <span class="muted small">
              {day(n.created_at.slice(0, 10))} · {n.kind}
            </span>
            <p>{n.body}</p>
          </li>
        ))}
      </ul>
      <form class="stack" onSubmit={save}>
        <div class="field">
          <label for="trade-note">Add a note</label>
          <textarea
            id="trade-note"
            rows={2}
            value={form.values.value.body}
            onInput={(e) => form.set("body", e.currentTarget.value)}
          />
          {form.errors.value.body && (
            <small class="error" role="alert">
              {form.errors.value.body}
            </small>
          )}
        </div>
        <div class="row">
          <Select
            label="Kind"
            value={form.values.value.kind}
            options={
              [
                ["plan", "Plan"],
                ["review", "Review"],
                ["journal", "Journal"],
                ["lesson", "Lesson"],
              ] as const
            }
            onChange={(v) => form.set("kind", v)}
          />
          <button type="submit" disabled={form.busy.value}>
            Save note
          </button>
        </div>
        <FormError error={form.errors.value._form} action={form.action.value} />
      </form>
    </>
  );
}

function ExecutionDialog(p: { t: TradeDetail; onClose: () => void }): JSX.Element {
  const exitSide = p.t.direction === "long" ? "sell" : "buy";
  const form = useForm(
    { side: exitSide, quantity: "", price: "", fees: "", at: "" },
    { quantity: ["quantity"] },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    if (
      await form.submit((x) =>
        api.addExecution(p.t.id, {
          side: x.side,
          quantity: x.quantity,
          price: x.price,
          fees: orNull(x.fees),
          at: orNull(x.at),
        }),
      )
    ) {
      changed();
      toast(`Execution added to ${p.t.symbol}.`);
      p.onClose();
    }
  };
  return (
    <Modal title={`Add an execution to ${p.t.symbol}`} onClose={p.onClose}>
      <form class="stack" onSubmit={save}>
        <Select
          label="Side"
          value={v.side}
          options={
            [
              ["buy", "Buy"],
              ["sell", "Sell"],
            ] as const
          }
          onChange={(s) => form.set("side", s)}
          error={e.side}
        />
        <Field
          label="Quantity"
          inputMode="decimal"
          value={v.quantity}
          onInput={(s) => form.set("quantity", s)}
          error={e.quantity}
          hint={`${p.t.open_quantity} open`}
        />
        <Field
          label="Price"
          inputMode="decimal"
          value={v.price}
          onInput={(s) => form.set("price", s)}
          error={e.price}
        />
        <Field
          label="Fees"
          inputMode="decimal"
          value={v.fees}
          onInput={(s) => form.set("fees", s)}
          error={e.fees}
        />
        <Field
          label="Time (optional, YYYY-MM-DD HH:MM in the account's zone)"
          value={v.at}
          onInput={(s) => form.set("at", s)}
          error={e.at}
        />
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button type="button" onClick={p.onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={form.busy.value}>
            Add execution
          </button>
        </div>
      </form>
    </Modal>
  );
}

function CloseDialog(p: { t: TradeDetail; onClose: () => void }): JSX.Element {
  const form = useForm(
    { price: "", quantity: "", fees: "", at: "" },
    { price: ["price"], quantity: ["quantity", "trade"], fees: ["fees"], at: ["at"] },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    if (
      await form.submit((x) =>
        api.closeTrade(p.t.id, {
          price: x.price,
          quantity: orNull(x.quantity),
          fees: orNull(x.fees),
          at: orNull(x.at),
        }),
      )
    ) {
      changed();
      toast(`${p.t.symbol} ${v.quantity ? "partly closed" : "closed"}.`);
      p.onClose();
    }
  };
  return (
    <Modal title={`Close ${p.t.symbol}`} onClose={p.onClose}>
      <form class="stack" onSubmit={save}>
        <Field
          label="Exit price"
          inputMode="decimal"
          value={v.price}
          onInput={(s) => form.set("price", s)}
          error={e.price}
        />
        <Field
          label="Quantity (empty: all that is open)"
          inputMode="decimal"
          value={v.quantity}
          onInput={(s) => form.set("quantity", s)}
          error={e.quantity}
          hint={`${p.t.open_quantity} open`}
        />
        <Field
          label="Fees"
          inputMode="decimal"
          value={v.fees}
          onInput={(s) => form.set("fees", s)}
          error={e.fees}
        />
        <Field label="Time (optional)" value={v.at} onInput={(s) => form.set("at", s)} error={e.at} />
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button type="button" onClick={p.onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={form.busy.value}>
            Close the trade
          </button>
        </div>
      </form>
    </Modal>
  );
}

function EditDialog(p: { t: TradeDetail; onClose: () => void }): JSX.Element {
  const c = p.t.currency;
  const form = useForm(
    {
      stop: "",
      reason: "",
      targets: p.t.targets.map((x) => x.price).join(" "),
      setup: p.t.setup ?? "",
      symbol: p.t.symbol,
    },
    {
      stop: ["stop", "initial_stop"],
      reason: ["reason"],
      targets: ["target"],
      setup: ["setup"],
      symbol: ["symbol"],
    },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const targets = v.targets.trim() ? v.targets.trim().split(/[\s,;]+/) : [];
    const sameTargets = targets.join(" ") === p.t.targets.map((x) => x.price).join(" ");
    const ok = await form.submit((x) =>
      api.editTrade(p.t.id, {
        stop: orNull(x.stop),
        stop_reason: orNull(x.reason),
        targets: sameTargets ? null : targets,
        setup: x.setup.trim() !== (p.t.setup ?? "") ? x.setup : null,
        symbol: x.symbol.trim().toUpperCase() !== p.t.symbol ? x.symbol : null,
      }),
    );
    if (ok) {
      changed();
      toast(`${p.t.symbol} saved.`);
      p.onClose();
    }
  };
  return (
    <Modal title={`Edit ${p.t.symbol}`} onClose={p.onClose}>
      <form class="stack" onSubmit={save}>
        <Field
          label={`New stop (now ${price(p.t.current_stop, c)})`}
          inputMode="decimal"
          value={v.stop}
          onInput={(s) => form.set("stop", s)}
          error={e.stop}
        />
        <Field
          label="Why the stop moved"
          value={v.reason}
          onInput={(s) => form.set("reason", s)}
          error={e.reason}
        />
        <Field
          label="Targets (space separated)"
          value={v.targets}
          onInput={(s) => form.set("targets", s)}
          error={e.targets}
        />
        <Field label="Setup" value={v.setup} onInput={(s) => form.set("setup", s)} error={e.setup} />
        <Field label="Symbol" value={v.symbol} onInput={(s) => form.set("symbol", s)} error={e.symbol} />
        <p class="muted small">
          Initial risk {money(p.t.initial_risk, c)} · R {rMultiple(p.t.r_multiple)}
        </p>
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button type="button" onClick={p.onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={form.busy.value}>
            Save
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** `set` with `id` ticked, or unticked when it was: what a list of checkboxes keeps. */
function toggled(set: ReadonlySet<string>, id: string): ReadonlySet<string> {
  const next = new Set(set);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/**
 * Split a trade: the fills ticked move, whole, to a new trade of the same instrument (trading around a
 * core position, two ideas a broker export grouped together). The core checks that each part enters
 * before it exits; its refusal says which part and by how much.
 */
function SplitDialog(p: { t: TradeDetail; onClose: () => void }): JSX.Element {
  const chosen = useSignal<ReadonlySet<string>>(new Set());
  const form = useForm({ executions: "" }, { executions: ["executions", "trade"] });
  const e = form.errors.value;
  const c = p.t.currency;
  const toggle = (id: string): void => {
    chosen.value = toggled(chosen.value, id);
    form.set("executions", [...chosen.value].join(","));
  };
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    let result: SplitResult | null = null;
    if (
      await form.submit(async () => {
        result = await api.splitTrade({ trade: p.t.id, executions: [...chosen.value] });
      })
    ) {
      changed();
      const r = result as SplitResult | null;
      toast(
        `${r?.split_off.executions.length ?? chosen.value.size} fill(s) split off into a new ${p.t.symbol} trade.`,
      );
      p.onClose();
    }
  };
  return (
    <Modal title={`Split ${p.t.symbol}`} onClose={p.onClose}>
      <form class="stack" onSubmit={save}>
        <p class="muted small">
          Tick the fills that form the new trade. Each part must keep its entries with its exits; notes,
          targets and the checklist stay with this trade.
        </p>
        <fieldset class="picks" aria-label="Fills for the new trade">
          {p.t.executions.map((x) => (
            <label key={x.id} class="pick">
              <input type="checkbox" checked={chosen.value.has(x.id)} onChange={() => toggle(x.id)} />
              <span>{when(x.executed_at, x.time_zone)}</span>
              <span>{x.side}</span>
              <span class="num">{qty(x.quantity)}</span>
              <span class="num" title={exact(x.price, c)}>
                @ {price(x.price, c)}
              </span>
            </label>
          ))}
        </fieldset>
        {e.executions && (
          <p class="form-error" role="alert">
            {e.executions}
          </p>
        )}
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button type="button" onClick={p.onClose}>
            Cancel
          </button>
          <button
            class="primary"
            type="submit"
            disabled={
              form.busy.value || chosen.value.size === 0 || chosen.value.size === p.t.executions.length
            }
          >
            Split off {chosen.value.size} fill{chosen.value.size === 1 ? "" : "s"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/**
 * Merge trades of the same account and instrument into this one (or into the one opened first): their
 * fills and notes move, the others are deleted. The candidates are the account's other trades of this
 * symbol and direction.
 */
function MergeDialog(p: { t: TradeDetail; onClose: () => void }): JSX.Element {
  const { data, error } = useLoad(
    () =>
      api.tradePage({
        account: p.t.account_id,
        symbol: p.t.symbol,
        side: p.t.direction,
        statuses: [],
        sort: "newest",
        limit: 200,
      }),
    [p.t.id],
  );
  const chosen = useSignal<ReadonlySet<string>>(new Set());
  const form = useForm({ trades: "" }, { trades: ["trades", "trade"] });
  const e = form.errors.value;
  const c = p.t.currency;
  const candidates = (data?.trades ?? []).filter(
    (x) => x.id !== p.t.id && x.symbol === p.t.symbol && x.opened_at != null,
  );
  const tz = timeZoneOf(p.t.account_id);
  const toggle = (id: string): void => {
    chosen.value = toggled(chosen.value, id);
    form.set("trades", [...chosen.value].join(","));
  };
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    let kept: TradeDetail | null = null;
    if (
      await form.submit(async () => {
        kept = await api.mergeTrades({ trades: [p.t.id, ...chosen.value] });
      })
    ) {
      changed();
      toast(`${chosen.value.size + 1} ${p.t.symbol} trades merged into one.`);
      p.onClose();
      const k = kept as TradeDetail | null;
      if (k && k.id !== p.t.id) go({ name: "trades", trade: k.id });
    }
  };
  return (
    <Modal title={`Merge into ${p.t.symbol}`} onClose={p.onClose}>
      <form class="stack" onSubmit={save}>
        <p class="muted small">
          Tick the {p.t.direction} {p.t.symbol} trades of this account to merge with this one. The trade
          opened first keeps its stop, targets and checklist; the others&apos; fills and notes move to it.
        </p>
        {error && (
          <p class="form-error" role="alert">
            {error.message}
          </p>
        )}
        {data && candidates.length === 0 && (
          <p class="muted">No other {p.t.symbol} trades in this account.</p>
        )}
        <fieldset class="picks" aria-label="Trades to merge">
          {candidates.map((x) => (
            <label key={x.id} class="pick trade">
              <input type="checkbox" checked={chosen.value.has(x.id)} onChange={() => toggle(x.id)} />
              <span>{when(x.opened_at, tz)}</span>
              <span class="muted">{statusLabel[x.status]}</span>
              <span class="num">{qty(x.entered_quantity)}</span>
              <span class={`num ${tone(x.net_pnl)}`} title={exact(x.net_pnl, c)}>
                {money(x.net_pnl, c)}
              </span>
            </label>
          ))}
        </fieldset>
        {e.trades && (
          <p class="form-error" role="alert">
            {e.trades}
          </p>
        )}
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button type="button" onClick={p.onClose}>
            Cancel
          </button>
          <button class="primary" type="submit" disabled={form.busy.value || chosen.value.size === 0}>
            Merge {chosen.value.size + 1} trades
          </button>
        </div>
      </form>
    </Modal>
  );
}
