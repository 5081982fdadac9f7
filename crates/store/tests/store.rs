//! One suite, two backends: every test runs against SQLite and against a real PostgreSQL
//! (scripts/test.sh starts one and sets GEMD_TEST_POSTGRES_URL; without it the PostgreSQL half
//! fails and says so, it is never skipped).

use std::sync::Arc;

use gemd_store::postgres::Postgres;
use gemd_store::sqlite::Sqlite;
use gemd_store::{Refusal, SqlStore, Store, StoreError, Tier, UsageRow};

async fn backends() -> Vec<(&'static str, Arc<dyn Store>)> {
    let url = std::env::var("GEMD_TEST_POSTGRES_URL").expect(
        "GEMD_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh, which starts a PostgreSQL server",
    );
    let pg = Postgres::connect(&url).await.unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
    // Each test gets fresh tables: a schema of its own (tests run in parallel and the clock can
    // give two of them the same nanosecond, hence the counter).
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let schema = format!(
        "t{}_{}_{n}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    use gemd_store::db::Db;
    pg.batch(&format!("CREATE SCHEMA {schema}; SET search_path TO {schema}")).await.unwrap();
    vec![
        ("sqlite", Arc::new(SqlStore::open(Sqlite::in_memory().unwrap()).await.unwrap()) as Arc<dyn Store>),
        ("postgres", Arc::new(SqlStore::open(pg).await.unwrap()) as Arc<dyn Store>),
    ]
}

#[tokio::test]
async fn projects_can_be_created_listed_and_retiered() {
    for (name, s) in backends().await {
        let p = s.create_project(None, "Demo", Tier::Free).await.unwrap();
        assert!(p.id.starts_with("gen-lang-client-"), "{name}");
        assert_eq!(p.tier, Tier::Free);
        assert!(!p.logging_opt_out);
        let d = s.ensure_project("default", "Default project", Tier::Free).await.unwrap();
        assert_eq!(
            s.ensure_project("default", "other", Tier::Tier3).await.unwrap(),
            d,
            "{name}: ensure does not overwrite"
        );
        assert!(
            matches!(s.create_project(Some("default"), "x", Tier::Free).await, Err(StoreError::Conflict(_))),
            "{name}"
        );
        assert_eq!(s.list_projects().await.unwrap().len(), 2, "{name}");
        assert_eq!(s.set_tier(&p.id, Tier::Tier1).await.unwrap().tier, Tier::Tier1, "{name}");
        assert!(s.set_logging_opt_out(&p.id, true).await.unwrap().logging_opt_out, "{name}");
        assert!(matches!(s.set_tier("nope", Tier::Tier1).await, Err(StoreError::NotFound(_))), "{name}");
    }
}

#[tokio::test]
async fn keys_are_shown_once_stored_hashed_and_revocable() {
    for (name, s) in backends().await {
        let p = s.ensure_project("default", "Default", Tier::Free).await.unwrap();
        let k = s.create_key(&p.id, "ci").await.unwrap();
        assert!(k.secret.starts_with("AIza") && k.secret.len() == 39, "{name}: {}", k.secret);
        assert!(k.secret[4..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(k.key.prefix, &k.secret[..8]);
        let (found, project) = s.authenticate(&k.secret).await.unwrap().expect("authenticates");
        assert_eq!((found.id.as_str(), project.id.as_str()), (k.key.id.as_str(), "default"), "{name}");
        // A key differing only after the prefix is not the key.
        let mut wrong = k.secret.clone();
        wrong.replace_range(38..39, if wrong.ends_with('A') { "B" } else { "A" });
        assert!(s.authenticate(&wrong).await.unwrap().is_none(), "{name}");
        assert!(s.authenticate("short").await.unwrap().is_none());
        s.touch_key(&k.key.id, 1234).await.unwrap();
        assert_eq!(s.list_keys(Some("default")).await.unwrap()[0].last_used_at_ms, Some(1234), "{name}");
        assert!(s.revoke_key(&k.key.id).await.unwrap().revoked_at_ms.is_some());
        assert!(s.authenticate(&k.secret).await.unwrap().is_none(), "{name}: revoked keys do not authenticate");
        assert_eq!(s.count_keys().await.unwrap(), 1);
        assert!(matches!(s.create_key("nope", "x").await, Err(StoreError::NotFound(_))), "{name}");
    }
}

#[tokio::test]
async fn the_ledger_adds_up_per_project_model_and_day() {
    for (name, s) in backends().await {
        let row = |day: &str, model: &str, p: i64, c: i64| UsageRow {
            project_id: "default".into(),
            model: model.into(),
            day: day.into(),
            requests: 1,
            prompt_tokens: p,
            candidate_tokens: c,
            ..UsageRow::default()
        };
        s.ensure_project("default", "Default", Tier::Free).await.unwrap();
        s.record_usage(&row("2026-11-24", "gemini-2.5-flash", 10, 5), NOV25_NOON_MS).await.unwrap();
        s.record_usage(&row("2026-11-25", "gemini-2.5-flash", 10, 5), NOV25_NOON_MS).await.unwrap();
        s.record_usage(&row("2026-11-25", "gemini-2.5-flash", 7, 3), NOV25_NOON_MS).await.unwrap();
        s.record_usage(&row("2026-11-25", "gemma-3-27b-it", 1, 1), NOV25_NOON_MS).await.unwrap();
        let today = s.usage(Some("default"), Some("2026-11-25")).await.unwrap();
        assert_eq!(today.len(), 2, "{name}");
        assert_eq!((today[0].requests, today[0].prompt_tokens, today[0].candidate_tokens), (2, 17, 8), "{name}");
        assert_eq!(s.usage(None, None).await.unwrap().len(), 3, "{name}");
    }
}

#[tokio::test]
async fn cached_tokens_cache_storage_and_batch_requests_add_up() {
    for (name, s) in backends().await {
        let row = |cached: i64, storage: i64, batch: i64| UsageRow {
            project_id: "p".into(),
            model: "m".into(),
            day: "2026-11-25".into(),
            requests: 1 - i64::from(storage > 0),
            prompt_tokens: cached,
            cached_tokens: cached,
            cache_token_seconds: storage,
            batch_requests: batch,
            ..UsageRow::default()
        };
        s.ensure_project("p", "P", Tier::Free).await.unwrap();
        s.record_usage(&row(100, 0, 1), NOV25_NOON_MS).await.unwrap();
        s.record_usage(&row(50, 0, 0), NOV25_NOON_MS).await.unwrap();
        s.record_usage(&row(0, 7_200, 0), NOV25_NOON_MS).await.unwrap();
        let day = &s.usage(Some("p"), None).await.unwrap()[0];
        assert_eq!(
            (day.requests, day.cached_tokens, day.cache_token_seconds, day.batch_requests),
            (2, 150, 7_200, 1),
            "{name}"
        );
        let hour = &s.hourly_usage("p", NOV25_NOON_MS).await.unwrap()[0];
        assert_eq!((hour.cached_tokens, hour.cache_token_seconds, hour.batch_requests), (150, 7_200, 1), "{name}");
    }
}

#[tokio::test]
async fn concurrent_usage_updates_are_not_lost() {
    for (name, s) in backends().await {
        s.ensure_project("default", "Default", Tier::Free).await.unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.record_usage(
                        &UsageRow {
                            project_id: "default".into(),
                            model: "m".into(),
                            day: "2026-11-25".into(),
                            requests: 1,
                            prompt_tokens: 2,
                            candidate_tokens: 3,
                            ..UsageRow::default()
                        },
                        NOV25_NOON_MS,
                    )
                    .await
                    .unwrap()
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let rows = s.usage(Some("default"), None).await.unwrap();
        assert_eq!((rows[0].requests, rows[0].prompt_tokens, rows[0].candidate_tokens), (50, 100, 150), "{name}");
    }
}

/// 2026-11-25T12:00:00Z.
const NOV25_NOON_MS: i64 = 1_795_608_000_000;
const HOUR: i64 = 3_600_000;

#[tokio::test]
async fn hourly_rows_add_up_per_clock_hour() {
    for (name, s) in backends().await {
        let row = |model: &str| UsageRow {
            project_id: "p".into(),
            model: model.into(),
            day: "2026-11-25".into(),
            requests: 1,
            prompt_tokens: 4,
            candidate_tokens: 2,
            ..UsageRow::default()
        };
        s.ensure_project("p", "P", Tier::Free).await.unwrap();
        s.record_usage(&row("a"), NOV25_NOON_MS - HOUR + 5).await.unwrap();
        s.record_usage(&row("a"), NOV25_NOON_MS + 1).await.unwrap();
        s.record_usage(&row("a"), NOV25_NOON_MS + HOUR - 1).await.unwrap();
        s.record_usage(&row("b"), NOV25_NOON_MS + 10).await.unwrap();
        let rows = s.hourly_usage("p", NOV25_NOON_MS + 30 * 60_000).await.unwrap();
        assert_eq!(rows.len(), 2, "{name}: the hour before is excluded, two models in the hour");
        assert_eq!(
            (rows[0].model.as_str(), rows[0].hour_start_ms, rows[0].requests, rows[0].prompt_tokens),
            ("a", NOV25_NOON_MS, 2, 8),
            "{name}"
        );
        assert_eq!(s.hourly_usage("p", NOV25_NOON_MS - HOUR).await.unwrap().len(), 3, "{name}");
        assert!(s.hourly_usage("other", 0).await.unwrap().is_empty(), "{name}");
    }
}

#[tokio::test]
async fn recent_refusals_are_newest_first_and_expire_after_a_week() {
    for (name, s) in backends().await {
        let refusal = |at_ms: i64| Refusal {
            project_id: "p".into(),
            model: "gemini-2.5-pro".into(),
            at_ms,
            metrics: "requests per minute".into(),
            retry_after_ms: 1500,
        };
        s.record_refusal(&refusal(NOV25_NOON_MS - 8 * 24 * HOUR)).await.unwrap();
        s.record_refusal(&refusal(NOV25_NOON_MS - 1000)).await.unwrap();
        s.record_refusal(&refusal(NOV25_NOON_MS)).await.unwrap();
        let got = s.recent_refusals("p", 10).await.unwrap();
        assert_eq!(
            got.iter().map(|r| r.at_ms).collect::<Vec<_>>(),
            vec![NOV25_NOON_MS, NOV25_NOON_MS - 1000],
            "{name}"
        );
        assert_eq!(got[0], refusal(NOV25_NOON_MS), "{name}");
        assert_eq!(s.recent_refusals("p", 1).await.unwrap().len(), 1, "{name}");
    }
}

/// The SQLite file and the `-wal` / `-shm` files SQLite makes beside it are the owner's alone,
/// and a file left readable by others (an older gemd made it 0644) is tightened on open.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = std::env::temp_dir().join(format!("gemd-store-mode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("gemd.db");
    let store = SqlStore::open(Sqlite::open(&path).unwrap()).await.unwrap();
    store.create_project(None, "Demo", Tier::Free).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.join(format!("gemd.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let reopened = SqlStore::open(Sqlite::open(&path).unwrap()).await.unwrap();
    assert_eq!(reopened.list_projects().await.unwrap().len(), 1, "the data survives");
    assert_eq!(mode(&path), 0o600, "a loose file is tightened");
    drop(reopened);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A database of its own (not a schema): these tests end every connection to it, and a
/// reconnected session would not keep a `search_path`.
async fn fresh_database() -> String {
    let url = std::env::var("GEMD_TEST_POSTGRES_URL").expect("GEMD_TEST_POSTGRES_URL is not set");
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!("db{}_{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    use gemd_store::db::Db;
    Postgres::connect(&url).await.unwrap().batch(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

#[tokio::test]
async fn replicas_opening_an_empty_database_at_once_all_migrate_it() {
    let url = fresh_database().await;
    let opens = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { SqlStore::open(Postgres::connect(&url).await?).await.map(drop) })
    });
    for open in opens.collect::<Vec<_>>() {
        open.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_store_whose_connection_was_ended_reconnects() {
    let url = fresh_database().await;
    let s = SqlStore::open(Postgres::connect(&url).await.unwrap()).await.unwrap();
    let p = s.ensure_project("default", "Default", Tier::Free).await.unwrap();
    let secret = s.create_key(&p.id, "k").await.unwrap().secret;
    let row = |requests| UsageRow {
        project_id: p.id.clone(),
        model: "m".into(),
        day: "2026-01-01".into(),
        requests,
        prompt_tokens: 0,
        candidate_tokens: 0,
        ..UsageRow::default()
    };
    use gemd_store::db::Db;
    let killer = Postgres::connect(&url).await.unwrap();
    for round in 1..=2 {
        let ended = killer
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(ended.len(), 1, "the store's one connection was ended");
        // Round 1 looks a key up first, round 2 writes the ledger first: each finds its
        // connection gone and runs once more on a new one.
        if round == 1 {
            assert!(s.authenticate(&secret).await.unwrap().is_some());
            s.record_usage(&row(1), 0).await.unwrap();
        } else {
            s.record_usage(&row(2), 0).await.unwrap();
            assert!(s.authenticate(&secret).await.unwrap().is_some());
        }
    }
    assert_eq!(s.usage(None, None).await.unwrap()[0].requests, 3, "no ledger row lost");
}

fn stored_file(id: &str, project: &str, created: i64) -> gemd_store::StoredFile {
    gemd_store::StoredFile {
        id: id.into(),
        project_id: project.into(),
        display_name: format!("{id}.txt"),
        mime_type: "text/plain".into(),
        size_bytes: 10,
        sha256_base64: "AAAA".into(),
        state: gemd_store::FileState::Active,
        source: gemd_store::FileSource::Uploaded,
        error: None,
        created_at_ms: created,
        updated_at_ms: created,
        expires_at_ms: created + 1000,
    }
}

#[tokio::test]
async fn files_are_listed_newest_first_in_pages_and_expire() {
    for (name, s) in backends().await {
        s.ensure_project("a", "A", Tier::Free).await.unwrap();
        s.ensure_project("b", "B", Tier::Free).await.unwrap();
        for (i, id) in ["f1", "f2", "f3"].iter().enumerate() {
            s.insert_file(&stored_file(id, "a", 100 + i as i64)).await.unwrap();
        }
        s.insert_file(&stored_file("g1", "b", 100)).await.unwrap();
        assert!(matches!(s.insert_file(&stored_file("f1", "b", 1)).await, Err(StoreError::Conflict(_))), "{name}");
        let first = s.list_files("a", None, 2).await.unwrap();
        let ids: Vec<_> = first.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["f3", "f2"], "{name}");
        let second = s.list_files("a", first.next_cursor.as_deref(), 2).await.unwrap();
        assert_eq!(second.files.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), ["f1"], "{name}");
        assert_eq!(second.next_cursor, None, "{name}");
        assert_eq!(s.project_file_bytes("a").await.unwrap(), 30, "{name}");
        assert_eq!(s.get_file("g1").await.unwrap().unwrap().project_id, "b", "{name}");
        let expired: Vec<_> = s.expired_files(1101, 10).await.unwrap().into_iter().map(|f| f.id).collect();
        assert_eq!(expired, ["f1", "g1", "f2"], "{name}");
        assert!(s.delete_file("f1").await.unwrap() && !s.delete_file("f1").await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn upload_sessions_persist_their_received_bytes() {
    for (name, s) in backends().await {
        s.ensure_project("a", "A", Tier::Free).await.unwrap();
        let session = gemd_store::UploadSession {
            id: "u1".into(),
            project_id: "a".into(),
            file_id: "f".into(),
            display_name: "d".into(),
            mime_type: "text/plain".into(),
            declared_size: Some(20),
            received: 0,
            created_at_ms: 5,
            expires_at_ms: 50,
        };
        s.create_upload(&session).await.unwrap();
        s.set_upload_received("u1", 8).await.unwrap();
        assert_eq!(s.get_upload("u1").await.unwrap().unwrap().received, 8, "{name}");
        assert_eq!(s.expired_uploads(49, 10).await.unwrap().len(), 0, "{name}");
        assert_eq!(s.expired_uploads(50, 10).await.unwrap()[0].id, "u1", "{name}");
        assert!(s.delete_upload("u1").await.unwrap(), "{name}");
        assert_eq!(s.get_upload("u1").await.unwrap(), None, "{name}");
    }
}
