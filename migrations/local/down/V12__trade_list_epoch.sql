-- Undo V12: the trade list's epoch counter and the trigger that moves it.
DROP TRIGGER applied_epoch_on_guard_release;
DROP TABLE applied_epoch;
