//! The precedence of `gemd serve`'s settings, shown in one place: for each kind of option (a
//! number, a string, a path, a duration, a boolean, a list), each layer wins over the ones
//! below it (flag > env > file > default), every boolean can be undone both ways at every
//! layer, and an invalid value is reported with the flag, variable or key that gave it. The
//! flags go through the real command-line parser; the environment is a map.

use std::collections::BTreeMap;
use std::time::Duration;

use gemd_engine::llama::kernels::Kernels;

use super::*;
use crate::cli::{Cli, Command};
use crate::model_ref::ModelRef;

/// The settings `gemd serve FLAGS` resolves to with the environment `env` and the file `toml`.
pub(crate) fn resolve_with(flags: &[&str], env: &[(&str, &str)], toml: &str) -> Result<Settings, SettingsError> {
    let argv = ["gemd", "serve"].iter().chain(flags);
    let cli = Cli::try_parse_command_line_from(argv).unwrap_or_else(|e| panic!("{flags:?}: {e}"));
    let Some(Command::Serve(args)) = cli.command else { panic!("not serve") };
    let env: BTreeMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let file: Config = toml::from_str(toml).unwrap_or_else(|e| panic!("{toml}: {e}"));
    Settings::resolve("/gemd-home".into(), args, &env, file)
}

fn resolved(flags: &[&str], env: &[(&str, &str)], toml: &str) -> Settings {
    resolve_with(flags, env, toml).unwrap_or_else(|e| panic!("{flags:?} {env:?} {toml:?}: {e}"))
}

/// `get` of the settings at each layer: the default; the file alone; env over file; flag over
/// both.
fn layers<T: PartialEq + std::fmt::Debug>(
    flag: &[&str],
    env: (&str, &str),
    file: &str,
    get: impl Fn(&Settings) -> T,
) -> [T; 4] {
    [
        get(&resolved(&[], &[], "")),
        get(&resolved(&[], &[], file)),
        get(&resolved(&[], &[env], file)),
        get(&resolved(flag, &[env], file)),
    ]
}

#[test]
fn a_number_flag_beats_env_beats_file_beats_default() {
    let got = layers(&["--port", "3"], ("GEMD_PORT", "2"), "port = 1", |s| s.listen.port);
    assert_eq!(got, [defaults::PORT, 1, 2, 3]);
    let kv = |s: &Settings| s.backends[0].engine.llama_config("m.gguf".into()).kv_tokens;
    let engine_default = gemd_engine::llama::LlamaConfig::new("m.gguf").kv_tokens;
    let got = layers(&["--kv-tokens", "3000"], ("GEMD_KV_TOKENS", "2000"), "[engine]\nkv_tokens = 1000", kv);
    assert_eq!(got, [engine_default, 1000, 2000, 3000]);
}

#[test]
fn a_string_flag_beats_env_beats_file_beats_default() {
    let got = layers(&["--host", "c"], ("GEMD_HOST", "e"), "host = \"f\"", |s| s.listen.host.clone());
    assert_eq!(got, [defaults::HOST.to_string(), "f".into(), "e".into(), "c".into()]);
    let url = |s: &Settings| s.database_url.clone();
    let got = layers(
        &["--database-url", "sqlite://c"],
        ("GEMD_DATABASE_URL", "sqlite://e"),
        "database_url = \"sqlite://f\"",
        url,
    );
    assert_eq!(got, [None, Some("sqlite://f".into()), Some("sqlite://e".into()), Some("sqlite://c".into())]);
}

#[test]
fn a_path_flag_beats_env_beats_file_beats_default() {
    let model = |s: &Settings| s.backends[0].model.clone();
    let got =
        layers(&["--model", "/c.gguf"], ("GEMD_MODEL", "/e.gguf"), "[backends.default]\nmodel = \"/f.gguf\"", model);
    let path = |p: &str| ModelRef::Path(p.into());
    assert_eq!(got, [ModelRef::default_model(), path("/f.gguf"), path("/e.gguf"), path("/c.gguf")]);
}

#[test]
fn a_duration_flag_beats_env_beats_file_beats_default() {
    let got = layers(&["--drain-seconds", "3"], ("GEMD_DRAIN_SECONDS", "2"), "drain_seconds = 1", |s| s.listen.drain);
    assert_eq!(got, [defaults::DRAIN, Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(3)]);
    let idle = |s: &Settings| s.limits.idle_timeout.as_secs();
    let got =
        layers(&["--idle-timeout-seconds", "3"], ("GEMD_IDLE_TIMEOUT_SECONDS", "2"), "idle_timeout_seconds = 1", idle);
    assert_eq!(got, [defaults::limits().idle_timeout.as_secs(), 1, 2, 3]);
}

