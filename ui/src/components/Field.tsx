import type { ComponentChildren, JSX } from "preact";
import { useId } from "preact/hooks";
import type { Action } from "../bindings/Action";
import { actionLabel, runAction } from "../lib/actions";
import { user } from "../state";

interface Props {
  label: string;
  value: string;
  onInput: (v: string) => void;
  error?: string | undefined;
  hint?: string | undefined;
  type?: "text" | "password" | "email" | "date" | "search";
  placeholder?: string;
  autoFocus?: boolean;
  name?: string;
  inputMode?: "decimal" | "text" | "numeric";
  children?: ComponentChildren;
  width?: "narrow" | "wide";
}

/** A labelled input with its error (from the core's `ApiError.field`) right under it. */
export function Field(p: Props): JSX.Element {
  const id = useId();
  const err = `${id}-err`;
  const hint = `${id}-hint`;
  const described = [p.error ? err : "", p.hint ? hint : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field ${p.width ?? ""} ${p.error ? "has-error" : ""}`}>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name ?? p.label}
        type={p.type ?? "text"}
        value={p.value}
        placeholder={p.placeholder}
        inputMode={p.inputMode}
        autoFocus={p.autoFocus}
        aria-invalid={p.error ? true : undefined}
        aria-describedby={described}
        onInput={(e) => p.onInput(e.currentTarget.value)}
      />
      {p.children}
      {p.hint && !p.error && (
        <small id={hint} class="hint">
          {p.hint}
        </small>
      )}
      {p.error && (
        <small id={err} class="error" role="alert">
          {p.error}
        </small>
      )}
    </div>
  );
}

interface SelectProps<T extends string> {
  label: string;
  value: T;
  options: readonly (readonly [T, string])[];
  onChange: (v: T) => void;
  error?: string | undefined;
  name?: string;
}

export function Select<T extends string>(p: SelectProps<T>): JSX.Element {
  const id = useId();
  return (
    <div class={`field ${p.error ? "has-error" : ""}`}>
      <label for={id}>{p.label}</label>
      <select
        id={id}
        name={p.name ?? p.label}
        value={p.value}
        onChange={(e) => p.onChange(e.currentTarget.value as T)}
      >
        {p.options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
      {p.error && (
        <small class="error" role="alert">
          {p.error}
        </small>
      )}
    </div>
  );
}

/**
 * The error no field claims, above a form's buttons, and the button for what the core offers to do about
 * the last error (its `ApiError.action`), wherever that error was placed. `onAction` handles it in place
 * (the Welcome screen switches its own step); without it the app opens the screen that does it.
 */
export function FormError(p: {
  error?: string | undefined;
  action?: Action | null;
  onAction?: (a: Action) => void;
}): JSX.Element | null {
  const a = p.action ?? null;
  const label = a ? actionLabel(a) : null;
  if (!p.error && !label) return null;
  return (
    <div class="form-error-row">
      {p.error && (
        <p class="form-error" role="alert">
          {p.error}
        </p>
      )}
      {a && label && (
        <button
          type="button"
          class="offer"
          data-action={a.kind}
          onClick={() => (p.onAction ? p.onAction(a) : runAction(a, user.value !== null))}
        >
          {label}
        </button>
      )}
    </div>
  );
}
