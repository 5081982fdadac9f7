//! The catalog and the quota table gemd serves: gemd-server's built-in ones with the config
//! file's changes (`[[models]]`, `[[embedding_models]]`, `remove_models`, `[quota.TIER.ID]`).

use anyhow::bail;
use gemd_server::ModelSpec;
use gemd_server::QuotaTable;

use crate::config::{CatalogTables, ModelSection};

/// The built-in quota table with this file's overrides.
pub fn quota_table(t: &CatalogTables) -> anyhow::Result<QuotaTable> {
    let mut table = QuotaTable::default();
    for (tier, models) in &t.quota_limits {
        let tier: gemd_store::Tier = tier.parse().map_err(anyhow::Error::msg)?;
        for (model, l) in models {
            table.set(tier, model, gemd_quota::Limits { rpm: l.rpm, tpm: l.tpm, rpd: l.rpd });
        }
    }
    Ok(table)
}

/// The built-in catalog with this file's removals, overrides and additions applied.
pub fn generative(t: &CatalogTables) -> anyhow::Result<Vec<ModelSpec>> {
    let mut specs = gemd_server::builtin_models();
    let embedding_ids: Vec<String> = gemd_server::builtin_embedding_models().into_iter().map(|s| s.id).collect();
    for id in &t.remove_models {
        let before = specs.len();
        specs.retain(|s| &s.id != id);
        if specs.len() == before && !embedding_ids.contains(id) {
            bail!("remove_models names \"{id}\", which is not a built-in model");
        }
    }
    for m in &t.models {
        check_backends("models", m)?;
        let spec = match specs.iter_mut().find(|s| s.id == m.id) {
            Some(existing) => existing,
            None => {
                let mut base =
                    gemd_server::builtin_models().into_iter().find(|s| s.id == "gemma-3-4b-it").expect("built-in");
                base.id = m.id.clone();
                base.aliases.clear();
                base.display_name = m.id.clone();
                base.generative_mut().expect("a generative model").system_instruction = true;
                specs.push(base);
                specs.last_mut().expect("just pushed")
            }
        };
        apply(spec, m);
    }
    Ok(specs)
}

/// The built-in embedding ids with this file's removals, overrides and additions applied
/// (an added id starts as a copy of `gemini-embedding-001` on the default embedder).
pub fn embeddings(t: &CatalogTables) -> anyhow::Result<Vec<ModelSpec>> {
    let mut specs = gemd_server::builtin_embedding_models();
    specs.retain(|s| !t.remove_models.contains(&s.id));
    for m in &t.embedding_models {
        let generative_only = [
            ("output_token_limit", m.output_token_limit.is_some()),
            ("temperature", m.temperature.is_some()),
            ("top_p", m.top_p.is_some()),
            ("top_k", m.top_k.is_some()),
            ("system_instruction", m.system_instruction.is_some()),
            ("min_cache_tokens", m.min_cache_tokens.is_some()),
        ];
        if let Some((key, _)) = generative_only.iter().find(|(_, set)| *set) {
            bail!("embedding_models entry \"{}\": `{key}` applies to generative models only", m.id);
        }
        check_backends("embedding_models", m)?;
        let spec = match specs.iter().position(|s| s.id == m.id) {
            Some(i) => &mut specs[i],
            None => {
                let mut base = gemd_server::builtin_embedding_models().remove(0);
                base.id = m.id.clone();
                base.display_name = m.id.clone();
                specs.push(base);
                specs.last_mut().expect("just pushed")
            }
        };
        apply(spec, m);
    }
    Ok(specs)
}

/// `backend` and `backends` are two spellings of one setting: one of them, and a list that
/// names a backend.
fn check_backends(table: &str, m: &ModelSection) -> anyhow::Result<()> {
    if m.backend.is_some() && m.backends.is_some() {
        bail!("{table} entry \"{}\": give `backend` or `backends`, not both", m.id);
    }
    if m.backends.as_ref().is_some_and(Vec::is_empty) {
        bail!("{table} entry \"{}\": `backends` names no backend", m.id);
    }
    Ok(())
}