#[test]
fn a_boolean_is_overridable_both_ways_at_every_layer() {
    let open = |flags: &[&str], env: &[(&str, &str)], toml: &str| resolved(flags, env, toml).quota.fail_open;
    assert!(!open(&[], &[], ""), "the default");
    assert!(open(&[], &[], "quota_fail_open = true"));
    // The environment undoes the file, either way.
    assert!(!open(&[], &[("GEMD_QUOTA_FAIL_OPEN", "false")], "quota_fail_open = true"));
    assert!(open(&[], &[("GEMD_QUOTA_FAIL_OPEN", "true")], "quota_fail_open = false"));
    // A flag undoes the environment and the file, either way, in each spelling.
    let on = [("GEMD_QUOTA_FAIL_OPEN", "true")];
    assert!(!open(&["--quota-fail-open=false"], &on, "quota_fail_open = true"));
    assert!(!open(&["--no-quota-fail-open"], &on, "quota_fail_open = true"));
    assert!(!open(&["--no-quota-fail-open"], &[], "quota_fail_open = true"));
    let off = [("GEMD_QUOTA_FAIL_OPEN", "false")];
    assert!(open(&["--quota-fail-open"], &off, "quota_fail_open = false"));
    assert!(open(&["--quota-fail-open=true"], &off, "quota_fail_open = false"));
    // Of the two spellings the last one given wins.
    assert!(open(&["--no-quota-fail-open", "--quota-fail-open"], &[], ""));
    assert!(!open(&["--quota-fail-open", "--no-quota-fail-open"], &[], ""));

    let kernels = |flags: &[&str], env: &[(&str, &str)], toml: &str| {
        resolved(flags, env, toml).backends[0].engine.llama_config("m.gguf".into()).kernels
    };
    assert_eq!(kernels(&[], &[], ""), Kernels::Invariant, "the default");
    assert_eq!(kernels(&[], &[], "[engine]\nbatch_invariant = false"), Kernels::Default);
    assert_eq!(
        kernels(&[], &[("GEMD_BATCH_INVARIANT", "true")], "[engine]\nbatch_invariant = false"),
        Kernels::Invariant
    );
    assert_eq!(kernels(&[], &[("GEMD_BATCH_INVARIANT", "false")], ""), Kernels::Default);
    let inv = [("GEMD_BATCH_INVARIANT", "true")];
    assert_eq!(kernels(&["--no-batch-invariant"], &inv, ""), Kernels::Default);
    assert_eq!(kernels(&["--batch-invariant=false"], &inv, ""), Kernels::Default);
    assert_eq!(kernels(&["--batch-invariant"], &[("GEMD_BATCH_INVARIANT", "false")], ""), Kernels::Invariant);
}

#[test]
fn a_list_flag_beats_env_beats_file_beats_default() {
    let origins = |s: &Settings| s.limits.cors.allow_origins.clone();
    let got = layers(
        &["--cors-allow-origins", "https://c.example"],
        ("GEMD_CORS_ALLOW_ORIGINS", "https://e.example,https://e2.example"),
        "[cors]\nallow_origins = [\"https://f.example\"]",
        origins,
    );
    let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        [
            v(&["*"]),
            v(&["https://f.example"]),
            v(&["https://e.example", "https://e2.example"]),
            v(&["https://c.example"])
        ]
    );
    // An empty list at a higher layer is a value too: it turns CORS off.
    assert_eq!(origins(&resolved(&["--cors-allow-origins="], &[], "")), v(&[]));
    assert_eq!(origins(&resolved(&[], &[("GEMD_CORS_ALLOW_ORIGINS", "")], "")), v(&[]));
}

#[test]
fn api_keys_from_the_command_line_or_the_environment_add_to_the_files() {
    let keys = |flags: &[&str], env: &[(&str, &str)]| resolved(flags, env, "api_keys = [\"f\"]").api_keys;
    assert_eq!(keys(&[], &[]), ["f"]);
    assert_eq!(keys(&[], &[("GEMD_API_KEYS", "e1,e2")]), ["e1", "e2", "f"]);
    assert_eq!(keys(&["--api-key", "c1", "--api-key", "c2"], &[("GEMD_API_KEYS", "e1")]), ["c1", "c2", "f"]);
    assert_eq!(keys(&[], &[("GEMD_API_KEYS", "")]), ["f"], "an empty variable adds none");
}

#[test]
fn an_empty_admin_listener_or_token_undoes_the_lower_layers() {
    let file = "admin_listen = \"127.0.0.1:8081\"";
    assert_eq!(resolved(&[], &[], file).listen.admin_listen.as_deref(), Some("127.0.0.1:8081"));
    assert_eq!(resolved(&[], &[("GEMD_ADMIN_LISTEN", "")], file).listen.admin_listen, None);
    assert_eq!(resolved(&["--admin-listen="], &[("GEMD_ADMIN_LISTEN", "127.0.0.1:9")], file).listen.admin_listen, None);
    let token = |flags: &[&str], env: &[(&str, &str)]| resolved(flags, env, "").admin_token;
    assert_eq!(token(&[], &[("GEMD_ADMIN_TOKEN", "e")]), Some("e".into()));
    assert_eq!(token(&["--admin-token", "c"], &[("GEMD_ADMIN_TOKEN", "e")]), Some("c".into()));
    assert_eq!(token(&[], &[("GEMD_ADMIN_TOKEN", "")]), None, "empty: the token file's");
}

