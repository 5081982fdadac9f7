//! What a surface asks of a generation, in no surface's words: the sampling options, the output
//! cap, stop sequences, seed and penalties ([`GenerateOptions`]) and the answer's shape
//! ([`Plan`]). Each surface reads its own request into a [`GenerateRequest`]; only
//! [`GenerateRequest::validate`] turns one into the [`ValidGenerateRequest`] a generation
//! starts from (as text-generation-inference's `ValidGenerateRequest`), with the served
//! model's defaults filled in and its caps applied, so an unchecked request cannot run.

use gemd_engine::SamplingParams;

use crate::service::catalog::Served;
use crate::service::error::ApiError;
use crate::service::tools::Plan;

/// The options of a generation as the request gave them (unset: the model's defaults).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerateOptions {
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<i64>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub stop_sequences: Vec<String>,
    pub max_output_tokens: Option<i64>,
    /// The request path of the output cap (`generation_config.max_output_tokens`,
    /// `max_tokens`), named when it is refused.
    pub cap_field: &'static str,
}

/// A generation as a surface asks for it, before any check against the model.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    pub options: GenerateOptions,
    pub plan: Plan,
}

/// A generation checked against the model that will run it: the engine's parameters, with
/// every default and cap applied, and the answer's shape. Only [`GenerateRequest::validate`]
/// makes one.
#[derive(Debug)]
pub struct ValidGenerateRequest {
    params: SamplingParams,
    plan: Plan,
}

impl GenerateRequest {
    /// Checks the request against `served` and fills in its defaults.
    pub fn validate(self, served: &Served) -> Result<ValidGenerateRequest, ApiError> {
        let o = self.options;
        let g = served.generation();
        let params = SamplingParams {
            temperature: Some(o.temperature.map(|t| t as f32).unwrap_or(g.temperature)),
            top_p: Some(o.top_p.map(|p| p as f32).unwrap_or(g.top_p)),
            top_k: Some(o.top_k.filter(|k| *k > 0).map(|k| k.min(i32::MAX as i64) as i32).unwrap_or(g.top_k as i32)),
            // Proto `seed` is int32; any value maps to a distinct u32 seed.
            seed: o.seed.map(|s| s as u32),
            presence_penalty: o.presence_penalty.map(|p| p as f32),
            frequency_penalty: o.frequency_penalty.map(|p| p as f32),
            stop_sequences: o.stop_sequences,
            max_output_tokens: output_cap(o.max_output_tokens, served, o.cap_field)?,
            constraint: None,
            priority: Default::default(),
        };
        Ok(ValidGenerateRequest { params, plan: self.plan })
    }
}

impl ValidGenerateRequest {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub(super) fn into_parts(self) -> (SamplingParams, Plan) {
        (self.params, self.plan)
    }
}

/// The most tokens a request may write. The rule, Google's where Google has one:
/// - absent: what the backend can write (the models listing's `outputTokenLimit`);
/// - outside `[1, the id's output limit]` (the real service's, or a higher configured one):
///   refused,
///   400 INVALID_ARGUMENT in the real service's words (values that are not int32, such as
///   `1e12`, were already refused by the parser, as Google's parser does);
/// - within that range but above what this backend can write (its context per sequence is
///   smaller than the real model's output limit, or the configuration caps answers lower):
///   lowered to what it can write, so a request
///   the real service takes is taken here too, and ends `MAX_TOKENS` where the backend must stop.
///
/// Rejected alternative: refusing above the listing's (smaller) `outputTokenLimit` would answer
/// 400 to clients that send the real model's documented maximum (65,536 for Gemini 3 Flash)
/// to a server whose context is 8,192 tokens.
fn output_cap(requested: Option<i64>, served: &Served, field: &str) -> Result<u32, ApiError> {
    let writable = served.output_token_limit();
    let Some(n) = requested else { return Ok(writable) };
    let limit = i64::from(served.generation().accepted_output_tokens);
    if !(1..=limit).contains(&n) {
        return Err(ApiError::OutputCapOutOfRange { requested: n, limit, field: field.to_string() });
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX).min(writable))
}
