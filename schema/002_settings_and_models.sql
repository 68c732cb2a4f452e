-- Runtime settings (read DB-first, environment fallback) and the catalogue of AI models.

-- A plain setting keeps its text in value. A secret keeps only AES-256-GCM output:
-- ciphertext (with the 16-byte tag appended) and its 12-byte nonce; it is never returned to clients.
CREATE TABLE settings (
    key               text PRIMARY KEY CHECK (key ~ '^[A-Za-z][A-Za-z0-9_.-]*$'),
    value             text,
    is_secret         boolean NOT NULL DEFAULT false,
    ciphertext        bytea,
    nonce             bytea,
    encryption_key_id text,
    description       text,
    updated_by        uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_secret_is_encrypted CHECK (
        CASE WHEN is_secret
            THEN value IS NULL AND ciphertext IS NOT NULL AND octet_length(ciphertext) >= 16
                 AND nonce IS NOT NULL AND octet_length(nonce) = 12
            ELSE ciphertext IS NULL AND nonce IS NULL AND encryption_key_id IS NULL
        END
    )
);
COMMENT ON COLUMN settings.value IS 'Plain value; NULL for secrets, or unset (then the environment variable applies)';
COMMENT ON COLUMN settings.encryption_key_id IS 'Which data key encrypted the secret, for rotation';
CREATE INDEX settings_updated_by_idx ON settings (updated_by);
CREATE TRIGGER settings_set_updated_at BEFORE UPDATE ON settings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE ai_models (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    provider                  text NOT NULL CHECK (provider IN ('openai', 'azure', 'bedrock', 'gemini', 'openai_compatible', 'offline')),
    model_id                  text NOT NULL CHECK (btrim(model_id) <> ''),
    name                      text NOT NULL,
    description               text,
    capabilities              text[] NOT NULL DEFAULT '{}',
    allowed_roles             text[] NOT NULL DEFAULT '{}',
    input_price_per_1k        numeric(12,6) NOT NULL DEFAULT 0 CHECK (input_price_per_1k >= 0),
    output_price_per_1k       numeric(12,6) NOT NULL DEFAULT 0 CHECK (output_price_per_1k >= 0),
    cached_input_price_per_1k numeric(12,6) CHECK (cached_input_price_per_1k >= 0),
    context_window            integer CHECK (context_window > 0),
    max_output_tokens         integer CHECK (max_output_tokens > 0),
    config                    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    active                    boolean NOT NULL DEFAULT true,
    chat_enabled              boolean NOT NULL DEFAULT true,
    fallback_model_id         uuid REFERENCES ai_models (id) ON DELETE SET NULL,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, model_id),
    CHECK (fallback_model_id IS DISTINCT FROM id)
);
COMMENT ON COLUMN ai_models.model_id IS 'The provider''s own id: gpt-4o, a Bedrock model or inference-profile id, an Azure deployment';
COMMENT ON COLUMN ai_models.capabilities IS 'e.g. chat, vision, tools, reasoning, web_search, embedding';
COMMENT ON COLUMN ai_models.allowed_roles IS 'roles.name values allowed to use the model; empty means every role';
COMMENT ON COLUMN ai_models.config IS 'Non-secret provider options (base_url, api_version, region); keys live in settings';
COMMENT ON COLUMN ai_models.input_price_per_1k IS 'USD per 1,000 input tokens (likewise output and cached input)';
COMMENT ON COLUMN ai_models.cached_input_price_per_1k IS 'NULL: cached input tokens cost the input price';
CREATE INDEX ai_models_fallback_model_id_idx ON ai_models (fallback_model_id);
CREATE TRIGGER ai_models_set_updated_at BEFORE UPDATE ON ai_models
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