#[test]
fn engine_flags_set_the_engine_table_and_a_backends_own_table_still_wins() {
    let file = "[engine]\nmax_sequences = 4\n\
        [backends.default]\nmodel = \"/d.gguf\"\n[backends.default.engine]\nkv_tokens = 1000\n\
        [backends.small]\nmodel = \"/s.gguf\"";
    let s = resolved(&["--kv-tokens", "3000", "--max-sequences", "2"], &[], file);
    let (default, small) =
        (s.backends[0].engine.llama_config("d".into()), s.backends[1].engine.llama_config("s".into()));
    assert_eq!((default.kv_tokens, default.max_sequences), (1000, 2));
    assert_eq!((small.kv_tokens, small.max_sequences), (3000, 2));
}

#[test]
fn an_invalid_value_names_its_flag_variable_or_key() {
    let error =
        |flags: &[&str], env: &[(&str, &str)], toml: &str| resolve_with(flags, env, toml).unwrap_err().to_string();
    assert_eq!(error(&["--idle-timeout-seconds", "0"], &[], ""), "--idle-timeout-seconds must be at least 1");
    assert_eq!(error(&[], &[("GEMD_IDLE_TIMEOUT_SECONDS", "0")], ""), "GEMD_IDLE_TIMEOUT_SECONDS must be at least 1");
    assert_eq!(
        error(&[], &[], "idle_timeout_seconds = 0"),
        "`idle_timeout_seconds` in the config file must be at least 1"
    );
    assert_eq!(error(&[], &[], "max_connections = 0"), "`max_connections` in the config file must be at least 1");
    assert!(error(&[], &[], "default_tier = \"gold\"")
        .starts_with("`default_tier` in the config file: unknown tier \"gold\""));
    let e = error(&["--default-tier", "gold"], &[], "");
    assert!(e.starts_with("--default-tier: unknown tier"), "{e}");
    let e = error(&[], &[("GEMD_PORT", "eighty")], "");
    assert!(e.starts_with("GEMD_PORT: invalid value") && !e.contains("eighty"), "{e}");
    let e = error(&[], &[("GEMD_QUOTA_FAIL_OPEN", "yes")], "");
    assert!(e.starts_with("GEMD_QUOTA_FAIL_OPEN: invalid value"), "{e}");
    let e = error(&["--chat-template", "/nonexistent/t.jinja"], &[], "");
    assert_eq!(e, "--chat-template");
    let e = format!(
        "{:#}",
        anyhow::Error::from(resolve_with(&[], &[("GEMD_CHAT_TEMPLATE", "/nonexistent/t.jinja")], "").unwrap_err())
    );
    assert!(e.starts_with("GEMD_CHAT_TEMPLATE: chat template file /nonexistent/t.jinja does not exist"), "{e}");
}

#[test]
fn the_defaults_are_the_tables() {
    let s = resolved(&[], &[], "");
    let d = defaults::limits();
    assert_eq!(
        (s.listen.host.as_str(), s.listen.port, s.listen.drain),
        (defaults::HOST, defaults::PORT, defaults::DRAIN)
    );
    assert_eq!((s.listen.admin_listen.clone(), s.database_url.clone(), s.admin_token.clone()), (None, None, None));
    assert_eq!(
        (s.quota.redis_url.clone(), s.quota.fail_open, s.quota.default_tier),
        (None, false, defaults::DEFAULT_TIER)
    );
    assert_eq!(
        (s.limits.max_body_bytes, s.limits.header_timeout, s.limits.body_timeout, s.limits.idle_timeout),
        (d.max_body_bytes, d.header_timeout, d.body_timeout, d.idle_timeout)
    );
    assert_eq!(
        (s.limits.body_min_bytes_per_second, s.limits.max_connections),
        (d.body_min_bytes_per_second, d.max_connections)
    );
    assert_eq!(s.limits.cors.allow_headers.len(), defaults::CORS_ALLOW_HEADERS.len());
    assert_eq!(s.limits.cors.max_age, defaults::CORS_MAX_AGE);
    assert_eq!(s.backends.len(), 1);
    let c = s.backends[0].engine.llama_config("m.gguf".into());
    let e = gemd_engine::llama::LlamaConfig::new("m.gguf");
    assert_eq!(
        (c.threads, c.max_sequences, c.kv_tokens, c.prefix_cache_tokens),
        (e.threads, e.max_sequences, e.kv_tokens, e.prefix_cache_tokens)
    );
}
