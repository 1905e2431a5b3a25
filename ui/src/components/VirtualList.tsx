import type { JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

interface Props {
  total: number;
  rowHeight: number;
  /** Render row `index` (called only for rows on screen, plus a small overscan). */
  row: (index: number) => JSX.Element;
  /** The rows now on screen changed: load what is missing. */
  onRange: (start: number, end: number) => void;
  label: string;
  /** Row `index` is focused (keyboard navigation); Enter opens it. */
  onOpen?: (index: number) => void;
  /** Column headings, kept on top while the rows scroll (inside the scroller, so columns line up). */
  header?: JSX.Element;
}

const OVERSCAN = 8;

/**
 * A list that renders only the rows on screen: the DOM holds ~40 rows whether there are 50 trades or
 * 100,000, and the page only asks the core for the pages it shows. The list box is one tab stop; arrows,
 * Page Up/Down, Home and End move the active row, Enter opens it.
 */
export function VirtualList(p: Props): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  const [active, setActive] = useState(0);

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const start = Math.max(0, Math.floor(top / p.rowHeight) - OVERSCAN);
  const end = Math.min(p.total, Math.ceil((top + height) / p.rowHeight) + OVERSCAN);
  // In the frame that scrolled: the missing pages are asked for before the paint, not a frame later.
  useLayoutEffect(() => p.onRange(start, end), [start, end, p.total]);

  const scrollTo = (i: number): void => {
    const el = ref.current;
    if (!el) return;
    const y = i * p.rowHeight;
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + p.rowHeight > el.scrollTop + el.clientHeight)
      el.scrollTop = y + p.rowHeight - el.clientHeight;
  };
  const move = (i: number): void => {
    const n = Math.max(0, Math.min(p.total - 1, i));
    setActive(n);
    scrollTo(n);
  };
  const page = Math.max(1, Math.floor(height / p.rowHeight) - 1);
  const onKey = (e: KeyboardEvent): void => {
    const keys: Record<string, () => void> = {
      ArrowDown: () => move(active + 1),
      ArrowUp: () => move(active - 1),
      PageDown: () => move(active + page),
      PageUp: () => move(active - page),
      Home: () => move(0),
      End: () => move(p.total - 1),
      Enter: () => p.onOpen?.(active),
    };
    const k = keys[e.key];
    if (k) {
      e.preventDefault();
      k();
    }
  };

  const rows: JSX.Element[] = [];
  for (let i = start; i < end; i++) {
    rows.push(
      <div
        key={i}
        class={`vrow ${i === active ? "active" : ""}`}
        style={{ transform: `translateY(${i * p.rowHeight}px)`, height: `${p.rowHeight}px` }}
        role="row"
        aria-rowindex={i + 1}
        aria-selected={i === active}
        onClick={() => {
          setActive(i);
          p.onOpen?.(i);
        }}
      >
        {p.row(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      class="vlist"
      tabIndex={0}
      role="grid"
      aria-label={p.label}
      aria-rowcount={p.total}
      onScroll={(e) => setTop(e.currentTarget.scrollTop)}
      onKeyDown={onKey}
    >
      {p.header}
      <div class="vspace" style={{ height: `${p.total * p.rowHeight}px` }}>
        {rows}
      </div>
    </div>
  );
}
