-- Chat: personas, conversations and their messages, and the usage ledger every model call writes.

CREATE TABLE personas (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id       uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    name          text NOT NULL CHECK (btrim(name) <> ''),
    description   text,
    system_prompt text NOT NULL,
    model_id      uuid REFERENCES ai_models (id) ON DELETE SET NULL,
    repository_ids uuid[] NOT NULL DEFAULT '{}',
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN personas.model_id IS 'Preferred model; NULL lets the user choose';
COMMENT ON COLUMN personas.repository_ids IS 'Knowledge searched for every answer in this persona';
CREATE UNIQUE INDEX personas_team_name_key ON personas (team_id, lower(name));
CREATE INDEX personas_created_by_idx ON personas (created_by);
CREATE INDEX personas_model_id_idx ON personas (model_id);
CREATE TRIGGER personas_set_updated_at BEFORE UPDATE ON personas
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE conversations (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id                uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id                uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title                  text,
    model_id               uuid REFERENCES ai_models (id) ON DELETE SET NULL,
    persona_id             uuid REFERENCES personas (id) ON DELETE SET NULL,
    repository_ids         uuid[] NOT NULL DEFAULT '{}',
    message_count          integer NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    total_input_tokens     bigint NOT NULL DEFAULT 0 CHECK (total_input_tokens >= 0),
    total_output_tokens    bigint NOT NULL DEFAULT 0 CHECK (total_output_tokens >= 0),
    total_cached_tokens    bigint NOT NULL DEFAULT 0 CHECK (total_cached_tokens >= 0),
    total_reasoning_tokens bigint NOT NULL DEFAULT 0 CHECK (total_reasoning_tokens >= 0),
    total_cost             numeric(14,6) NOT NULL DEFAULT 0 CHECK (total_cost >= 0),
    archived_at            timestamptz,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN conversations.repository_ids IS 'Repositories searched for RAG in this conversation (access is re-checked at search time)';
-- The sidebar: a user's open conversations, newest first.
CREATE INDEX conversations_user_recent_idx ON conversations (user_id, updated_at DESC) WHERE archived_at IS NULL;
CREATE INDEX conversations_team_id_idx ON conversations (team_id);
CREATE INDEX conversations_model_id_idx ON conversations (model_id);
CREATE INDEX conversations_persona_id_idx ON conversations (persona_id);
CREATE TRIGGER conversations_set_updated_at BEFORE UPDATE ON conversations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- parts holds the AI SDK v5 UIMessage parts (text, reasoning, source-url, tool-*, file, data-*).
-- Keep file bytes out of it (S3 keys only): a Data API row is capped at 64 KB.
CREATE TABLE messages (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    conversation_id   uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    client_message_id text,
    role              text NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    parts             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(parts) = 'array'),
    metadata          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    model_id          uuid REFERENCES ai_models (id) ON DELETE SET NULL,
    persona_id        uuid REFERENCES personas (id) ON DELETE SET NULL,
    input_tokens      integer CHECK (input_tokens >= 0),
    output_tokens     integer CHECK (output_tokens >= 0),
    cached_tokens     integer CHECK (cached_tokens >= 0),
    reasoning_tokens  integer CHECK (reasoning_tokens >= 0),
    cost              numeric(14,6) CHECK (cost >= 0),
    finish_reason     text,
    request_id        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_client_message_id_key UNIQUE (conversation_id, client_message_id)
);
COMMENT ON COLUMN messages.client_message_id IS 'The id useChat gave the message; makes a resent message idempotent';
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at, id);
CREATE INDEX messages_model_id_idx ON messages (model_id);
CREATE INDEX messages_persona_id_idx ON messages (persona_id);

-- Append-only ledger of model calls (chat, assistants, schedules, embeddings, compare...).
-- It outlives what it describes: references are SET NULL and the model is also kept as text.
CREATE TABLE usage_events (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid REFERENCES users (id) ON DELETE SET NULL,
    team_id          uuid REFERENCES teams (id) ON DELETE SET NULL,
    ai_model_id      uuid REFERENCES ai_models (id) ON DELETE SET NULL,
    provider         text NOT NULL,
    model_id         text NOT NULL,
    feature          text NOT NULL CHECK (feature ~ '^[a-z][a-z0-9_]*$'),
    input_tokens     integer NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
    output_tokens    integer NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
    cached_tokens    integer NOT NULL DEFAULT 0 CHECK (cached_tokens >= 0),
    reasoning_tokens integer NOT NULL DEFAULT 0 CHECK (reasoning_tokens >= 0),
    cost             numeric(14,6) NOT NULL DEFAULT 0 CHECK (cost >= 0),
    latency_ms       integer CHECK (latency_ms >= 0),
    request_id       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN usage_events.feature IS 'chat, assistant_architect, scheduled_execution, embedding, model_compare, title...';
CREATE INDEX usage_events_created_at_idx ON usage_events (created_at);
CREATE INDEX usage_events_team_created_idx ON usage_events (team_id, created_at);
CREATE INDEX usage_events_user_created_idx ON usage_events (user_id, created_at);
CREATE INDEX usage_events_ai_model_id_idx ON usage_events (ai_model_id);
