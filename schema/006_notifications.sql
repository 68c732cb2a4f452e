-- In-app notifications (schedule results, approvals, failed uploads) and their delivery per channel.

CREATE TABLE notifications (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    team_id    uuid REFERENCES teams (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]*$'),
    title      text NOT NULL,
    body       text,
    data       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    read_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN notifications.kind IS 'e.g. schedule.completed, schedule.failed, assistant.approved, item.failed';
COMMENT ON COLUMN notifications.data IS 'Ids the front end links to (scheduleResultId, executionId, itemId...)';
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_team_id_idx ON notifications (team_id);

CREATE TABLE notification_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    channel         text NOT NULL CHECK (channel IN ('email', 'in_app')),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text,
    next_attempt_at timestamptz,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notification_deliveries_channel_key UNIQUE (notification_id, channel)
);
-- For the retry sweep.
CREATE INDEX notification_deliveries_pending_idx ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE TRIGGER notification_deliveries_set_updated_at BEFORE UPDATE ON notification_deliveries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
