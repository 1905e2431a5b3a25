/**
 * The UI's only door to Rust: one typed function per shell command (src-tauri/src/commands.rs). Argument and
 * result types are the TypeScript bindings generated from the core's Rust definitions (`bindings/`,
 * checked for drift by `cargo test -p trenddojo-core bindings`). A failed call rejects with the core's
 * `ApiError` (code, message, field, hint, action) exactly as Rust made it.
 *
 * Inputs are `Partial<...>`: the core's input structs default every field that is not given.
 */
import { invoke } from "@tauri-apps/api/core";
import type { AccountInput } from "./bindings/AccountInput";
import type { AccountSummary } from "./bindings/AccountSummary";
import type { ApiError } from "./bindings/ApiError";
import type { BrokerConnection } from "./bindings/BrokerConnection";
import type { Checklist } from "./bindings/Checklist";
import type { ChecklistAnswer } from "./bindings/ChecklistAnswer";
import type { ChecklistInput } from "./bindings/ChecklistInput";
import type { CloseInput } from "./bindings/CloseInput";
import type { ConflictEntry } from "./bindings/ConflictEntry";
import type { Dashboard } from "./bindings/Dashboard";
import type { DashboardInput } from "./bindings/DashboardInput";
import type { DayNotes } from "./bindings/DayNotes";
import type { EditTradeInput } from "./bindings/EditTradeInput";
import type { ExecutionInput } from "./bindings/ExecutionInput";
import type { ImportBatch } from "./bindings/ImportBatch";
import type { ImportInput } from "./bindings/ImportInput";
import type { ImportPreview } from "./bindings/ImportPreview";
import type { LaunchState } from "./bindings/LaunchState";
import type { LoginOutcome } from "./bindings/LoginOutcome";
import type { NewTradeInput } from "./bindings/NewTradeInput";
import type { Note } from "./bindings/Note";
import type { OpenTradeInput } from "./bindings/OpenTradeInput";
import type { MergeTradesInput } from "./bindings/MergeTradesInput";
import type { PositionSize } from "./bindings/PositionSize";
import type { RiskCheck } from "./bindings/RiskCheck";
import type { RiskInput } from "./bindings/RiskInput";
import type { RiskSettings } from "./bindings/RiskSettings";
import type { SizeInput } from "./bindings/SizeInput";
import type { SplitResult } from "./bindings/SplitResult";
import type { SplitTradeInput } from "./bindings/SplitTradeInput";
import type { SyncReport } from "./bindings/SyncReport";
import type { SyncReview } from "./bindings/SyncReview";
import type { SyncStatus } from "./bindings/SyncStatus";
import type { TradeDetail } from "./bindings/TradeDetail";
import type { TradePage } from "./bindings/TradePage";
import type { TradePageInput } from "./bindings/TradePageInput";
import type { UndoResult } from "./bindings/UndoResult";
import type { UpdateCheck } from "./bindings/UpdateCheck";
import type { UpdateInstalled } from "./bindings/UpdateInstalled";
import type { User } from "./bindings/User";

export type { ApiError };

/** Anything a command can reject with, narrowed to the core's error (a bridge failure becomes one too). */
export function asApiError(e: unknown): ApiError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const x = e as ApiError;
    return {
      code: x.code,
      message: x.message,
      field: x.field ?? null,
      hint: x.hint ?? null,
      action: x.action ?? null,
    };
  }
  return { code: "internal", message: String(e), field: null, hint: null, action: null };
}

async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the core's error value is the contract
    throw asApiError(e);
  }
}

type In<T> = Partial<T>;

