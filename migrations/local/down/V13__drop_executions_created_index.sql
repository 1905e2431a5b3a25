-- Undo V13: the executions' creation-time index again.
CREATE INDEX executions_created_idx ON executions (created_at);
