-- Knowledge: repositories, their items, chunks, embeddings, and the OCR (Textract) bookkeeping.

CREATE TABLE repositories (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    owner_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    name        text NOT NULL CHECK (btrim(name) <> ''),
    description text,
    is_public   boolean NOT NULL DEFAULT false,
    metadata    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN repositories.is_public IS 'Readable by every signed-in user; otherwise team members and repository_access grants';
CREATE UNIQUE INDEX repositories_team_name_key ON repositories (team_id, lower(name));
CREATE INDEX repositories_owner_id_idx ON repositories (owner_id);
CREATE INDEX repositories_public_idx ON repositories (id) WHERE is_public;
CREATE TRIGGER repositories_set_updated_at BEFORE UPDATE ON repositories
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Grants beyond the owning team: to one user or to everyone holding a role.
CREATE TABLE repository_access (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    repository_id uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    user_id       uuid REFERENCES users (id) ON DELETE CASCADE,
    role_id       uuid REFERENCES roles (id) ON DELETE CASCADE,
    permission    text NOT NULL DEFAULT 'read' CHECK (permission IN ('read', 'write')),
    granted_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(user_id, role_id) = 1),
    CONSTRAINT repository_access_grantee_key UNIQUE NULLS NOT DISTINCT (repository_id, user_id, role_id)
);
CREATE INDEX repository_access_user_id_idx ON repository_access (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX repository_access_role_id_idx ON repository_access (role_id) WHERE role_id IS NOT NULL;
CREATE INDEX repository_access_granted_by_idx ON repository_access (granted_by);

-- One uploaded file, pasted text or fetched URL. Ends 'completed' (every chunk embedded)
-- or 'failed' with a readable error; the CHECKs hold the pipeline to that.
CREATE TABLE repository_items (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    repository_id  uuid NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    type           text NOT NULL CHECK (type IN ('file', 'text', 'url')),
    name           text NOT NULL CHECK (btrim(name) <> ''),
    source         text NOT NULL,
    content_type   text,
    size_bytes     bigint CHECK (size_bytes >= 0),
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'processing', 'embedding', 'completed', 'failed')),
    error          text,
    page_count     integer CHECK (page_count >= 0),
    chunk_count    integer NOT NULL DEFAULT 0 CHECK (chunk_count >= 0),
    embedded_count integer NOT NULL DEFAULT 0 CHECK (embedded_count >= 0),
    content_hash   text,
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    metadata       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    uploaded_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    processed_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, repository_id),
    CONSTRAINT repository_items_completed_is_embedded CHECK (status <> 'completed' OR embedded_count = chunk_count),
    CONSTRAINT repository_items_failed_has_error CHECK (status <> 'failed' OR error IS NOT NULL)
);
COMMENT ON COLUMN repository_items.source IS 'S3 key repositories/{repoId}/{itemId}/{fileName} for file and text items, the URL for url items';
COMMENT ON COLUMN repository_items.content_hash IS 'SHA-256 (hex) of the extracted text; a redelivery with the same hash changes nothing';
CREATE INDEX repository_items_repository_idx ON repository_items (repository_id, created_at DESC);
CREATE INDEX repository_items_uploaded_by_idx ON repository_items (uploaded_by);
-- For the sweep that finds items stuck in the pipeline.
CREATE INDEX repository_items_unfinished_idx ON repository_items (updated_at)
    WHERE status IN ('pending', 'processing', 'embedding');
CREATE TRIGGER repository_items_set_updated_at BEFORE UPDATE ON repository_items
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- repository_id is copied from the item (the composite FK keeps it right) so search can
-- filter by the caller's repositories without joining items.
CREATE TABLE chunks (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    item_id       uuid NOT NULL,
    repository_id uuid NOT NULL,
    chunk_index   integer NOT NULL CHECK (chunk_index >= 0),
    content       text NOT NULL,
    page_start    integer CHECK (page_start >= 1),
    page_end      integer CHECK (page_end >= page_start),
    heading_path  text[] NOT NULL DEFAULT '{}',
    token_count   integer CHECK (token_count >= 0),
    content_hash  text,
    tsv           tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (item_id, chunk_index),
    FOREIGN KEY (item_id, repository_id) REFERENCES repository_items (id, repository_id) ON DELETE CASCADE
);
COMMENT ON COLUMN chunks.heading_path IS 'Headings enclosing the chunk, outermost first, for citations';
CREATE INDEX chunks_tsv_idx ON chunks USING gin (tsv);
CREATE INDEX chunks_repository_id_idx ON chunks (repository_id);

