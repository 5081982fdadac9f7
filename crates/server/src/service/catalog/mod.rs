//! The model catalog: the public model ids gemd answers to, what each one advertises
//! ([`spec`]), and which backend serves it ([`Served`] for generative ids, an
//! [`EmbeddingServed`] for embedding ones). The built-in default is the service guide's model
//! table, every generative id mapped to the embedded local model and every embedding id to the
//! embedded embedder; configuration can add, remove and remap entries, and give an id an
//! ordered list of backends, upstream servers among them ([`Route`]). Generative and
//! embedding ids share one namespace.

mod page_error;
mod route;
mod served;
pub mod spec;

use std::collections::BTreeMap;
use std::sync::Arc;

use gemd_engine::upstream::Upstream;
use gemd_engine::{Embedder, Engine};
use gemd_wire::gemini::Model;

pub use page_error::PageError;
pub use route::{EmbeddingRoute, Hop, LocalBackend, Route, Routed};
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
    #[error(
        "embedding model {model} names the upstream \"{backend}\", whose capabilities do not list \"embeddings\" \
         (add it to that backend's `capabilities` if its model embeds)"
    )]
    NoEmbeddings { model: String, backend: String },
}

/// What an id or alias names: a generative model on one local engine, a routed generative
/// model, an embedding model on one local embedder, or a routed embedding model (by position).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Generative(usize),
    Routed(usize),
    Embedding(usize),
    RoutedEmbedding(usize),
}

/// Every served id, in listing order, with an index of ids and aliases.
#[derive(Clone, Default)]
pub struct Catalog {
    models: Vec<Served>,
    routes: Vec<Route>,
    embeddings: Vec<EmbeddingServed>,
    embedding_routes: Vec<EmbeddingRoute>,
    /// Listing order of the embedding ids (local and routed alike), as configured.
    embedding_order: Vec<Entry>,
    index: BTreeMap<String, Entry>,
    /// Listing order of the generative ids (local and routed alike), as configured.
    generative_order: Vec<Entry>,
}

/// The backends a catalog binds ids to, by name.
#[derive(Clone, Default)]
pub struct Backends {
    pub engines: BTreeMap<String, Arc<dyn Engine>>,
    pub upstreams: BTreeMap<String, Arc<Upstream>>,
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

impl Catalog {
    /// A catalog of the generative ids `specs`, each bound to one of the local `engines`.
    pub fn new(specs: Vec<ModelSpec>, engines: &BTreeMap<String, Arc<dyn Engine>>) -> Result<Self, CatalogError> {
        Self::with_backends(specs, &Backends { engines: engines.clone(), upstreams: BTreeMap::new() })
    }

    /// A catalog of the generative ids `specs`, each bound to its backends: one local engine
    /// (a plain entry), or an ordered list that may name upstreams (a [`Route`]).
    pub fn with_backends(specs: Vec<ModelSpec>, backends: &Backends) -> Result<Self, CatalogError> {
        let mut catalog = Catalog::default();
        for spec in specs {
            check_kind(&spec, false)?;
            let spec = Arc::new(spec);
            let mut hops = Vec::new();
            for name in std::iter::once(&spec.backend).chain(&spec.fallbacks) {
                hops.push(match (backends.engines.get(name), backends.upstreams.get(name)) {
                    (Some(engine), _) => Hop::Local(Served { spec: spec.clone(), engine: engine.clone() }),
                    (None, Some(upstream)) => Hop::Upstream(upstream.clone()),
                    (None, None) => {
                        return Err(CatalogError::UnknownBackend { model: spec.id.clone(), backend: name.clone() })
                    }
                });
            }
            let entry = match hops.as_slice() {
                [Hop::Local(served)] => {
                    catalog.models.push(served.clone());
                    Entry::Generative(catalog.models.len() - 1)
                }
                _ => {
                    catalog.routes.push(Route { spec: spec.clone(), hops });
                    Entry::Routed(catalog.routes.len() - 1)
                }
            };
            catalog.register(&spec.id, &spec.aliases, entry)?;
            catalog.generative_order.push(entry);
        }
        Ok(catalog)
    }

