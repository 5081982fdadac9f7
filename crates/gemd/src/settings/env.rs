//! The environment layer.
//!
//! clap reads the process environment itself, while it parses, for every option with an
//! `env =`. That would make the environment layer impossible to test without mutating the
//! process environment (which tests running in parallel share), and would leave resolve unable
//! to tell a flag from a variable. So `serve` is parsed with its options' `env` cleared (cli.rs;
//! `--help` still names each variable), and `from_env` reads the same variables through an
//! [`Env`] (the process environment in `main`, a map in tests), parsing each value with its
//! option's own clap parser, as `--flag=value`. The names stay declared once, in the options'
//! `env =` attributes; the parsing is clap's in both layers, and an error names the variable.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use clap::{Args, Command, FromArgMatches};

use super::SettingsError;
use crate::cli::ServeArgs;

/// Where environment variables are read from.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment (a value that is not UTF-8 is read lossily).
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// One option's spellings: its long flag (`--api-key`) and its variable (`GEMD_API_KEYS`).
struct Spelling {
    id: String,
    long: String,
    var: Option<String>,
}

/// `serve`'s options as a command that reads no environment, and each option's spellings.
fn command_without_env() -> &'static (Command, Vec<Spelling>) {
    static COMMAND: OnceLock<(Command, Vec<Spelling>)> = OnceLock::new();
    COMMAND.get_or_init(|| {
        let with_env = ServeArgs::augment_args(Command::new("serve").no_binary_name(true));
        let spellings = with_env
            .get_arguments()
            .filter_map(|a| {
                let long = a.get_long()?.to_string();
                let var = a.get_env().map(|v| v.to_string_lossy().into_owned());
                Some(Spelling { id: a.get_id().to_string(), long, var })
            })
            .collect();
        (with_env.mut_args(|a| a.env(None::<&'static str>)), spellings)
    })
}

/// The flag and the environment variable of the option whose clap id is `id`.
pub fn names(id: &str) -> (String, String) {
    let (_, spellings) = command_without_env();
    let s = spellings.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("`{id}` is not a serve option"));
    (format!("--{}", s.long), s.var.clone().unwrap_or_default())
}

/// `serve`'s options as the environment gives them.
pub fn from_env(env: &dyn Env) -> Result<ServeArgs, SettingsError> {
    let (command, spellings) = command_without_env();
    let mut argv = Vec::new();
    for s in spellings {
        let Some(var) = &s.var else { continue };
        let Some(value) = env.var(var) else { continue };
        let arg = format!("--{}={value}", s.long);
        // One at a time first, so that the error names the variable (and never its value:
        // some are secrets).
        command
            .clone()
            .try_get_matches_from([&arg])
            .map_err(|e| SettingsError::Env { var: var.clone(), reason: reason(&e) })?;
        argv.push(arg);
    }
    let matches = command
        .clone()
        .try_get_matches_from(argv)
        .map_err(|e| SettingsError::Env { var: "the environment".into(), reason: reason(&e) })?;
    ServeArgs::from_arg_matches(&matches)
        .map_err(|e| SettingsError::Env { var: "the environment".into(), reason: reason(&e) })
}

/// clap's complaint without its `error:` prefix, usage and value.
fn reason(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let valid = match e.get(ContextKind::ValidValue) {
        Some(ContextValue::Strings(v)) => format!(" (one of {})", v.join(", ")),
        _ => String::new(),
    };
    match e.kind() {
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let why = std::error::Error::source(e).map(|s| format!(": {s}")).unwrap_or_default();
            format!("invalid value{valid}{why}")
        }
        _ => e.render().to_string().lines().next().unwrap_or_default().trim_start_matches("error: ").to_string(),
    }
}
