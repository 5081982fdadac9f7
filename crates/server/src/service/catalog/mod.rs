//! The model catalog: the public model ids gemd answers to, what each one advertises
//! ([`spec`]), and which backend serves it ([`Served`] for generative ids, an
//! [`EmbeddingServed`] for embedding ones). The built-in default is the service guide's model
//! table, every generative id mapped to the embedded local model and every embedding id to the
//! embedded embedder; configuration can add, remove and remap entries. Generative and
//! embedding ids share one namespace.

mod page_error;
mod served;
pub mod spec;

use std::collections::BTreeMap;
use std::sync::Arc;

use gemd_engine::{Embedder, Engine};
use gemd_wire::gemini::Model;

pub use page_error::PageError;
pub use served::Served;
pub use spec::{
    builtin_embedding_models, builtin_models, GenerativeSpec, ModelKind, ModelSpec, ServedBy, DEFAULT_BACKEND,
    DEFAULT_EMBEDDER,
};

use crate::service::embedding::EmbeddingServed;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CatalogError {
    #[error("model {model} names backend \"{backend}\", which is not configured")]
    UnknownBackend { model: String, backend: String },
    #[error("model {model} is {}, but was given with the {} ones", kind_name(*.embedding), kind_name(!*.embedding))]
    WrongKind { model: String, embedding: bool },
    #[error("model id \"{0}\" is defined twice")]
    Duplicate(String),
}

/// What an id or alias names: a generative model or an embedding model (by position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Generative(usize),
    Embedding(usize),
}

/// Every served id, in listing order, with an index of ids and aliases.
#[derive(Clone, Default)]
pub struct Catalog {
    models: Vec<Served>,
    embeddings: Vec<EmbeddingServed>,
    index: BTreeMap<String, Entry>,
}

fn kind_name(embedding: bool) -> &'static str {
    if embedding {
        "an embedding model"
    } else {
        "a generative model"
    }
}

/// Refuses a spec of the other kind than the list it came in.
fn check_kind(spec: &ModelSpec, embedding: bool) -> Result<(), CatalogError> {
    match spec.kind {
        ModelKind::Embedding if !embedding => Err(CatalogError::WrongKind { model: spec.id.clone(), embedding: true }),
        ModelKind::Generative(_) if embedding => {
            Err(CatalogError::WrongKind { model: spec.id.clone(), embedding: false })
        }
        _ => Ok(()),
    }
}

fn bind<B: ?Sized>(backends: &BTreeMap<String, Arc<B>>, model: &str, backend: &str) -> Result<Arc<B>, CatalogError> {
    backends
        .get(backend)
        .cloned()
        .ok_or_else(|| CatalogError::UnknownBackend { model: model.into(), backend: backend.into() })
}

impl Catalog {
    /// A catalog of the generative ids `specs`, each bound to one of `backends`.
    pub fn new(specs: Vec<ModelSpec>, backends: &BTreeMap<String, Arc<dyn Engine>>) -> Result<Self, CatalogError> {
        let mut catalog = Catalog::default();
        for spec in specs {
            check_kind(&spec, false)?;
            let engine = bind(backends, &spec.id, &spec.backend)?;
            catalog.register(&spec.id, &spec.aliases, Entry::Generative(catalog.models.len()))?;
            catalog.models.push(Served { spec: Arc::new(spec), engine });
        }
        Ok(catalog)
    }

    /// This catalog with embedding ids added, each bound to one of `embedders`.
    pub fn with_embeddings(
        mut self,
        specs: Vec<ModelSpec>,
        embedders: &BTreeMap<String, Arc<dyn Embedder>>,
    ) -> Result<Self, CatalogError> {
        for spec in specs {
            check_kind(&spec, true)?;
            let embedder = bind(embedders, &spec.id, &spec.backend)?;
            self.register(&spec.id, &spec.aliases, Entry::Embedding(self.embeddings.len()))?;
            self.embeddings.push(EmbeddingServed { spec: Arc::new(spec), embedder });
        }
        Ok(self)
    }

    fn register(&mut self, id: &String, aliases: &[String], entry: Entry) -> Result<(), CatalogError> {
        for name in std::iter::once(id).chain(aliases) {
            if self.index.insert(name.clone(), entry).is_some() {
                return Err(CatalogError::Duplicate(name.clone()));
            }
        }
        Ok(())
    }

    fn entry(&self, name: &str) -> Option<Entry> {
        self.index.get(name.strip_prefix("models/").unwrap_or(name)).copied()
    }

    /// Looks up a generative model by `models/{id}` or a bare id (or alias).
    pub fn get(&self, name: &str) -> Option<&Served> {
        match self.entry(name)? {
            Entry::Generative(i) => Some(&self.models[i]),
            Entry::Embedding(_) => None,
        }
    }

    /// Looks up an embedding model by `models/{id}` or a bare id (or alias).
    pub fn embedding(&self, name: &str) -> Option<&EmbeddingServed> {
        match self.entry(name)? {
            Entry::Embedding(i) => Some(&self.embeddings[i]),
            Entry::Generative(_) => None,
        }
    }

    /// The generative models, in listing order.
    pub fn models(&self) -> &[Served] {
        &self.models
    }

    pub fn embeddings(&self) -> &[EmbeddingServed] {
        &self.embeddings
    }

    /// Every model as `models.list` shows it: generative ones, then embedding ones.
    pub fn wire_models(&self) -> Vec<Model> {
        let generative = self.models.iter().map(|m| m.spec.to_wire(&m.served_by()));
        generative.chain(self.embeddings.iter().map(|e| e.spec.to_wire(&e.served_by()))).collect()
    }

    /// One model (generative or embedding) as `models.get` shows it.
    pub fn wire_model(&self, name: &str) -> Option<Model> {
        Some(match self.entry(name)? {
            Entry::Generative(i) => self.models[i].spec.to_wire(&self.models[i].served_by()),
            Entry::Embedding(i) => self.embeddings[i].spec.to_wire(&self.embeddings[i].served_by()),
        })
    }

    /// Every served id, generative then embedding (what the dashboard lists).
    pub fn ids(&self) -> Vec<String> {
        let generative = self.models.iter().map(|m| m.spec.id.clone());
        generative.chain(self.embeddings.iter().map(|e| e.spec.id.clone())).collect()
    }
}
