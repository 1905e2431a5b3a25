import type { JSX } from "preact";
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { api, asApiError } from "../api";
import type { PositionSize } from "../bindings/PositionSize";
import type { RiskCheck } from "../bindings/RiskCheck";
import { Field, FormError, Select } from "../components/Field";
import { money, pct, qty } from "../lib/display";
import { orNull, useForm } from "../lib/forms";
import { useLoad } from "../lib/useLoad";
import { account, changed, go, toast } from "../state";

const KEYS = {
  symbol: "",
  side: "long",
  price: "",
  stop: "",
  target: "",
  quantity: "",
  fees: "",
  setup: "",
  group: "",
  multiplier: "",
};
type Key = keyof typeof KEYS;

/**
 * A new trade: the position-size calculator from the account's risk settings, the pre-trade checklist
 * (required items must be checked), and the account's risk rules checked as the trade is typed (which rule
 * and by how much; with enforcement `block` saving is refused, with `warn` it is allowed and noted).
 */
export function NewTrade(): JSX.Element {
  const a = account.value;
  const form = useForm<Key | "checklist" | "risk">(
    { ...KEYS, checklist: "", risk: "" },
    {
      symbol: ["symbol"],
      side: ["side"],
      price: ["price", "entry"],
      stop: ["stop"],
      target: ["target"],
      quantity: ["quantity"],
      fees: ["fees"],
      setup: ["setup"],
      group: ["group"],
      multiplier: ["multiplier"],
      checklist: ["checklist", "item"],
      risk: ["risk", "account", "trade"],
    },
  );
  const v = form.values.value;
  const e = form.errors.value;
  const size = useSignal<PositionSize | null>(null);
  const sizeError = useSignal("");
  const check = useSignal<RiskCheck | null>(null);
  const answers = useSignal<Record<string, boolean>>({});
  const lists = useLoad(() => api.listChecklists(), []);
  const chosen = lists.data?.find((c) => c.id === v.checklist) ?? null;

  // Position size: from the entry, the stop and the account's sizing rule.
  useEffect(() => {
    if (!a || !v.price || !v.stop) {
      size.value = null;
      sizeError.value = "";
      return;
    }
    const t = setTimeout(() => {
      api
        .positionSize({
          account: a.id,
          side: v.side,
          entry: v.price,
          stop: v.stop,
          multiplier: orNull(v.multiplier),
        })
        .then(
          (s) => ((size.value = s), (sizeError.value = "")),
          (x: unknown) => ((size.value = null), (sizeError.value = asApiError(x).message)),
        );
    }, 150);
    return () => clearTimeout(t);
  }, [a?.id, v.side, v.price, v.stop, v.multiplier]);

  // The risk rules, as typed (only the answer to the latest request is shown).
  const checkError = useSignal("");
  const checkSeq = useRef(0);
  useEffect(() => {
    const seq = ++checkSeq.current;
    if (!a || !v.symbol || !v.price || !v.quantity) {
      check.value = null;
      checkError.value = "";
      return;
    }
    const t = setTimeout(() => {
      api
        .checkNewTrade({
          account: a.id,
          symbol: v.symbol,
          side: v.side,
          quantity: v.quantity,
          price: v.price,
          stop: orNull(v.stop),
          multiplier: orNull(v.multiplier),
          group: orNull(v.group),
        })
        .then(
          (c) => {
            if (seq !== checkSeq.current) return;
            check.value = c;
            checkError.value = "";
          },
          (x: unknown) => {
            if (seq !== checkSeq.current) return;
            check.value = null;
            checkError.value = asApiError(x).message;
          },
        );
    }, 150);
    return () => clearTimeout(t);
  }, [a?.id, v.symbol, v.side, v.price, v.quantity, v.stop, v.multiplier, v.group]);

  if (!a) return <p>Add an account first.</p>;

  const save = async (ev: Event): Promise<void> => {
    ev.preventDefault();
    const ok = await form.submit(async (x) => {
      const d = await api.openTrade({
        trade: {
          account: a.id,
          symbol: x.symbol,
          side: x.side,
          quantity: x.quantity,
          price: x.price,
          stop: orNull(x.stop),
          target: orNull(x.target),
          fees: orNull(x.fees),
          setup: orNull(x.setup),
          group: orNull(x.group),
          multiplier: orNull(x.multiplier),
        },
        checklist: chosen?.id ?? null,
        answers: chosen
          ? chosen.items.map((i) => ({ item: i.id, checked: answers.value[i.id] ?? false, comment: null }))
          : [],
      });
      for (const w of d.warnings ?? []) toast(`Warning: ${w}`, "info", undefined, 8000);
      changed();
      toast(`Opened ${d.symbol}.`);
      go({ name: "trades", trade: d.id });
    });
    if (!ok) document.querySelector<HTMLElement>("[aria-invalid=true], .form-error, .risk.blocks")?.focus();
  };

  const c = a.currency;
  return (
    <section class="new-trade" aria-label="New trade">
      <h1>New trade in {a.name}</h1>
      <form class="grid-form" onSubmit={save}>
        <div class="col">
          <Field
            label="Symbol"
            value={v.symbol}
            onInput={(s) => form.set("symbol", s)}
            error={e.symbol}
            autoFocus
          />
          <Select
            label="Side"
            value={v.side}
            options={
              [
                ["long", "Long"],
                ["short", "Short"],
              ] as const
            }
            onChange={(s) => form.set("side", s)}
            error={e.side}
          />
          <Field
            label="Entry price"
            inputMode="decimal"
            value={v.price}
            onInput={(s) => form.set("price", s)}
            error={e.price}
          />
          <Field
            label="Stop"
            inputMode="decimal"
            value={v.stop}
            onInput={(s) => form.set("stop", s)}
            error={e.stop}
          />
          <Field
            label="Target"
            inputMode="decimal"
            value={v.target}
            onInput={(s) => form.set("target", s)}
            error={e.target}
          />
          <Field
            label="Quantity"
            inputMode="decimal"
            value={v.quantity}
            onInput={(s) => form.set("quantity", s)}
            error={e.quantity}
          >
            {size.value && (
              <button
                type="button"
                class="link"
                onClick={() => size.value && form.set("quantity", size.value.quantity)}
              >
                Use the calculated size {qty(size.value.quantity)}
              </button>
            )}
          </Field>
          <Field
            label="Fees"
            inputMode="decimal"
            value={v.fees}
            onInput={(s) => form.set("fees", s)}
            error={e.fees}
          />
          <Field label="Setup (tag)" value={v.setup} onInput={(s) => form.set("setup", s)} error={e.setup} />
          <Field
            label="Correlation group"
            value={v.group}
            onInput={(s) => form.set("group", s)}
            error={e.group}
            hint="Positions in one group count together"
          />
          <Field
            label="Multiplier"
            inputMode="decimal"
            value={v.multiplier}
            onInput={(s) => form.set("multiplier", s)}
            error={e.multiplier}
            placeholder="1"
          />
        </div>
        <div class="col">
          <div class="panel" aria-label="Position size" data-testid="position-size">
            <h2>Position size</h2>
            {size.value ? (
              <dl class="facts">
                <dt>Quantity</dt>
                <dd data-testid="sized-quantity">{qty(size.value.quantity)}</dd>
                <dt>Risk</dt>
                <dd title={`exact ${size.value.risk_amount}`}>
                  {money(size.value.risk_amount, c)} ({pct(size.value.risk_pct_of_balance)} of equity)
                </dd>
                <dt>Risk budget</dt>
                <dd>{money(size.value.risk_budget, c)}</dd>
                <dt>Notional</dt>
                <dd>{money(size.value.notional, c)}</dd>
              </dl>
            ) : (
              <p class="muted">
                {sizeError.value ||
                  "Enter the entry and the stop to size the position from the account's risk settings."}
              </p>
            )}
          </div>
          <RiskPanel check={check.value} error={e.risk} pending={checkError.value} currency={c} />
          <div class={`panel ${e.checklist ? "has-error" : ""}`} aria-label="Pre-trade checklist">
            <h2>Pre-trade checklist</h2>
            <Select
              label="Checklist"
              value={v.checklist}
              options={[["", "None"] as const, ...(lists.data ?? []).map((l) => [l.id, l.name] as const)]}
              onChange={(s) => {
                form.set("checklist", s);
                answers.value = {};
              }}
            />
            {chosen && (
              <ul class="plain checklist">
                {chosen.items.map((i) => (
                  <li key={i.id}>
                    <label class="check">
                      <input
                        type="checkbox"
                        checked={answers.value[i.id] ?? false}
                        onChange={(x) => {
                          answers.value = { ...answers.value, [i.id]: x.currentTarget.checked };
                          form.set("checklist", v.checklist);
                        }}
                      />
                      {i.prompt}{" "}
                      {i.required ? (
                        <span class="req">required</span>
                      ) : (
                        <span class="muted small">optional</span>
                      )}
                    </label>
                  </li>
                ))}
              </ul>
            )}
            {e.checklist && (
              <small class="error" role="alert">
                {e.checklist}
              </small>
            )}
          </div>
          <FormError error={e._form} action={form.action.value} />
          <div class="row">
            <button type="button" onClick={() => go({ name: "trades" })}>
              Cancel
            </button>
            <button class="primary" type="submit" disabled={form.busy.value}>
              {form.busy.value ? "Saving…" : "Open the trade"}
            </button>
          </div>
        </div>
      </form>
    </section>
  );
}

