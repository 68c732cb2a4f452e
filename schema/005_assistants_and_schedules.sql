-- Assistant architects (prompt chains), their executions, and schedules that run them.

CREATE TABLE assistant_architects (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    owner_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    name        text NOT NULL CHECK (btrim(name) <> ''),
    description text,
    status      text NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'pending_approval', 'approved', 'rejected', 'disabled')),
    reviewed_by uuid REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at timestamptz,
    review_note text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assistant_architects_team_idx ON assistant_architects (team_id, status);
CREATE INDEX assistant_architects_owner_id_idx ON assistant_architects (owner_id);
CREATE INDEX assistant_architects_reviewed_by_idx ON assistant_architects (reviewed_by);
CREATE INDEX assistant_architects_pending_idx ON assistant_architects (created_at) WHERE status = 'pending_approval';
CREATE TRIGGER assistant_architects_set_updated_at BEFORE UPDATE ON assistant_architects
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One step of the chain. content may use {{input_field}} and {{earlier prompt name}} variables.
-- Prompts sharing a parallel_group run together; groups and ungrouped prompts run in position order.
-- The (assistant_id, position) key is checked at statement end, so one UPDATE can reorder.
CREATE TABLE assistant_prompts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    assistant_id    uuid NOT NULL REFERENCES assistant_architects (id) ON DELETE CASCADE,
    position        integer NOT NULL CHECK (position >= 0),
    name            text NOT NULL CHECK (btrim(name) <> ''),
    content         text NOT NULL,
    model_id        uuid REFERENCES ai_models (id) ON DELETE SET NULL,
    system_context  text,
    repository_ids  uuid[] NOT NULL DEFAULT '{}',
    enabled_tools   text[] NOT NULL DEFAULT '{}',
    timeout_seconds integer NOT NULL DEFAULT 120 CHECK (timeout_seconds BETWEEN 1 AND 900),
    parallel_group  integer CHECK (parallel_group >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assistant_prompts_position_key UNIQUE (assistant_id, position) DEFERRABLE INITIALLY IMMEDIATE
);
COMMENT ON COLUMN assistant_prompts.model_id IS 'NULL after the model was deleted: the run fails this prompt with a clear error';
COMMENT ON COLUMN assistant_prompts.enabled_tools IS 'tools.identifier values, e.g. web_search';
CREATE INDEX assistant_prompts_model_id_idx ON assistant_prompts (model_id);
CREATE TRIGGER assistant_prompts_set_updated_at BEFORE UPDATE ON assistant_prompts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE assistant_input_fields (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    assistant_id uuid NOT NULL REFERENCES assistant_architects (id) ON DELETE CASCADE,
    position     integer NOT NULL CHECK (position >= 0),
    name         text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    label        text NOT NULL,
    field_type   text NOT NULL CHECK (field_type IN ('short_text', 'long_text', 'select', 'multi_select')),
    options      jsonb,
    required     boolean NOT NULL DEFAULT false,
    placeholder  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT assistant_input_fields_position_key UNIQUE (assistant_id, position) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT assistant_input_fields_name_key UNIQUE (assistant_id, name),
    CONSTRAINT assistant_input_fields_select_has_options CHECK (
        field_type NOT IN ('select', 'multi_select') OR jsonb_typeof(options) = 'array'
    )
);
COMMENT ON COLUMN assistant_input_fields.name IS 'The {{variable}} the prompts use';
COMMENT ON COLUMN assistant_input_fields.options IS 'For select fields: [{"label": "...", "value": "..."}]';
CREATE TRIGGER assistant_input_fields_set_updated_at BEFORE UPDATE ON assistant_input_fields
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE assistant_executions (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    assistant_id           uuid NOT NULL REFERENCES assistant_architects (id) ON DELETE CASCADE,
    user_id                uuid REFERENCES users (id) ON DELETE SET NULL,
    team_id                uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    origin                 text NOT NULL DEFAULT 'manual' CHECK (origin IN ('manual', 'schedule')),
    inputs                 jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(inputs) = 'object'),
    status                 text NOT NULL DEFAULT 'pending'
                           CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    error                  text,
    request_id             text,
    total_input_tokens     bigint NOT NULL DEFAULT 0 CHECK (total_input_tokens >= 0),
    total_output_tokens    bigint NOT NULL DEFAULT 0 CHECK (total_output_tokens >= 0),
    total_cached_tokens    bigint NOT NULL DEFAULT 0 CHECK (total_cached_tokens >= 0),
    total_reasoning_tokens bigint NOT NULL DEFAULT 0 CHECK (total_reasoning_tokens >= 0),
    total_cost             numeric(14,6) NOT NULL DEFAULT 0 CHECK (total_cost >= 0),
    started_at             timestamptz,
    completed_at           timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (completed_at IS NULL OR started_at IS NULL OR completed_at >= started_at)
);
CREATE INDEX assistant_executions_assistant_idx ON assistant_executions (assistant_id, created_at DESC);
CREATE INDEX assistant_executions_user_idx ON assistant_executions (user_id, created_at DESC);
CREATE INDEX assistant_executions_team_idx ON assistant_executions (team_id, created_at DESC);
-- For the sweep that fails runs whose Lambda died.
CREATE INDEX assistant_executions_unfinished_idx ON assistant_executions (updated_at)
    WHERE status IN ('pending', 'running');
