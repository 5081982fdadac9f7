//! An id served by an ordered list of backends (`backends = ["a", "b"]`), or by an upstream
//! at all: the first that can answer does. A hop is a local backend (the id's [`Served`] on
//! an engine, or its [`EmbeddingServed`] on an embedder) or an upstream server. Ids served by
//! one local backend alone stay plain entries, so their path is unchanged.

use std::sync::Arc;

use gemd_engine::upstream::{Upstream, UpstreamProtocol};

use super::spec::{ModelSpec, ServedBy};
use super::Served;
use crate::service::embedding::EmbeddingServed;

/// A local backend bound to an id: what a hop needs of it.
pub trait LocalBackend {
    /// Its name, as `x-gemd-backend` says it.
    fn backend_name(&self) -> String;
    fn served_by(&self) -> ServedBy;
}

impl LocalBackend for Served {
    fn backend_name(&self) -> String {
        Served::backend_name(self)
    }

    fn served_by(&self) -> ServedBy {
        Served::served_by(self)
    }
}

impl LocalBackend for EmbeddingServed {
    fn backend_name(&self) -> String {
        EmbeddingServed::backend_name(self).to_string()
    }

    fn served_by(&self) -> ServedBy {
        EmbeddingServed::served_by(self)
    }
}

/// One backend of a route.
#[derive(Clone)]
pub enum Hop<L = Served> {
    Local(L),
    /// An upstream server: a Gemini-API one (Google, another gemd) gets native requests as
    /// they came; an OpenAI-compatible one gets them translated to chat completions (or
    /// embeddings).
    Upstream(Arc<Upstream>),
}

impl<L: LocalBackend> Hop<L> {
    /// The backend's name, as `x-gemd-backend` says it.
    pub fn name(&self) -> String {
        match self {
            Hop::Local(local) => local.backend_name(),
            Hop::Upstream(upstream) => upstream.name().to_string(),
        }
    }
}

/// A generative id's backends, in order.
pub type Route = Routed<Served>;
/// An embedding id's backends, in order.
pub type EmbeddingRoute = Routed<EmbeddingServed>;

#[derive(Clone)]
pub struct Routed<L> {
    pub spec: Arc<ModelSpec>,
    pub hops: Vec<Hop<L>>,
}

impl<L: LocalBackend> Routed<L> {
    /// The first local hop, which the surfaces that only run locally use.
    pub fn local(&self) -> Option<&L> {
        self.hops.iter().find_map(|h| match h {
            Hop::Local(s) => Some(s),
            Hop::Upstream(_) => None,
        })
    }

    /// The upstreams among the hops.
    pub fn upstreams(&self) -> impl Iterator<Item = &Arc<Upstream>> {
        self.hops.iter().filter_map(|h| match h {
            Hop::Upstream(u) => Some(u),
            Hop::Local(_) => None,
        })
    }

    /// What the listing says: the first backend's limits and who it is.
    pub fn served_by(&self) -> ServedBy {
        let names: Vec<String> = self.hops.iter().map(Hop::name).collect();
        match &self.hops[0] {
            Hop::Local(served) => {
                let mut by = served.served_by();
                by.sentence = format!("{} Backends, in order: {}.", by.sentence, names.join(", "));
                by
            }
            Hop::Upstream(upstream) => ServedBy {
                sentence: format!(
                    "Served through the {} upstream {} (as {}); backends, in order: {}.",
                    match upstream.protocol() {
                        UpstreamProtocol::Gemini => "Gemini API",
                        UpstreamProtocol::OpenAi => "OpenAI-compatible",
                    },
                    upstream.name(),
                    upstream.transport().upstream_model(&self.spec.id),
                    names.join(", ")
                ),
                input_token_limit: self.spec.input_token_limit,
                // An embedding id's one "output" is its vector, as for a local embedder.
                output_token_limit: self.spec.generative().map_or(1, |g| g.output_token_limit),
            },
        }
    }
}
