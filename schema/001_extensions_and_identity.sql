-- Extensions, the shared updated_at trigger, and who may do what: users, teams, roles, tools.
-- UUIDs come from gen_random_uuid() (core since PostgreSQL 13), so pgcrypto is not needed.

CREATE EXTENSION IF NOT EXISTS vector;

-- Attached BEFORE UPDATE to every table with an updated_at column.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cognito_sub     text UNIQUE,
    email           text NOT NULL CHECK (email = btrim(email) AND position('@' IN email) > 1),
    name            text,
    last_sign_in_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN users.cognito_sub IS 'JWT sub claim; NULL for a user invited by e-mail who has not signed in yet';
-- E-mail is unique regardless of case; look users up by lower(email).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE teams (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (btrim(name) <> ''),
    description text,
    created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE teams IS 'Owner of every repository, conversation, persona, assistant and schedule';
CREATE INDEX teams_created_by_idx ON teams (created_by);
CREATE TRIGGER teams_set_updated_at BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE team_members (
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id_idx ON team_members (user_id);

-- Studio-wide roles (Cognito groups map onto these); distinct from the role within a team.
CREATE TABLE roles (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    description text,
    is_system   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER roles_set_updated_at BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_roles (
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);

-- Features a role may use; identifier is what the code checks.
CREATE TABLE tools (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    identifier  text NOT NULL UNIQUE CHECK (identifier ~ '^[a-z][a-z0-9_]*$'),
    name        text NOT NULL,
    description text,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER tools_set_updated_at BEFORE UPDATE ON tools
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE role_tools (
    role_id    uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    tool_id    uuid NOT NULL REFERENCES tools (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_id, tool_id)
);
CREATE INDEX role_tools_tool_id_idx ON role_tools (tool_id);

INSERT INTO roles (name, description, is_system) VALUES
    ('administrator', 'Manages settings, models, users and approves assistants', true),
    ('staff', 'Creates repositories, assistants and schedules', true),
    ('student', 'Uses the tools granted to students', true)
ON CONFLICT (name) DO NOTHING;

INSERT INTO tools (identifier, name, description) VALUES
    ('chat', 'Chat', 'Streaming chat with the enabled models, personas and knowledge'),
    ('assistant_architect', 'Assistant Architect', 'Build and run prompt chains, on demand or on a schedule'),
    ('knowledge_repositories', 'Knowledge Repositories', 'Upload documents into searchable repositories'),
    ('model_compare', 'Model Compare', 'Send one prompt to several models side by side'),
    ('web_search', 'Web Search', 'Let models search the web while answering')
ON CONFLICT (identifier) DO NOTHING;

-- Administrators and staff get every tool; students get chat and running assistants.
INSERT INTO role_tools (role_id, tool_id)
SELECT r.id, t.id
FROM roles r
CROSS JOIN tools t
WHERE r.name IN ('administrator', 'staff')
   OR (r.name = 'student' AND t.identifier IN ('chat', 'assistant_architect'))
ON CONFLICT DO NOTHING;
