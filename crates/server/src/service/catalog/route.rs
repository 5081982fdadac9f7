//! A generative id served by an ordered list of backends (`backends = ["a", "b"]`), or by an
//! upstream at all: the first that can answer does. A hop is a local engine (the id's
//! [`Served`] on it) or an upstream server. Ids served by one local engine alone stay plain
//! [`Served`] entries, so their path is unchanged.

use std::sync::Arc;

use gemd_engine::upstream::{Upstream, UpstreamProtocol};

use super::spec::{ModelSpec, ServedBy};
use super::Served;

/// One backend of a route.
#[derive(Clone)]
pub enum Hop {
    Local(Served),
    /// An upstream server: a Gemini-API one (Google, another gemd) gets native requests as
    /// they came; an OpenAI-compatible one gets them translated to chat completions.
    Upstream(Arc<Upstream>),
}

impl Hop {
    /// The backend's name, as `x-gemd-backend` says it.
    pub fn name(&self) -> String {
        match self {
            Hop::Local(served) => served.backend_name(),
            Hop::Upstream(upstream) => upstream.name().to_string(),
        }
    }
}

#[derive(Clone)]
pub struct Route {
    pub spec: Arc<ModelSpec>,
    pub hops: Vec<Hop>,
}

impl Route {
    /// The first local hop, which the surfaces that only run locally use.
    pub fn local(&self) -> Option<&Served> {
        self.hops.iter().find_map(|h| match h {
            Hop::Local(s) => Some(s),
            Hop::Upstream(_) => None,
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
                output_token_limit: self.spec.generative().map_or(0, |g| g.output_token_limit),
            },
        }
    }
}
