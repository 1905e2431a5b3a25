import { render } from "preact";
import { App } from "./App";
import { toast } from "./state";
import "./styles.css";

// An error nobody caught is still shown (and kept for the end-to-end test), never swallowed.
const seen: string[] = [];
(globalThis as unknown as { __trenddojoErrors: string[] }).__trenddojoErrors = seen;
const report = (what: string): void => {
  seen.push(what);
  toast(`Something went wrong: ${what}`, "error", undefined, 10_000);
};
window.addEventListener("error", (e) => report(e.message));
window.addEventListener("unhandledrejection", (e: PromiseRejectionEvent) => {
  const r = e.reason as { message?: string } | undefined;
  report(r?.message ?? String(e.reason));
});

const root = document.getElementById("app");
if (root) render(<App />, root);