export const api = {
  launchState: () => call<LaunchState>("launch_state"),
  session: () => call<User | null>("session"),
  createStore: (email: string, name: string | null, passphrase: string | null) =>
    call<string>("create_store", { email, name, passphrase }),
  confirmRecoveryKey: (text: string) => call<null>("confirm_recovery_key", { text }),
  unlock: (passphrase: string | null, recoveryKey: string | null) =>
    call<User>("unlock", { passphrase, recoveryKey }),
  loadDemo: () => call<User>("load_demo"),
  restoreBackup: (file: string, passphrase: string | null, recoveryKey: string | null) =>
    call<LaunchState>("restore_backup", { file, passphrase, recoveryKey }),
  backupNow: (file: string) => call<string>("backup_now", { file }),
  checkUpdate: () => call<UpdateCheck>("check_update"),
  installUpdate: () => call<UpdateInstalled>("install_update"),

  listAccounts: () => call<AccountSummary[]>("list_accounts"),
  addAccount: (input: In<AccountInput>) => call<AccountSummary>("add_account", { input }),
  deleteAccount: (account: string) => call<string>("delete_account", { account }),
  setRisk: (account: string, input: In<RiskInput>) => call<RiskSettings>("set_risk", { account, input }),
  setAccountTimeZone: (account: string, timeZone: string) =>
    call<AccountSummary>("set_account_time_zone", { account, timeZone }),
  positionSize: (input: In<SizeInput>) => call<PositionSize>("position_size", { input }),

  dashboard: (input: In<DashboardInput>) => call<Dashboard>("dashboard", { input }),
  tradePage: (input: In<TradePageInput>) => call<TradePage>("trade_page", { input }),
  tradeSetups: () => call<string[]>("trade_setups"),
  tradeDetail: (trade: string) => call<TradeDetail>("trade_detail", { trade }),
  checkNewTrade: (input: In<OpenTradeInput>) => call<RiskCheck>("check_new_trade", { input }),
  openTrade: (input: { trade: In<OpenTradeInput> } & Omit<In<NewTradeInput>, "trade">) =>
    call<TradeDetail>("open_trade", { input }),
  addExecution: (trade: string, input: In<ExecutionInput>) =>
    call<TradeDetail>("add_execution", { trade, input }),
  closeTrade: (trade: string, input: In<CloseInput>) => call<TradeDetail>("close_trade", { trade, input }),
  editTrade: (trade: string, input: In<EditTradeInput>) => call<TradeDetail>("edit_trade", { trade, input }),
  deleteTrade: (trade: string) => call<string>("delete_trade", { trade }),
  deleteExecution: (execution: string) => call<string>("delete_execution", { execution }),
  mergeTrades: (input: In<MergeTradesInput>) => call<TradeDetail>("merge_trades", { input }),
  splitTrade: (input: In<SplitTradeInput>) => call<SplitResult>("split_trade", { input }),

  addNote: (body: string, trade: string | null, account: string | null, kind: string | null) =>
    call<Note>("add_note", { body, trade, account, kind }),
  dayNotes: () => call<DayNotes[]>("day_notes"),
  listChecklists: () => call<Checklist[]>("list_checklists"),
  addChecklist: (input: In<ChecklistInput>) => call<Checklist>("add_checklist", { input }),
  answerChecklist: (
    trade: string,
    checklist: string,
    item: number,
    checked: boolean,
    comment: string | null,
  ) => call<ChecklistAnswer[]>("answer_checklist", { trade, checklist, item, checked, comment }),
  listBrokerConnections: () => call<BrokerConnection[]>("list_broker_connections"),
  addBrokerConnection: (
    broker: string,
    label: string,
    account: string | null,
    keyHint: string | null,
    secret: string,
  ) => call<BrokerConnection>("add_broker_connection", { broker, label, account, keyHint, secret }),

  syncStatus: () => call<SyncStatus>("sync_status"),
  syncLogin: (server: string, password: string) => call<LoginOutcome>("sync_login", { server, password }),
  syncNow: () => call<SyncReport>("sync_now"),
  syncConflicts: () => call<ConflictEntry[]>("sync_conflicts"),
  syncRestore: (seq: number) => call<ConflictEntry>("sync_restore", { seq }),
  syncReview: () => call<SyncReview>("sync_review"),

  importPreview: (input: In<ImportInput>) => call<ImportPreview>("import_preview", { input }),
  importCommit: (input: In<ImportInput>) => call<ImportPreview>("import_commit", { input }),
  importList: (account: string | null) => call<ImportBatch[]>("import_list", { account }),
  importUndo: (batch: string) => call<UndoResult>("import_undo", { batch }),
};
