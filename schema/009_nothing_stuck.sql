-- Nothing is left stuck when a function dies (timeout, memory, crash).
--
-- Items: the function working on an item records the deadline of its Lambda invocation,
-- which delivery of its message this is, and whether it is the last one SQS makes
-- (maxReceiveCount). A hand-over to the next stage (embedding queue, OCR) clears the
-- deadline: a waiting item is not being worked on. The sweep on the minute tick fails an
-- item whose last attempt's deadline has passed (no delivery will follow), and any item
-- whose attempt died more than 12 hours ago (SQS's maximum visibility: no message is
-- coming back), with a reason a person understands.
ALTER TABLE repository_items
    ADD COLUMN attempt_stage       text CHECK (attempt_stage IN ('file-processor', 'textract-processor', 'embedding-generator')),
    ADD COLUMN attempt_delivery    integer CHECK (attempt_delivery >= 1),
    ADD COLUMN attempt_last        boolean NOT NULL DEFAULT false,
    ADD COLUMN attempt_started_at  timestamptz,
    ADD COLUMN attempt_deadline    timestamptz;
COMMENT ON COLUMN repository_items.attempt_deadline IS 'When the Lambda invocation working on the item is killed; NULL while the item waits (queued, OCR running)';
COMMENT ON COLUMN repository_items.attempt_delivery IS 'The SQS ApproximateReceiveCount of the current attempt''s message';
COMMENT ON COLUMN repository_items.attempt_last IS 'The current attempt''s message is on its last delivery (maxReceiveCount): a death is final';
CREATE INDEX repository_items_attempt_deadline_idx ON repository_items (attempt_deadline)
    WHERE status IN ('processing', 'embedding');

-- Executions carry on across invocations: a run holds a lease until its invocation's
-- deadline; it releases the lease (lease_until NULL, status still 'running') when it
-- hands the rest of the chain to a continuation message. A claim takes a pending
-- execution, a released one, or one whose lease expired (its executor died: counted in
-- resumes, bounded). The sweep re-enqueues a dead run once per lease (nudged_at) and a
-- run waiting with no live message (nudges, bounded).
ALTER TABLE assistant_executions
    ADD COLUMN lease_until timestamptz,
    ADD COLUMN resumes     integer NOT NULL DEFAULT 0 CHECK (resumes >= 0),
    ADD COLUMN nudges      integer NOT NULL DEFAULT 0 CHECK (nudges >= 0),
    ADD COLUMN nudged_at   timestamptz,
    ADD COLUMN invocations integer NOT NULL DEFAULT 0 CHECK (invocations >= 0);
COMMENT ON COLUMN assistant_executions.lease_until IS 'The running invocation''s deadline; NULL when released to a continuation message';
COMMENT ON COLUMN assistant_executions.resumes IS 'Times a claim took over the lease of an executor that died';
COMMENT ON COLUMN assistant_executions.nudges IS 'Times the sweep re-enqueued the run because it waited with no live message';
COMMENT ON COLUMN assistant_executions.invocations IS 'Invocations that worked on the run (continuations and resumes included)';
