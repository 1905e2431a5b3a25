/**
 * The core's `ApiError.action` (what the user can do about an error) as something the app offers: a button
 * with a label in plain words that opens the screen or form that does it.
 *
 * Why a table here and not strings from Rust: the core names the remedy as a thing to do (`restore_backup`,
 * `sign_in`), each shell decides how to offer it (the CLI prints the command to type, the app a button).
 * Remedies that need a maintenance tool the app does not have (migrating a server, rolling a schema back)
 * get no button: their message and hint already say what to do.
 */
import { signal } from "@preact/signals";
import type { Action } from "../bindings/Action";
import { asApiError } from "../api";
import { go, toast, user } from "../state";

/** The button's label for an action, or null when the app has nothing to offer for it. */
export function actionLabel(a: Action): string | null {
  switch (a.kind) {
    case "create_store":
      return "Create a new journal";
    case "give_passphrase":
      return "Enter the passphrase";
    case "use_passphrase_instead":
      return "Use a passphrase instead";
    case "unlock_keyring":
      return "Try the keyring again";
    case "restore_backup":
    case "restore_or_salvage":
      return "Restore from a backup";
    case "add_account":
      return "Add an account";
    case "sign_in":
      return "Sign in again";
    case "create_recovery_key":
    case "upgrade_app":
    case "add_user":
    case "migrate_store":
    case "rollback_store":
    case "reset_store":
    case "migrate_server":
    case "add_server_environment":
    case "install_postgres":
      return null;
  }
}

/** The backup file an action names, if any (the restore form starts with it filled in). */
export function actionFile(a: Action): string | null {
  if (a.kind === "restore_backup") return a.file;
  if (a.kind === "restore_or_salvage") return a.newest_backup;
  return null;
}

/** A backup file to restore, handed from an offered action to the restore form that opens. */
export const restoreFile = signal<string | null>(null);

/** A request for the Welcome screen (before unlock) to switch to the step an action asks for. */
export const welcomeRequest = signal<Action | null>(null);

/**
 * Run an offered action in the unlocked app: open the screen that does it. Actions that belong before the
 * unlock (create, restore on a new machine, passphrase) go to the Welcome screen through `welcomeRequest`.
 */
export function runAction(a: Action, unlocked: boolean): void {
  const file = actionFile(a);
  if (file) restoreFile.value = file;
  if (!unlocked) {
    welcomeRequest.value = a;
    return;
  }
  switch (a.kind) {
    case "sign_in":
      go({ name: "sync" });
      break;
    case "add_account":
      go({ name: "journal", tab: "accounts" });
      break;
    case "restore_backup":
    case "restore_or_salvage":
      go({ name: "settings" });
      break;
    default:
      welcomeRequest.value = a;
  }
}

/**
 * Show a failed command as an error toast, with the core's offered action as its button (e.g. "Sign in
 * again" when the server refused the saved login). `prefix` says what failed, in the screen's words.
 */
export function errorToast(e: unknown, prefix = ""): void {
  const err = asApiError(e);
  const label = err.action ? actionLabel(err.action) : null;
  const a = err.action;
  const text = prefix ? `${prefix}: ${err.message}` : err.message;
  toast(
    err.hint ? `${text}. ${err.hint}` : text,
    "error",
    label && a ? { label, run: () => runAction(a, user.value !== null) } : undefined,
    8000,
  );
}
