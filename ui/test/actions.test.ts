import { describe, expect, it } from "vitest";
import type { Action } from "../src/bindings/Action";
import { asApiError } from "../src/api";
import { actionFile, actionLabel, restoreFile, runAction, welcomeRequest } from "../src/lib/actions";
import { count, mebibytes, progressWords } from "../src/lib/display";
import { route } from "../src/state";

describe("the core's offered actions become buttons", () => {
  it("keeps the action of a rejected command", () => {
    const e = asApiError({
      code: "corrupt",
      message: "store: damaged",
      action: { kind: "restore_or_salvage", newest_backup: "/b/daily.tdbackup" },
    });
    expect(e.action, "the action survives the bridge").toEqual({
      kind: "restore_or_salvage",
      newest_backup: "/b/daily.tdbackup",
    });
    expect(asApiError("boom").action, "a bridge failure offers nothing").toBeNull();
  });
  it("labels what the app can do and nothing else", () => {
    expect(actionLabel({ kind: "restore_backup", file: null }), "restore").toBe("Restore from a backup");
    expect(actionLabel({ kind: "sign_in" }), "sign in").toBe("Sign in again");
    expect(actionLabel({ kind: "migrate_server" }), "a server admin's job has no button").toBeNull();
    expect(actionLabel({ kind: "rollback_store", to: 3 }), "a maintenance command has no button").toBeNull();
  });
  it("hands the named backup file to the restore form", () => {
    expect(actionFile({ kind: "restore_backup", file: "/x.tdbackup" }), "restore_backup").toBe("/x.tdbackup");
    expect(actionFile({ kind: "restore_or_salvage", newest_backup: null }), "no backup known").toBeNull();
    runAction({ kind: "restore_or_salvage", newest_backup: "/b/n.tdbackup" }, true);
    expect(restoreFile.value, "the form will start with the file").toBe("/b/n.tdbackup");
    expect(route.value, "restoring in the unlocked app is in Settings").toEqual({ name: "settings" });
  });
  it("opens the screen that does it, or asks the Welcome screen before unlock", () => {
    runAction({ kind: "sign_in" }, true);
    expect(route.value, "sign in again").toEqual({ name: "sync" });
    runAction({ kind: "add_account" }, true);
    expect(route.value, "add an account").toEqual({ name: "journal", tab: "accounts" });
    const a: Action = { kind: "give_passphrase" };
    runAction(a, false);
    expect(welcomeRequest.value, "before unlock the Welcome screen handles it").toEqual(a);
  });
});

describe("progress in words", () => {
  it("counts uploads against their total and downloads as they come", () => {
    expect(progressWords({ task: "sync_upload", done: 300, total: 1000 }), "upload").toBe(
      "Uploading 300 of 1,000 changes",
    );
    expect(progressWords({ task: "sync_download", done: 12480, total: null }), "download running").toBe(
      "Downloading: 12,480 rows so far",
    );
    expect(progressWords({ task: "sync_download", done: 5, total: 5 }), "download finished").toBe(
      "Downloaded 5 rows",
    );
  });
  it("reads file sizes in MiB by integer arithmetic", () => {
    expect(mebibytes(0), "empty").toBe("0.0 MiB");
    expect(mebibytes(1048576 * 3 + 524288), "three and a half").toBe("3.5 MiB");
    expect(mebibytes(1048576 * 2048), "two GiB").toBe("2,048.0 MiB");
    expect(progressWords({ task: "import_read", done: 1048576, total: 2097152 }), "reading a file").toBe(
      "Reading the file: 1.0 MiB of 2.0 MiB",
    );
    expect(count(0), "zero").toBe("0");
  });
});
