-- Schedules stop on their own after repeated failures (or when no future run exists);
-- disabled_reason tells their owner why. Cleared when the owner turns the schedule on again.

ALTER TABLE scheduled_executions ADD COLUMN disabled_reason text;
COMMENT ON COLUMN scheduled_executions.disabled_reason IS 'Why the schedule turned itself off, e.g. after schedule.max_consecutive_failures failures';
COMMENT ON COLUMN scheduled_executions.next_run_at IS 'Set by the claim to the run after the one claimed, so a second tick finds nothing due';
