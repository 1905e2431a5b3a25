import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { api } from "../api";
import { errorToast } from "../lib/actions";
import type { AccountSummary } from "../bindings/AccountSummary";
import { Field, FormError, Select } from "../components/Field";
import { day, money, pct, when } from "../lib/display";
import { FieldError, orNull, useForm } from "../lib/forms";
import { wholeNumber } from "../lib/int";
import { useLoad } from "../lib/useLoad";
import { account, accounts, changed, route, toast } from "../state";

type Tab = "notes" | "accounts" | "risk" | "checklists" | "brokers";

/** Notes per day, accounts, each account's risk settings, checklist templates and broker connections. */
export function JournalScreen(): JSX.Element {
  const r = route.value;
  const tab = useSignal<Tab>(r.name === "journal" && r.tab ? r.tab : "notes");
  const tabs: [Tab, string][] = [
    ["notes", "Day notes"],
    ["accounts", "Accounts"],
    ["risk", "Risk settings"],
    ["checklists", "Checklists"],
    ["brokers", "Broker connections"],
  ];
  return (
    <section aria-label="Journal">
      <h1>Journal</h1>
      <div class="tabs" role="tablist">
        {tabs.map(([t, l]) => (
          <button
            key={t}
            role="tab"
            aria-selected={tab.value === t}
            class={tab.value === t ? "current" : ""}
            onClick={() => (tab.value = t)}
          >
            {l}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        {tab.value === "notes" && <DayNotes />}
        {tab.value === "accounts" && <Accounts />}
        {tab.value === "risk" && account.value && <Risk a={account.value} key={account.value.id} />}
        {tab.value === "checklists" && <Checklists />}
        {tab.value === "brokers" && <Brokers />}
      </div>
    </section>
  );
}

function DayNotes(): JSX.Element {
  const { data } = useLoad(() => api.dayNotes(), []);
  const form = useForm({ body: "" }, { body: ["text", "body"] });
  const a = account.value;
  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (await form.submit((v) => api.addNote(v.body, null, a?.id ?? null, "journal"))) {
      form.reset();
      changed();
    }
  };
  return (
    <div class="stack">
      <form class="stack" onSubmit={save}>
        <div class="field">
          <label for="day-note">Today's note{a ? ` (${a.name})` : ""}</label>
          <textarea
            id="day-note"
            rows={3}
            value={form.values.value.body}
            onInput={(e) => form.set("body", e.currentTarget.value)}
          />
          {form.errors.value.body && (
            <small class="error" role="alert">
              {form.errors.value.body}
            </small>
          )}
        </div>
        <FormError error={form.errors.value._form} action={form.action.value} />
        <div class="row">
          <button class="primary" type="submit" disabled={form.busy.value}>
            Save the note
          </button>
        </div>
      </form>
      {(data ?? []).map((d) => (
        <article key={d.day} class="panel">
          <h2>{day(d.day)}</h2>
          {d.notes.map((n) => (
            <p key={n.id}>{n.body}</p>
          ))}
        </article>
      ))}
      {data?.length === 0 && <p class="muted">No day notes yet.</p>}
    </div>
  );
}

function Accounts(): JSX.Element {
  const form = useForm(
    {
      name: "",
      currency: "USD",
      balance: "",
      timezone: Intl.DateTimeFormat("en-US").resolvedOptions().timeZone || "UTC",
      matching: "fifo",
    },
    {
      name: ["name"],
      currency: ["currency"],
      balance: ["balance"],
      timezone: ["timezone"],
      matching: ["matching"],
    },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    if (
      await form.submit((x) =>
        api.addAccount({
          name: x.name,
          currency: x.currency,
          balance: x.balance,
          timezone: x.timezone,
          matching: x.matching,
        }),
      )
    ) {
      form.reset();
      changed();
      toast("Account added.");
    }
  };
  const remove = async (x: AccountSummary): Promise<void> => {
    if (!confirm(`Delete ${x.name} with all its trades? This reaches your other devices at the next sync.`))
      return;
    try {
      await api.deleteAccount(x.id);
      changed();
    } catch (err) {
      errorToast(err, `Could not delete ${x.name}`);
    }
  };
  return (
    <div class="stack">
      <table class="table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Currency</th>
            <th class="num">Starting balance</th>
            <th class="num">Equity</th>
            <th>Time zone</th>
            <th>Matching</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {accounts.value.map((x) => (
            <tr key={x.id}>
              <td>{x.name}</td>
              <td>{x.currency}</td>
              <td class="num">{money(x.starting_balance, x.currency)}</td>
              <td class="num">{money(x.equity, x.currency)}</td>
              <td>{x.time_zone}</td>
              <td>{x.matching_method}</td>
              <td>
                <button class="danger small" onClick={() => void remove(x)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="panel stack" onSubmit={save}>
        <h2>Add an account</h2>
        <div class="row wrap">
          <Field label="Name" value={v.name} onInput={(s) => form.set("name", s)} error={e.name} />
          <Field
            label="Currency"
            value={v.currency}
            onInput={(s) => form.set("currency", s)}
            error={e.currency}
            width="narrow"
          />
          <Field
            label="Starting balance"
            inputMode="decimal"
            value={v.balance}
            onInput={(s) => form.set("balance", s)}
            error={e.balance}
          />
          <Field
            label="Time zone"
            value={v.timezone}
            onInput={(s) => form.set("timezone", s)}
            error={e.timezone}
          />
          <Select
            label="Matching"
            value={v.matching}
            options={
              [
                ["fifo", "FIFO"],
                ["lifo", "LIFO"],
                ["average_cost", "Average cost"],
              ] as const
            }
            onChange={(s) => form.set("matching", s)}
            error={e.matching}
          />
        </div>
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button class="primary" type="submit" disabled={form.busy.value}>
            Add the account
          </button>
        </div>
      </form>
    </div>
  );
}

function Risk(p: { a: AccountSummary }): JSX.Element {
  const r = p.a.risk;
  const form = useForm(
    {
      max_risk_pct: r.max_risk_per_trade_pct,
      max_daily_loss_pct: r.max_daily_loss_pct,
      max_weekly_loss_pct: r.max_weekly_loss_pct,
      max_open_positions: `${r.max_open_positions}`,
      max_correlated_positions: `${r.max_correlated_positions}`,
      sizing: r.sizing_method,
      fixed_amount: r.fixed_amount ?? "",
      fixed_quantity: r.fixed_quantity ?? "",
      enforcement: r.enforcement,
    },
    {
      max_risk_pct: ["max-risk-pct"],
      max_daily_loss_pct: ["max-daily-loss-pct"],
      max_weekly_loss_pct: ["max-weekly-loss-pct"],
      max_open_positions: ["max-open-positions"],
      max_correlated_positions: ["max-correlated-positions"],
      sizing: ["sizing"],
      fixed_amount: ["fixed-amount"],
      fixed_quantity: ["fixed-quantity"],
      enforcement: ["enforcement"],
    },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const ok = await form.submit(async (x) => {
      const open = wholeNumber(x.max_open_positions);
      const corr = wholeNumber(x.max_correlated_positions);
      if (open === null) throw new FieldError("max-open-positions", "expected a whole number");
      if (corr === null) throw new FieldError("max-correlated-positions", "expected a whole number");
      await api.setRisk(p.a.id, {
        max_risk_pct: x.max_risk_pct,
        max_daily_loss_pct: x.max_daily_loss_pct,
        max_weekly_loss_pct: x.max_weekly_loss_pct,
        max_open_positions: open,
        max_correlated_positions: corr,
        sizing: x.sizing,
        fixed_amount: orNull(x.fixed_amount),
        fixed_quantity: orNull(x.fixed_quantity),
        enforcement: x.enforcement,
      });
    });
    if (ok) {
      changed();
      toast(`Risk settings of ${p.a.name} saved.`);
    }
  };
  return (
    <form class="panel stack" onSubmit={save} aria-label={`Risk settings of ${p.a.name}`}>
      <h2>Risk settings of {p.a.name}</h2>
      <p class="muted small">
        Now: {pct(r.max_risk_per_trade_pct)} per trade, {pct(r.max_daily_loss_pct)} a day,{" "}
        {pct(r.max_weekly_loss_pct)} a week; enforcement {r.enforcement}.
      </p>
      <div class="row wrap">
        <Field
          label="Max risk per trade %"
          inputMode="decimal"
          value={v.max_risk_pct}
          onInput={(s) => form.set("max_risk_pct", s)}
          error={e.max_risk_pct}
        />
        <Field
          label="Max daily loss %"
          inputMode="decimal"
          value={v.max_daily_loss_pct}
          onInput={(s) => form.set("max_daily_loss_pct", s)}
          error={e.max_daily_loss_pct}
        />
        <Field
          label="Max weekly loss %"
          inputMode="decimal"
          value={v.max_weekly_loss_pct}
          onInput={(s) => form.set("max_weekly_loss_pct", s)}
          error={e.max_weekly_loss_pct}
        />
        <Field
          label="Max open positions"
          inputMode="numeric"
          value={v.max_open_positions}
          onInput={(s) => form.set("max_open_positions", s)}
          error={e.max_open_positions}
        />
        <Field
          label="Max correlated positions"
          inputMode="numeric"
          value={v.max_correlated_positions}
          onInput={(s) => form.set("max_correlated_positions", s)}
          error={e.max_correlated_positions}
        />
        <Select
          label="Sizing"
          value={v.sizing}
          options={
            [
              ["fixed_fractional", "Fixed fraction of equity"],
              ["fixed_amount", "Fixed amount"],
              ["fixed_quantity", "Fixed quantity"],
            ] as const
          }
          onChange={(s) => form.set("sizing", s)}
          error={e.sizing}
        />
        <Field
          label="Fixed amount"
          inputMode="decimal"
          value={v.fixed_amount}
          onInput={(s) => form.set("fixed_amount", s)}
          error={e.fixed_amount}
        />
        <Field
          label="Fixed quantity"
          inputMode="decimal"
          value={v.fixed_quantity}
          onInput={(s) => form.set("fixed_quantity", s)}
          error={e.fixed_quantity}
        />
        <Select
          label="Enforcement"
          value={v.enforcement}
          options={
            [
              ["block", "Block the trade"],
              ["warn", "Warn only"],
            ] as const
          }
          onChange={(s) => form.set("enforcement", s)}
          error={e.enforcement}
        />
      </div>
      <FormError error={e._form} action={form.action.value} />
      <div class="row">
        <button class="primary" type="submit" disabled={form.busy.value}>
          Save the risk settings
        </button>
      </div>
    </form>
  );
}

function Checklists(): JSX.Element {
  const { data } = useLoad(() => api.listChecklists(), []);
  const form = useForm(
    { name: "", items: "", optional: "" },
    { name: ["name"], items: ["item"], optional: ["optional-item"] },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const lines = (s: string): string[] =>
    s
      .split("\n")
      .map((x) => x.trim())
      .filter(Boolean);
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    if (
      await form.submit((x) =>
        api.addChecklist({ name: x.name, items: lines(x.items), optional_items: lines(x.optional) }),
      )
    ) {
      form.reset();
      changed();
      toast("Checklist added.");
    }
  };
  return (
    <div class="stack">
      {(data ?? []).map((c) => (
        <article key={c.id} class="panel">
          <h2>{c.name}</h2>
          <ol>
            {c.items.map((i) => (
              <li key={i.id}>
                {i.prompt}{" "}
                {i.required ? <span class="req">required</span> : <span class="muted small">optional</span>}
              </li>
            ))}
          </ol>
        </article>
      ))}
      <form class="panel stack" onSubmit={save}>
        <h2>New checklist</h2>
        <Field label="Name" value={v.name} onInput={(s) => form.set("name", s)} error={e.name} />
        <div class="field">
          <label for="cl-items">Required items (one per line)</label>
          <textarea
            id="cl-items"
            rows={3}
            value={v.items}
            onInput={(x) => form.set("items", x.currentTarget.value)}
          />
          {e.items && (
            <small class="error" role="alert">
              {e.items}
            </small>
          )}
        </div>
        <div class="field">
          <label for="cl-opt">Optional items (one per line)</label>
          <textarea
            id="cl-opt"
            rows={2}
            value={v.optional}
            onInput={(x) => form.set("optional", x.currentTarget.value)}
          />
          {e.optional && (
            <small class="error" role="alert">
              {e.optional}
            </small>
          )}
        </div>
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button class="primary" type="submit" disabled={form.busy.value}>
            Add the checklist
          </button>
        </div>
      </form>
    </div>
  );
}

function Brokers(): JSX.Element {
  const { data } = useLoad(() => api.listBrokerConnections(), []);
  const form = useForm(
    { broker: "", label: "", hint: "", secret: "" },
    { broker: ["broker"], label: ["label"], hint: ["key-hint"], secret: ["secret"] },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const ok = await form.submit((x) =>
      api.addBrokerConnection(x.broker, x.label, account.value?.id ?? null, orNull(x.hint), x.secret),
    );
    if (ok) {
      form.reset();
      changed();
      toast("Broker connection added; its secret is sealed on this device.");
    }
  };
  return (
    <div class="stack">
      <table class="table">
        <thead>
          <tr>
            <th>Broker</th>
            <th>Label</th>
            <th>Secret</th>
            <th>Status</th>
            <th>Added</th>
          </tr>
        </thead>
        <tbody>
          {(data ?? []).map((b) => (
            <tr key={b.id}>
              <td>{b.broker}</td>
              <td>{b.label}</td>
              <td class="mono">{`••••••••${b.api_key_hint ? ` ${b.api_key_hint}` : ""}`}</td>
              <td>{b.status}</td>
              <td>{when(b.created_at, "UTC")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="panel stack" onSubmit={save} autoComplete="off">
        <h2>Add a broker connection</h2>
        <p class="muted small">
          The secret is entered once, sealed on this device (AES-256-GCM) and never shown again.
        </p>
        <div class="row wrap">
          <Field label="Broker" value={v.broker} onInput={(s) => form.set("broker", s)} error={e.broker} />
          <Field label="Label" value={v.label} onInput={(s) => form.set("label", s)} error={e.label} />
          <Field
            label="Key hint (e.g. its last 4 characters)"
            value={v.hint}
            onInput={(s) => form.set("hint", s)}
            error={e.hint}
          />
          <Field
            label="API secret"
            type="password"
            value={v.secret}
            onInput={(s) => form.set("secret", s)}
            error={e.secret}
          />
        </div>
        <FormError error={e._form} action={form.action.value} />
        <div class="row">
          <button class="primary" type="submit" disabled={form.busy.value}>
            Seal and save
          </button>
        </div>
      </form>
    </div>
  );
}