/// Sets what the entry gives; the generative settings only on a generative id (the caller
/// refuses them on an embedding one).
fn apply(spec: &mut ModelSpec, m: &ModelSection) {
    macro_rules! set {
        ($field:ident) => {
            if let Some(v) = &m.$field {
                spec.$field = v.clone();
            }
        };
    }
    set!(backend);
    if let Some(list) = &m.backends {
        spec.backend = list[0].clone();
        spec.fallbacks = list[1..].to_vec();
    }
    set!(aliases);
    set!(display_name);
    set!(version);
    set!(input_token_limit);
    if let Some(g) = spec.generative_mut() {
        macro_rules! set_generative {
            ($field:ident) => {
                if let Some(v) = &m.$field {
                    g.$field = v.clone();
                }
            };
        }
        set_generative!(output_token_limit);
        // A lower configured cap lowers answers; a higher one also raises what requests may ask.
        g.accepted_output_tokens = g.accepted_output_tokens.max(g.output_token_limit);
        set_generative!(temperature);
        set_generative!(top_p);
        set_generative!(top_k);
        set_generative!(system_instruction);
        set_generative!(min_cache_tokens);
    }
    if m.description.is_some() {
        spec.description = m.description.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn models_can_be_added_changed_and_removed() {
        let c: Config = toml::from_str(
            r#"
            remove_models = ["gemini-3-pro-preview"]
            [[models]]
            id = "gemini-2.5-flash"
            output_token_limit = 1024
            [[models]]
            id = "my-model"
            backend = "other"
            "#,
        )
        .unwrap();
        let specs = generative(&c.catalog_tables()).unwrap();
        assert!(!specs.iter().any(|s| s.id == "gemini-3-pro-preview"));
        assert_eq!(
            specs.iter().find(|s| s.id == "gemini-2.5-flash").unwrap().generative().unwrap().output_token_limit,
            1024
        );
        assert_eq!(specs.iter().find(|s| s.id == "my-model").unwrap().backend, "other");
    }

    #[test]
    fn embedding_ids_can_be_added_changed_and_removed() {
        let c: Config = toml::from_str(
            r#"
            remove_models = ["text-embedding-004"]
            [embedders.bge]
            model = "bge-small"
            [[embedding_models]]
            id = "gemini-embedding-001"
            backend = "bge"
            [[embedding_models]]
            id = "my-embedder"
            aliases = ["mine"]
            "#,
        )
        .unwrap();
        let specs = embeddings(&c.catalog_tables()).unwrap();
        assert!(!specs.iter().any(|s| s.id == "text-embedding-004"));
        assert_eq!(specs.iter().find(|s| s.id == "gemini-embedding-001").unwrap().backend, "bge");
        let mine = specs.iter().find(|s| s.id == "my-embedder").unwrap();
        assert_eq!(
            (mine.backend.as_str(), mine.aliases.clone()),
            (gemd_server::DEFAULT_EMBEDDER, vec!["mine".to_string()])
        );
        assert!(generative(&c.catalog_tables()).is_ok(), "removing an embedding id is a valid removal");
        let bad: Config = toml::from_str("[[embedding_models]]\nid = \"e\"\ntemperature = 1.0").unwrap();
        assert!(embeddings(&bad.catalog_tables()).is_err());
    }

    #[test]
    fn embedding_ids_take_an_ordered_list_of_backends() {
        let c: Config =
            toml::from_str("[[embedding_models]]\nid = \"gemini-embedding-001\"\nbackends = [\"google\", \"default\"]")
                .unwrap();
        let specs = embeddings(&c.catalog_tables()).unwrap();
        let spec = specs.iter().find(|s| s.id == "gemini-embedding-001").unwrap();
        assert_eq!((spec.backend.as_str(), spec.fallbacks.clone()), ("google", vec!["default".to_string()]));
        let both: Config =
            toml::from_str("[[embedding_models]]\nid = \"e\"\nbackend = \"a\"\nbackends = [\"b\"]").unwrap();
        assert!(embeddings(&both.catalog_tables()).is_err(), "one spelling or the other");
    }

    #[test]
    fn unknown_keys_and_bad_removals_are_errors() {
        assert!(toml::from_str::<Config>("prot = 1").is_err());
        let c: Config = toml::from_str("remove_models = [\"nope\"]").unwrap();
        assert!(generative(&c.catalog_tables()).is_err());
    }
}
