/**
 * Form state with errors placed next to the field the core named.
 *
 * The core's `ApiError.field` names the input it concerns in the core's words (`quantity`, `max-risk-pct`,
 * `timezone`, `risk`...). Each form maps its own field keys to those names; an error whose field no input
 * claims is shown above the form's buttons. A failed save never clears what was typed: values live in the
 * form until the save succeeds, and `submit` only reports.
 */
import { signal, type Signal } from "@preact/signals";
import { useState } from "preact/hooks";
import { asApiError, type ApiError } from "../api";
import type { Action } from "../bindings/Action";

export interface Form<K extends string> {
  values: Signal<Record<K, string>>;
  errors: Signal<Partial<Record<K | "_form", string>>>;
  busy: Signal<boolean>;
  /** What the last error offers to do about it (the core's `ApiError.action`), shown as a button. */
  action: Signal<Action | null>;
  set: (key: K, value: string) => void;
  /** Run `save`; on an error place it on the field it names and keep every value. True on success. */
  submit: (save: (values: Record<K, string>) => Promise<unknown>) => Promise<boolean>;
  reset: (values?: Partial<Record<K, string>>) => void;
}

/**
 * Which form key an error belongs to: the key whose core names include the error's field (`_` and `-` and
 * spaces alike), else a key that claims the error's code (`code:wrong_key`), else the form itself.
 */
export function fieldFor<K extends string>(
  error: ApiError,
  names: Partial<Record<K, readonly string[]>>,
): K | "_form" {
  const canon = (x: string): string => x.toLowerCase().replace(/[_ ]/g, "-");
  const keys = Object.keys(names) as K[];
  const f = error.field ? canon(error.field) : null;
  if (f) {
    const hit = keys.find((k) => canon(k) === f || (names[k] ?? []).some((a) => canon(a) === f));
    if (hit) return hit;
  }
  return keys.find((k) => (names[k] ?? []).includes(`code:${error.code}`)) ?? "_form";
}

/** The message to show: the core's message without its leading `field:` (the field's label says that). */
export function messageFor(error: ApiError, placed: string): string {
  let m = error.message;
  if (placed !== "_form" && error.field && m.toLowerCase().startsWith(`${error.field.toLowerCase()}:`)) {
    m = m.slice(error.field.length + 1).trim();
  }
  if (error.hint) m = `${m}. ${error.hint.charAt(0).toUpperCase()}${error.hint.slice(1)}.`;
  return m.charAt(0).toUpperCase() + m.slice(1);
}

export function createForm<K extends string>(
  initial: Record<K, string>,
  names: Partial<Record<K, readonly string[]>> = {},
): Form<K> {
  const values = signal<Record<K, string>>({ ...initial });
  const errors = signal<Partial<Record<K | "_form", string>>>({});
  const busy = signal(false);
  const action = signal<Action | null>(null);
  return {
    values,
    errors,
    busy,
    action,
    set(key, value) {
      values.value = { ...values.value, [key]: value };
      if (errors.value[key]) {
        errors.value = Object.fromEntries(Object.entries(errors.value).filter(([k]) => k !== key)) as Partial<
          Record<K | "_form", string>
        >;
      }
    },
    async submit(save) {
      if (busy.value) return false;
      busy.value = true;
      errors.value = {};
      action.value = null;
      try {
        await save(values.value);
        return true;
      } catch (e) {
        const err = asApiError(e);
        const key = fieldFor(err, names);
        errors.value = { [key]: messageFor(err, key) } as Partial<Record<K | "_form", string>>;
        action.value = err.action;
        return false;
      } finally {
        busy.value = false;
      }
    },
    reset(v) {
      values.value = { ...initial, ...v };
      errors.value = {};
      action.value = null;
    },
  };
}

/** `""` (an untouched optional field) as `null`, what the core's optional inputs expect. */
export const orNull = (s: string): string | null => (s.trim() === "" ? null : s.trim());

/** A rough strength hint for a new passphrase (length and variety), in words. Not a policy: a hint. */
export function passphraseStrength(p: string): { score: 0 | 1 | 2 | 3 | 4; words: string } {
  if (p.length === 0) return { score: 0, words: "" };
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  const wordsCount = p.trim().split(/\s+/).length;
  let score = 0;
  if (p.length >= 8) score++;
  if (p.length >= 14) score++;
  if (p.length >= 20 || wordsCount >= 4) score++;
  if (classes >= 3 || wordsCount >= 5) score++;
  if (/^(.)\1+$/.test(p) || /^(password|123456|qwerty)/i.test(p)) score = 0;
  const s = Math.min(score, 4) as 0 | 1 | 2 | 3 | 4;
  const words =
    ["Very weak: anyone could guess it", "Weak: make it longer", "Fair: longer is better", "Good", "Strong"][
      s
    ] ?? "";
  return { score: s, words };
}

/** A form kept across renders of a component. */
export function useForm<K extends string>(
  initial: Record<K, string>,
  names: Partial<Record<K, readonly string[]>> = {},
): Form<K> {
  const [form] = useState(() => createForm(initial, names));
  return form;
}

/** A check the form makes itself before calling the core, reported like the core's own field errors. */
export class FieldError extends Error {
  readonly code = "invalid_input" as const;
  readonly hint = null;
  readonly action = null;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