-- One vector per chunk per embedding model. The column has no fixed dimension, so a new
-- model or dimension is new rows, not an ALTER: write them, switch the embedding-model
-- setting, then delete the old model's rows. HNSW needs a fixed dimension, hence one
-- partial expression index per dimension below. A search must repeat the index
-- expression and predicate with the dimension as a literal, e.g.
--   WHERE e.dimensions = 1024 AND e.model = $1
--   ORDER BY e.embedding::vector(1024) <=> $2::vector(1024) LIMIT $3
-- (3072 uses halfvec(3072) in both places.) A dimension without an index still works,
-- by exact scan; give it an index in a new migration, no table rewrite needed.
CREATE TABLE embeddings (
    chunk_id   uuid NOT NULL REFERENCES chunks (id) ON DELETE CASCADE,
    model      text NOT NULL CHECK (btrim(model) <> ''),
    dimensions integer NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
    embedding  vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chunk_id, model),
    CONSTRAINT embeddings_dimensions_match CHECK (vector_dims(embedding) = dimensions)
);
COMMENT ON COLUMN embeddings.model IS 'Embedding model id as in the settings, e.g. amazon.titan-embed-text-v2:0 or cohere.embed-english-v3';
COMMENT ON COLUMN embeddings.embedding IS 'Never select this back through the Data API (row and response size limits)';
CREATE INDEX embeddings_model_idx ON embeddings (model, dimensions);
CREATE INDEX embeddings_hnsw_256 ON embeddings
    USING hnsw ((embedding::vector(256)) vector_cosine_ops) WHERE dimensions = 256;
CREATE INDEX embeddings_hnsw_384 ON embeddings
    USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dimensions = 384;
CREATE INDEX embeddings_hnsw_768 ON embeddings
    USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE dimensions = 768;
CREATE INDEX embeddings_hnsw_1024 ON embeddings
    USING hnsw ((embedding::vector(1024)) vector_cosine_ops) WHERE dimensions = 1024;
CREATE INDEX embeddings_hnsw_1536 ON embeddings
    USING hnsw ((embedding::vector(1536)) vector_cosine_ops) WHERE dimensions = 1536;

-- What depends on the pgvector version (Aurora minors ship different ones; below 0.5.0
-- there is no HNSW and this file has already failed above):
-- * HNSW indexes vector only up to 2,000 dimensions; 3,072 (text-embedding-3-large) goes
--   through halfvec, which needs 0.7.0. Without it those rows are searched exactly.
-- * From 0.8.0, iterative index scans keep scanning until LIMIT rows pass the filters
--   (model, the caller's repositories) instead of returning too few. strict_order keeps
--   exact distance order. It is a database default, so new sessions get it; skipped
--   (with a notice) when this role does not own the database.
DO $pgvector$
DECLARE
    version integer[] := (SELECT string_to_array(split_part(extversion, '-', 1), '.')::integer[]
                          FROM pg_extension WHERE extname = 'vector');
BEGIN
    IF version >= ARRAY[0, 7, 0] THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS embeddings_hnsw_3072 ON embeddings '
             || 'USING hnsw ((embedding::halfvec(3072)) halfvec_cosine_ops) WHERE dimensions = 3072';
    ELSE
        RAISE NOTICE 'pgvector % has no halfvec: 3072-dimension embeddings are searched without an index',
            array_to_string(version, '.');
    END IF;
    IF version >= ARRAY[0, 8, 0] AND pg_has_role(
        (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE'
    ) THEN
        EXECUTE format('ALTER DATABASE %I SET hnsw.iterative_scan = strict_order', current_database());
    ELSE
        RAISE NOTICE 'hnsw.iterative_scan not set as a database default: set it per transaction where filters are selective';
    END IF;
END
$pgvector$;

-- Asynchronous OCR jobs (Textract StartDocumentTextDetection, or the local OCR).
CREATE TABLE textract_jobs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id       text NOT NULL UNIQUE,
    item_id      uuid NOT NULL REFERENCES repository_items (id) ON DELETE CASCADE,
    status       text NOT NULL DEFAULT 'in_progress'
                 CHECK (status IN ('in_progress', 'succeeded', 'partial_success', 'failed')),
    pages        integer CHECK (pages >= 0),
    error        text,
    completed_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX textract_jobs_item_id_idx ON textract_jobs (item_id);
CREATE INDEX textract_jobs_in_progress_idx ON textract_jobs (created_at) WHERE status = 'in_progress';
CREATE TRIGGER textract_jobs_set_updated_at BEFORE UPDATE ON textract_jobs
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Monthly OCR page budget. Reserve pages atomically:
--   UPDATE ocr_page_budget SET pages_used = pages_used + $1
--   WHERE month = date_trunc('month', now())::date AND pages_used + $1 <= page_limit RETURNING ...
CREATE TABLE ocr_page_budget (
    month      date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    page_limit integer NOT NULL CHECK (page_limit >= 0),
    pages_used integer NOT NULL DEFAULT 0 CHECK (pages_used >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN ocr_page_budget.month IS 'First day of the month (UTC)';
CREATE TRIGGER ocr_page_budget_set_updated_at BEFORE UPDATE ON ocr_page_budget
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
