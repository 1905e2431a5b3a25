import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";

/** A dialog that takes focus, keeps Tab inside and closes on Escape. */
export function Modal(p: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = el?.querySelector<HTMLElement>("input, select, textarea, button");
    first?.focus();
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === "Escape") {
        e.preventDefault();
        p.onClose();
      } else if (e.key === "Tab" && el) {
        const items = [
          ...el.querySelectorAll<HTMLElement>("input, select, textarea, button, a[href]"),
        ].filter((x) => !x.hasAttribute("disabled"));
        const a = items[0];
        const z = items[items.length - 1];
        if (!a || !z) return;
        if (e.shiftKey && document.activeElement === a) {
          e.preventDefault();
          z.focus();
        } else if (!e.shiftKey && document.activeElement === z) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      before?.focus();
    };
  }, []);
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && p.onClose()}>
      <div
        class={`modal ${p.wide ? "wide" : ""}`}
        role="dialog"
        aria-modal="true"
        aria-label={p.title}
        ref={ref}
      >
        <header>
          <h2>{p.title}</h2>
          <button class="ghost" aria-label="Close" onClick={p.onClose}>
            ×
          </button>
        </header>
        {p.children}
      </div>
    </div>
  );
}