CREATE TRIGGER assistant_executions_set_updated_at BEFORE UPDATE ON assistant_executions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per prompt per execution; position and prompt_name are copied so the result
-- still reads right after the chain is edited.
CREATE TABLE prompt_results (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    execution_id     uuid NOT NULL REFERENCES assistant_executions (id) ON DELETE CASCADE,
    prompt_id        uuid REFERENCES assistant_prompts (id) ON DELETE SET NULL,
    position         integer NOT NULL CHECK (position >= 0),
    prompt_name      text,
    input            text,
    output           text,
    ai_model_id      uuid REFERENCES ai_models (id) ON DELETE SET NULL,
    model            text,
    input_tokens     integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens    integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cached_tokens    integer NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
    reasoning_tokens integer NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
    cost             numeric(14,6) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    duration_ms      integer CHECK (duration_ms >= 0),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
    error            text,
    citations        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(citations) = 'array'),
    started_at       timestamptz,
    completed_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT prompt_results_position_key UNIQUE (execution_id, position)
);
COMMENT ON COLUMN prompt_results.input IS 'The prompt after {{variable}} substitution';
COMMENT ON COLUMN prompt_results.model IS 'Provider model id used, kept if the ai_models row goes';
CREATE INDEX prompt_results_prompt_id_idx ON prompt_results (prompt_id);
CREATE INDEX prompt_results_ai_model_id_idx ON prompt_results (ai_model_id);

-- Progress events of a run, replayable in order (e.g. an SSE reconnect resumes after seq).
CREATE TABLE execution_events (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    execution_id uuid NOT NULL REFERENCES assistant_executions (id) ON DELETE CASCADE,
    event_type   text NOT NULL CHECK (event_type ~ '^[a-z][a-z0-9_.-]*$'),
    data         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX execution_events_execution_idx ON execution_events (execution_id, seq);

-- The database is the single source of truth for schedules. Each tick claims due rows
-- (UPDATE ... SET claimed_at = now() WHERE active AND next_run_at <= now() AND the claim is
-- free or stale ... RETURNING), runs them, then sets next_run_at and clears the claim.
CREATE TABLE scheduled_executions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id              uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id              uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    assistant_id         uuid NOT NULL REFERENCES assistant_architects (id) ON DELETE CASCADE,
    name                 text NOT NULL CHECK (btrim(name) <> ''),
    inputs               jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(inputs) = 'object'),
    frequency            text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly', 'custom')),
    time_of_day          time,
    days_of_week         integer[] NOT NULL DEFAULT '{}' CHECK (days_of_week <@ ARRAY[0, 1, 2, 3, 4, 5, 6]),
    day_of_month         integer CHECK (day_of_month BETWEEN 1 AND 31),
    cron                 text,
    timezone             text NOT NULL DEFAULT 'UTC',
    active               boolean NOT NULL DEFAULT true,
    next_run_at          timestamptz,
    last_run_at          timestamptz,
    last_status          text CHECK (last_status IN ('completed', 'failed', 'skipped')),
    consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    claimed_at           timestamptz,
    claimed_by           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scheduled_executions_frequency_fields CHECK (
        CASE frequency
            WHEN 'daily' THEN time_of_day IS NOT NULL
            WHEN 'weekly' THEN time_of_day IS NOT NULL AND cardinality(days_of_week) > 0
            WHEN 'monthly' THEN time_of_day IS NOT NULL AND day_of_month IS NOT NULL
            WHEN 'custom' THEN cron IS NOT NULL
        END
    )
);
COMMENT ON COLUMN scheduled_executions.time_of_day IS 'Local time in timezone';
COMMENT ON COLUMN scheduled_executions.days_of_week IS '0 = Sunday ... 6 = Saturday, as in cron';
COMMENT ON COLUMN scheduled_executions.day_of_month IS 'Past the end of a short month means its last day';
COMMENT ON COLUMN scheduled_executions.timezone IS 'IANA name, e.g. America/Chicago; next_run_at is computed DST-correct in it';
COMMENT ON COLUMN scheduled_executions.claimed_at IS 'Set by the tick running this schedule; a claim older than the run timeout is stale';
CREATE INDEX scheduled_executions_due_idx ON scheduled_executions (next_run_at) WHERE active;
CREATE INDEX scheduled_executions_team_id_idx ON scheduled_executions (team_id);
CREATE INDEX scheduled_executions_user_id_idx ON scheduled_executions (user_id);
CREATE INDEX scheduled_executions_assistant_id_idx ON scheduled_executions (assistant_id);
CREATE TRIGGER scheduled_executions_set_updated_at BEFORE UPDATE ON scheduled_executions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- One row per run. UNIQUE (scheduled_execution_id, scheduled_for) makes a second tick's
-- attempt at the same slot a conflict instead of a second run.
CREATE TABLE schedule_results (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scheduled_execution_id uuid NOT NULL REFERENCES scheduled_executions (id) ON DELETE CASCADE,
    execution_id           uuid REFERENCES assistant_executions (id) ON DELETE SET NULL,
    scheduled_for          timestamptz NOT NULL,
    status                 text NOT NULL DEFAULT 'running'
                           CHECK (status IN ('running', 'completed', 'failed', 'skipped')),
    started_at             timestamptz NOT NULL DEFAULT now(),
    completed_at           timestamptz,
    duration_ms            integer CHECK (duration_ms >= 0),
    input_tokens           bigint NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens          bigint NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cost                   numeric(14,6) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    output                 text,
    error                  text,
    created_at             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedule_results_slot_key UNIQUE (scheduled_execution_id, scheduled_for)
);
COMMENT ON COLUMN schedule_results.scheduled_for IS 'The next_run_at this run was claimed for';
COMMENT ON COLUMN schedule_results.output IS 'Final prompt output; select it one row at a time (Data API 64 KB row limit)';
CREATE INDEX schedule_results_history_idx ON schedule_results (scheduled_execution_id, started_at DESC);
CREATE INDEX schedule_results_execution_id_idx ON schedule_results (execution_id);