    /// This catalog with embedding ids added, each bound to its backends: one local embedder
    /// (a plain entry), or an ordered list that may name upstreams whose capabilities include
    /// embeddings (an [`EmbeddingRoute`]).
    pub fn with_embeddings(
        mut self,
        specs: Vec<ModelSpec>,
        embedders: &BTreeMap<String, Arc<dyn Embedder>>,
        upstreams: &BTreeMap<String, Arc<Upstream>>,
    ) -> Result<Self, CatalogError> {
        for spec in specs {
            check_kind(&spec, true)?;
            let spec = Arc::new(spec);
            let mut hops = Vec::new();
            for name in std::iter::once(&spec.backend).chain(&spec.fallbacks) {
                hops.push(match (embedders.get(name), upstreams.get(name)) {
                    (Some(embedder), _) => {
                        Hop::Local(EmbeddingServed { spec: spec.clone(), embedder: embedder.clone() })
                    }
                    (None, Some(upstream)) if upstream.transport().capabilities().embeddings => {
                        Hop::Upstream(upstream.clone())
                    }
                    (None, Some(_)) => {
                        return Err(CatalogError::NoEmbeddings { model: spec.id.clone(), backend: name.clone() })
                    }
                    (None, None) => {
                        return Err(CatalogError::UnknownBackend { model: spec.id.clone(), backend: name.clone() })
                    }
                });
            }
            let entry = match hops.as_slice() {
                [Hop::Local(served)] => {
                    self.embeddings.push(served.clone());
                    Entry::Embedding(self.embeddings.len() - 1)
                }
                _ => {
                    self.embedding_routes.push(EmbeddingRoute { spec: spec.clone(), hops });
                    Entry::RoutedEmbedding(self.embedding_routes.len() - 1)
                }
            };
            self.register(&spec.id, &spec.aliases, entry)?;
            self.embedding_order.push(entry);
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

    /// Looks up a generative model on a local engine, by `models/{id}` or a bare id (or
    /// alias): for a routed id, its first local backend (what the surfaces that only run
    /// locally use; the native one asks [`Catalog::route`] first).
    pub fn get(&self, name: &str) -> Option<&Served> {
        match self.entry(name)? {
            Entry::Generative(i) => Some(&self.models[i]),
            Entry::Routed(i) => self.routes[i].local(),
            Entry::Embedding(_) | Entry::RoutedEmbedding(_) => None,
        }
    }

    /// Looks up a generative model served by a list of backends or an upstream.
    pub fn route(&self, name: &str) -> Option<&Route> {
        match self.entry(name)? {
            Entry::Routed(i) => Some(&self.routes[i]),
            _ => None,
        }
    }

    /// Looks up an embedding model on one local embedder by `models/{id}` or a bare id (or
    /// alias).
    pub fn embedding(&self, name: &str) -> Option<&EmbeddingServed> {
        match self.entry(name)? {
            Entry::Embedding(i) => Some(&self.embeddings[i]),
            _ => None,
        }
    }

    /// Looks up an embedding model served by a list of backends or an upstream.
    pub fn embedding_route(&self, name: &str) -> Option<&EmbeddingRoute> {
        match self.entry(name)? {
            Entry::RoutedEmbedding(i) => Some(&self.embedding_routes[i]),
            _ => None,
        }
    }

    /// Whether `name` is an embedding id, however it is served.
    pub fn is_embedding(&self, name: &str) -> bool {
        matches!(self.entry(name), Some(Entry::Embedding(_) | Entry::RoutedEmbedding(_)))
    }

    /// The generative models served by one local engine each, in listing order.
    pub fn models(&self) -> &[Served] {
        &self.models
    }

    /// The routed generative models, in listing order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Every id on a local engine, plain or as a hop of a route (an engine may repeat).
    pub fn local_served(&self) -> impl Iterator<Item = &Served> {
        let hops = self.routes.iter().flat_map(|r| r.hops.iter());
        self.models.iter().chain(hops.filter_map(|h| match h {
            Hop::Local(s) => Some(s),
            Hop::Upstream(_) => None,
        }))
    }

    /// Every upstream some route uses (one may repeat).
    pub fn upstreams(&self) -> impl Iterator<Item = &Arc<Upstream>> {
        let generative = self.routes.iter().flat_map(Routed::upstreams);
        generative.chain(self.embedding_routes.iter().flat_map(Routed::upstreams))
    }

    pub fn embeddings(&self) -> &[EmbeddingServed] {
        &self.embeddings
    }

    /// Every model as `models.list` shows it: generative ones (in configured order), then
    /// embedding ones.
    pub fn wire_models(&self) -> Vec<Model> {
        self.generative_order.iter().chain(&self.embedding_order).map(|e| self.wire_entry(*e)).collect()
    }

    /// One model (generative or embedding) as `models.get` shows it.
    pub fn wire_model(&self, name: &str) -> Option<Model> {
        Some(self.wire_entry(self.entry(name)?))
    }

    fn wire_entry(&self, entry: Entry) -> Model {
        match entry {
            Entry::Generative(i) => self.models[i].spec.to_wire(&self.models[i].served_by()),
            Entry::Routed(i) => self.routes[i].spec.to_wire(&self.routes[i].served_by()),
            Entry::Embedding(i) => self.embeddings[i].spec.to_wire(&self.embeddings[i].served_by()),
            Entry::RoutedEmbedding(i) => self.embedding_routes[i].spec.to_wire(&self.embedding_routes[i].served_by()),
        }
    }

    fn entry_id(&self, entry: Entry) -> &str {
        match entry {
            Entry::Generative(i) => &self.models[i].spec.id,
            Entry::Routed(i) => &self.routes[i].spec.id,
            Entry::Embedding(i) => &self.embeddings[i].spec.id,
            Entry::RoutedEmbedding(i) => &self.embedding_routes[i].spec.id,
        }
    }

    /// Every served id, generative (in configured order) then embedding (what the dashboard
    /// lists).
    pub fn ids(&self) -> Vec<String> {
        self.generative_order.iter().chain(&self.embedding_order).map(|e| self.entry_id(*e).to_string()).collect()
    }
}
