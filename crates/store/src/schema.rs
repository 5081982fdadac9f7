//! The schema, one migration per version; the same SQL runs on SQLite and PostgreSQL.

pub const MIGRATIONS: &[&str] = &[
    // 1: projects, keys, the daily usage ledger.
    "CREATE TABLE IF NOT EXISTS projects (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        tier TEXT NOT NULL,
        logging_opt_out BOOLEAN NOT NULL DEFAULT FALSE,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        display_name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT,
        revoked_at BIGINT
    );
    CREATE INDEX IF NOT EXISTS api_keys_prefix ON api_keys(prefix);
    CREATE TABLE IF NOT EXISTS usage_daily (
        project_id TEXT NOT NULL,
        model TEXT NOT NULL,
        day TEXT NOT NULL,
        requests BIGINT NOT NULL,
        prompt_tokens BIGINT NOT NULL,
        candidate_tokens BIGINT NOT NULL,
        PRIMARY KEY (project_id, model, day)
    );",
    // 2: hourly usage (the console's 24-hour chart) and recent quota refusals.
    "CREATE TABLE IF NOT EXISTS usage_hourly (
        project_id TEXT NOT NULL,
        model TEXT NOT NULL,
        hour_start BIGINT NOT NULL,
        requests BIGINT NOT NULL,
        prompt_tokens BIGINT NOT NULL,
        candidate_tokens BIGINT NOT NULL,
        PRIMARY KEY (project_id, model, hour_start)
    );
    CREATE TABLE IF NOT EXISTS refusals (
        project_id TEXT NOT NULL,
        model TEXT NOT NULL,
        at BIGINT NOT NULL,
        metrics TEXT NOT NULL,
        retry_after_ms BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS refusals_project_at ON refusals(project_id, at);",
    // 3: the Files API: file records (bytes live in the blob store) and open upload sessions.
    "CREATE TABLE IF NOT EXISTS files (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        display_name TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        size_bytes BIGINT NOT NULL,
        sha256 TEXT NOT NULL,
        state TEXT NOT NULL,
        source TEXT NOT NULL,
        error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS files_project_created ON files(project_id, created_at);
    CREATE INDEX IF NOT EXISTS files_expires ON files(expires_at);
    CREATE TABLE IF NOT EXISTS upload_sessions (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        file_id TEXT NOT NULL,
        display_name TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        declared_size BIGINT,
        received BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS upload_sessions_expires ON upload_sessions(expires_at);",
    // 4: context caches (cachedContents): the cached part of requests, as JSON.
    "CREATE TABLE IF NOT EXISTS cached_contents (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        model TEXT NOT NULL,
        display_name TEXT NOT NULL,
        body TEXT NOT NULL,
        total_tokens BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS cached_contents_project_created ON cached_contents(project_id, created_at);
    CREATE INDEX IF NOT EXISTS cached_contents_expires ON cached_contents(expires_at);",
    // 5: the ledger's cached-token, cache-storage and batch counters; an uploaded file's
    // OpenAI `purpose`.
    "ALTER TABLE usage_daily ADD COLUMN cached_tokens BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE usage_daily ADD COLUMN cache_token_seconds BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE usage_daily ADD COLUMN batch_requests BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE usage_hourly ADD COLUMN cached_tokens BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE usage_hourly ADD COLUMN cache_token_seconds BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE usage_hourly ADD COLUMN batch_requests BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE files ADD COLUMN purpose TEXT;",
];

pub const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS gemd_schema (version BIGINT NOT NULL)";