function RiskPanel(p: {
  check: RiskCheck | null;
  error?: string | undefined;
  pending: string;
  currency: string;
}): JSX.Element {
  const c = p.check;
  const blocks = !!p.error || (c?.blocks ?? false);
  return (
    <div
      class={`panel risk ${blocks ? "blocks" : c && c.violations.length ? "warns" : ""}`}
      aria-live="polite"
      tabIndex={-1}
      data-testid="risk-check"
    >
      <h2>Risk rules</h2>
      {c?.risk_amount && (
        <p>
          Risk at the stop: <strong>{money(c.risk_amount, p.currency)}</strong> ({pct(c.risk_pct)} of equity)
        </p>
      )}
      {c && c.violations.length > 0 ? (
        <>
          <p>
            {c.blocks
              ? "Saving will be refused: the account's rules block this trade."
              : "The account's rules warn (saving is allowed):"}
          </p>
          <ul>
            {c.violations.map((x) => (
              <li key={x}>{x}</li>
            ))}
          </ul>
        </>
      ) : (
        !p.error && (
          <p class="muted">
            {c
              ? "Within the account's rules."
              : p.pending
                ? `Not checked yet: ${p.pending}`
                : "Checked as you type."}
          </p>
        )
      )}
      {p.error && (
        <p class="error" role="alert">
          {p.error}
        </p>
      )}
    </div>
  );
}
