//! `gemd projects`, `gemd keys`, `gemd usage`: the store, from the command line.

use std::path::Path;
use std::sync::Arc;

use gemd_store::{Store, Tier};

use crate::cli::{KeysCommand, ProjectsCommand};
use crate::settings::options::StoreOptions;

async fn open(store: &StoreOptions, home: &Path) -> anyhow::Result<Arc<dyn Store>> {
    Ok(gemd_store::open(store.database_url.as_deref(), home).await?)
}

fn tier(s: &str) -> anyhow::Result<Tier> {
    s.parse().map_err(anyhow::Error::msg)
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

pub async fn projects(cmd: ProjectsCommand, home: &Path) -> anyhow::Result<()> {
    match cmd {
        ProjectsCommand::Create { name, tier: t, store } => {
            let p = open(&store, home).await?.create_project(None, &name, tier(&t)?).await?;
            println!("{}\t{}\t{}", p.id, p.tier, p.display_name);
        }
        ProjectsCommand::List { store } => {
            println!("ID\tTIER\tLOGGING-OPT-OUT\tCREATED\tNAME");
            for p in open(&store, home).await?.list_projects().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    p.id,
                    p.tier,
                    p.logging_opt_out,
                    when(Some(p.created_at_ms)),
                    p.display_name
                );
            }
        }
        ProjectsCommand::SetTier { project, tier: t, store } => {
            let p = open(&store, home).await?.set_tier(&project, tier(&t)?).await?;
            println!("{}\t{}", p.id, p.tier);
        }
    }
    Ok(())
}

pub async fn keys(cmd: KeysCommand, home: &Path) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Create { project, name, store } => {
            let k = open(&store, home).await?.create_key(&project, &name).await?;
            eprintln!("API key {} for project {} (shown once; store it now):", k.key.id, k.key.project_id);
            println!("{}", k.secret);
        }
        KeysCommand::List { project, store } => {
            println!("ID\tPROJECT\tPREFIX\tCREATED\tLAST-USED\tREVOKED\tNAME");
            for k in open(&store, home).await?.list_keys(project.as_deref()).await? {
                println!(
                    "{}\t{}\t{}…\t{}\t{}\t{}\t{}",
                    k.id,
                    k.project_id,
                    k.prefix,
                    when(Some(k.created_at_ms)),
                    when(k.last_used_at_ms),
                    when(k.revoked_at_ms),
                    k.display_name
                );
            }
        }
        KeysCommand::Revoke { key_id, store } => {
            let k = open(&store, home).await?.revoke_key(&key_id).await?;
            println!("revoked {} ({}…)", k.id, k.prefix);
        }
    }
    Ok(())
}

pub async fn usage(
    project: Option<String>,
    since: Option<String>,
    store: StoreOptions,
    home: &Path,
) -> anyhow::Result<()> {
    println!("DAY(PT)\tPROJECT\tMODEL\tREQUESTS\tPROMPT-TOKENS\tCANDIDATE-TOKENS");
    for r in open(&store, home).await?.usage(project.as_deref(), since.as_deref()).await? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            r.day, r.project_id, r.model, r.requests, r.prompt_tokens, r.candidate_tokens
        );
    }
    Ok(())
}
