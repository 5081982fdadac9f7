//! The one error type of the service layer. Each variant carries the data of one kind of
//! refusal and its `#[error]` writes the message, so no caller composes one; the refusals of one
//! domain are an enum of their own next to the checks that raise them ([`ToolError`],
//! [`SchemaError`], [`ContentError`], …), wrapped here, each naming its field. [`ApiError::code`]
//! is the table of `google.rpc` codes, one line per kind, and [`ApiError::status`] the
//! `google.rpc.Status` envelope (with its details) that every surface answers, whole or as the
//! last event of a stream. How a status becomes an HTTP response is the http layer's
//! (`crate::http::error`).

use std::borrow::Cow;

use gemd_engine::upstream::{MissingRecording, UpstreamError};
use gemd_engine::EngineError;
use gemd_wire::parse::WireError;
use gemd_wire::rpc::{self, Code, Status};
use serde_json::{json, Value};

use super::access::quota_error::{self, QuotaSurface};
use super::admin_input::AdminInputError;
use super::caches::CacheError;
use super::catalog::PageError;
use super::files::FileError;
use super::generation::ContentError;
use super::tools::names::InvalidFunctionName;
use super::tools::schema::SchemaError;
use super::tools::ToolError;
use super::translate::TranslateError;
use super::version::ApiVersion;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")]
    MissingKey,
    #[error("API key not valid. Please pass a valid API key.")]
    InvalidKey,
    /// Two different keys in one request: none may silently win ([`crate::http::auth`]).
    #[error("The request carries more than one API key (in {}). Send one API key.", .places.join(", "))]
    AmbiguousKey { places: Vec<&'static str> },
    #[error("{0}")]
    Wire(#[from] WireError),
    /// A request's tools, calling config or response format refused ([`ToolError`]).
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// A declared function's name that breaks the naming rules.
    #[error(transparent)]
    FunctionName(#[from] InvalidFunctionName),
    /// A schema (parameters, response schema) gemd cannot read or compile.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Message content that is malformed or of a kind the surface does not know.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// A Files API refusal: a file, an upload session or a `fileData` part ([`FileError`]).
    #[error(transparent)]
    File(#[from] FileError),
    /// A context cache refusal: creating, naming or using a `cachedContents` entry.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// A `models.list` page request refused.
    #[error(transparent)]
    Page(#[from] PageError),
    /// An admin body's value refused.
    #[error(transparent)]
    AdminInput(#[from] AdminInputError),
    /// An OpenAI-compatible upstream's refusal, an answer it garbled, or a request its
    /// backend does not take.
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// A constraint the engine's grammar compiler refused before decoding began
    /// (`EngineError::InvalidConstraint`). The message is the compiler's, forwarded as is; kept
    /// apart from [`ApiError::Engine`] because this refusal (the request's fault, found when
    /// the generation starts) carries a `BadRequest` detail like the other checks of a request.
    #[error("{0}")]
    GrammarRefused(String),
    /// A system instruction for an id that has none (the real service's words).
    #[error("Developer instruction is not enabled for models/{model}")]
    SystemInstructionDisabled { model: String, field: String },
    /// A request feature gemd does not implement yet, with what to do instead where there is
    /// something (`advice`).
    #[error("{feature} is not supported on this server yet{}.", .advice.map(|a| format!("; {a}")).unwrap_or_default())]
    NotYetSupported { feature: &'static str, advice: Option<&'static str>, field: &'static str },
    /// A part whose kind (`member`: `fileData`, `executableCode`, …) the backend cannot read.
    #[error("Part type \"{member}\" is not supported by models/{model} on this server yet (backend {backend}).")]
    PartUnsupported { member: &'static str, model: String, backend: String, field: String },
    /// An answer modality other than text.
    #[error("Response modality {modality} is not supported by models/{model}; only TEXT is.")]
    ModalityUnsupported { modality: String, model: String },
    /// An input of type `mime` (image, audio, …) the text-only backend cannot see.
    #[error("Unable to process input {} ({mime}): models/{model} is served by the text-only backend {backend} on this server.", media_kind(.mime))]
    MediaUnsupported { mime: String, model: String, backend: String, field: String },
    /// An output cap outside `[1, limit]` (the real service's words; its bound is exclusive).
    #[error("Unable to submit request because it has a maxOutputTokens value of {requested} but the supported range is from 1 (inclusive) to {} (exclusive). Update the value and try again.", .limit + 1)]
    OutputCapOutOfRange { requested: i64, limit: i64, field: String },
    #[error("Request payload size exceeds the limit: {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    /// A body the transport could not read (cut off, malformed framing); `cause` is the
    /// transport error's own words, which the service layer cannot name by type (no axum).
    #[error("Could not read the request body: {cause}")]
    BodyUnreadable { cause: String },
    /// An admin body that is not the JSON its call takes.
    #[error("Invalid JSON payload received. {0}")]
    InvalidJson(#[source] serde_json::Error),
    /// An id that does not serve `method` (or no id at all), in the real service's words.
    #[error("models/{model} is not found for API version {version}, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods.")]
    ModelNotFound { model: String, version: ApiVersion, method: String },
    /// `models.get` of an id the catalog does not hold.
    #[error("models/{model} is not found for API version {version}")]
    UnknownModel { model: String, version: ApiVersion },
    #[error("API version {version} is not served; use v1beta or v1.")]
    VersionNotServed { version: String },
    /// A path no route serves.
    #[error("Method not found: {path}")]
    MethodNotFound { path: String },
    /// `POST models/{name}` with no `:{method}` part.
    #[error("Method not found: POST models/{name}. Use models/{{model}}:generateContent.")]
    NoModelMethod { name: String },
    /// `POST /admin/v1/keys/{name}` that is not `{id}:revoke`.
    #[error("Method not found: POST /admin/v1/keys/{name}. Use keys/{{id}}:revoke.")]
    NoKeyAction { name: String },
    #[error("Project {id} not found.")]
    ProjectNotFound { id: String },
    /// Something else the store does not hold (`what` names it).
    #[error("{what} not found.")]
    NotFound { what: String },
    /// An admin call that would create something that exists (`what` says what).
    #[error("{what}")]
    AlreadyExists { what: String },
    /// A quota limit of the caller's project is exhausted (429 RESOURCE_EXHAUSTED).
    #[error("{}", quota_error::message(*.surface, .model, *.paid, .violations))]
    QuotaExceeded { surface: QuotaSurface, model: String, paid: bool, violations: Vec<gemd_quota::Violation> },
    /// A dependency (key store, shared quota state) cannot be reached.
    #[error("The {0} is currently unavailable.")]
    Unavailable(Dependency),
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// The admin API's refusal of a missing, wrong or expired admin credential.
    #[error("{0}")]
    Unauthenticated(AdminRefusal),
    /// Too many wrong admin tokens from this client or in all (429, with `Retry-After`).
    #[error("Too many wrong admin tokens. Retry in {retry_after_secs} s.")]
    SignInThrottled { retry_after_secs: u64 },
    /// No backend of a routed id could answer; each one's failure, in the order tried, is
    /// logged and decides the code (every key rate-limited: 429; every backend too slow:
    /// 504; else 503). The message names the backends tried, not their addresses.
    #[error("models/{model} is currently unavailable: no backend could answer (tried {}).", .failures.iter().map(upstream_backend).collect::<Vec<_>>().join(", "))]
    NoBackend { model: String, failures: Vec<UpstreamError> },
    /// A replaying backend has no recording of the request; the message names the file it
    /// looked for.
    #[error(transparent)]
    NotRecorded(MissingRecording),
    /// An upstream broke off an answer it had started: the last event of the stream.
    #[error("The answer was cut off: backend {} stopped sending it.", upstream_backend(.0))]
    UpstreamCut(UpstreamError),
    /// The call ran past its deadline (the client's `X-Server-Timeout`, or the server's own
    /// limit) and was cancelled, upstream requests and local generation with it. The message
    /// is Google's canonical text for the code (UNCONFIRMED as the Gemini API's exact words).
    #[error("Deadline expired before operation could complete.")]
    DeadlineExceeded,
    /// An `X-Server-Timeout` header that is not a positive number of seconds.
    #[error("Invalid X-Server-Timeout header {value:?}: expected a positive number of seconds.")]
    InvalidServerTimeout { value: String },
}

fn upstream_backend(e: &UpstreamError) -> &str {
    match e {
        UpstreamError::Unavailable { backend, .. }
        | UpstreamError::Timeout { backend, .. }
        | UpstreamError::RateLimited { backend, .. }
        | UpstreamError::Cut { backend, .. }
        | UpstreamError::Config { backend, .. } => backend,
        UpstreamError::NotRecorded(m) => &m.backend,
    }
}

/// The code of a routed request no backend answered.
fn no_backend_code(failures: &[UpstreamError]) -> Code {
    if !failures.is_empty() && failures.iter().all(|f| matches!(f, UpstreamError::RateLimited { .. })) {
        Code::ResourceExhausted
    } else if !failures.is_empty() && failures.iter().all(|f| matches!(f, UpstreamError::Timeout { .. })) {
        Code::DeadlineExceeded
    } else {
        Code::Unavailable
    }
}

/// What cannot be reached, as the refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Dependency {
    /// The key store or the quota state behind a request.
    #[error("service")]
    Service,
    /// The quota state the console's dashboard reads.
    #[error("quota state")]
    QuotaState,
}

/// Why an admin credential is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdminRefusal {
    #[error("The admin API needs `Authorization: Bearer <session or admin token>`.")]
    NoCredential,
    #[error("The admin token is not valid.")]
    WrongToken,
    #[error("The admin credential is not valid. Sign in with the admin token.")]
    InvalidCredential,
    #[error("Your console sign-in has expired. Sign in again with the admin token.")]
    Expired,
}

fn media_kind(mime: &str) -> &'static str {
    if mime.starts_with("image/") {
        "image"
    } else {
        "media"
    }
}

/// What an internal failure says to the client: never the detail, which is logged.
const INTERNAL_MESSAGE: &str =
    "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting";

impl From<gemd_store::StoreError> for ApiError {
    fn from(e: gemd_store::StoreError) -> Self {
        use gemd_store::StoreError;
        match e {
            StoreError::NotFound(what) => ApiError::NotFound { what },
            StoreError::Conflict(what) => ApiError::AlreadyExists { what },
            StoreError::Backend(_) | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "key store failure");
                ApiError::Unavailable(Dependency::Service)
            }
        }
    }
}

impl ApiError {
    /// `model` does not serve `method` (or is not served) under `version`.
    pub fn model_not_found(version: ApiVersion, model: &str, method: &str) -> Self {
        ApiError::ModelNotFound { model: model.to_string(), version, method: method.to_string() }
    }

    pub fn project_not_found(id: &str) -> Self {
        ApiError::ProjectNotFound { id: id.to_string() }
    }

    pub fn method_not_found(path: &str) -> Self {
        ApiError::MethodNotFound { path: path.to_string() }
    }

    /// The `google.rpc` code of each kind of refusal: the one table.
    pub fn code(&self) -> Code {
        use ApiError::*;
        match self {
            MissingKey => Code::PermissionDenied,
            InvalidKey | AmbiguousKey { .. } | Wire(_) => Code::InvalidArgument,
            Tool(_) | FunctionName(_) | Schema(_) | Content(_) | Page(_) | AdminInput(_) => Code::InvalidArgument,
            GrammarRefused(_) | BodyUnreadable { .. } => Code::InvalidArgument,
            SystemInstructionDisabled { .. } | MediaUnsupported { .. } => Code::InvalidArgument,
            NotYetSupported { .. } | PartUnsupported { .. } | ModalityUnsupported { .. } => Code::InvalidArgument,
            OutputCapOutOfRange { .. } | InvalidJson(_) | InvalidServerTimeout { .. } => Code::InvalidArgument,
            // Google answers an oversized body INVALID_ARGUMENT; gemd keeps the name and
            // answers HTTP 413 ([`ApiError::http_status`]).
            PayloadTooLarge { .. } => Code::InvalidArgument,
            ModelNotFound { .. } | UnknownModel { .. } | VersionNotServed { .. } => Code::NotFound,
            MethodNotFound { .. } | NoModelMethod { .. } | NoKeyAction { .. } => Code::NotFound,
            ProjectNotFound { .. } | NotFound { .. } | NotRecorded(_) => Code::NotFound,
            AlreadyExists { .. } => Code::AlreadyExists,
            QuotaExceeded { .. } | SignInThrottled { .. } => Code::ResourceExhausted,
            Unavailable(_) => Code::Unavailable,
            Unauthenticated(_) => Code::Unauthenticated,
            NoBackend { failures, .. } => no_backend_code(failures),
            Translate(e) => e.code(),
            File(e) => e.code(),
            Cache(e) => e.code(),
            UpstreamCut(_) => Code::Unavailable,
            DeadlineExceeded => Code::DeadlineExceeded,
            Engine(e) => match e {
                EngineError::Overloaded | EngineError::ShuttingDown => Code::Unavailable,
                EngineError::PromptTooLong { .. }
                | EngineError::PromptTooLongAtLeast { .. }
                | EngineError::InvalidConstraint(_)
                | EngineError::InvalidPrompt(_) => Code::InvalidArgument,
                EngineError::Cancelled => Code::Cancelled,
                EngineError::Internal(_) => Code::Internal,
            },
        }
    }

    /// The HTTP status answered: the code's, except for the one kind gemd answers as HTTP
    /// names it (413 for a body over the limit, with the code's name kept).
    pub fn http_status(&self) -> u16 {
        match self {
            ApiError::PayloadTooLarge { .. } => 413,
            _ => self.code().http(),
        }
    }

    /// The field a refusal of one field names (`google.rpc.BadRequest`): each kind's own.
    pub fn field(&self) -> Option<Cow<'_, str>> {
        match self {
            ApiError::Tool(e) => Some(e.field()),
            ApiError::FunctionName(e) => Some(Cow::Borrowed(&e.field)),
            ApiError::Schema(e) => Some(Cow::Borrowed(e.field())),
            ApiError::Content(e) => Some(Cow::Owned(e.field())),
            ApiError::Page(e) => Some(Cow::Borrowed(e.field())),
            ApiError::File(e) => e.field().map(Cow::Borrowed),
            ApiError::Cache(e) => e.field().map(Cow::Borrowed),
            ApiError::AdminInput(e) => Some(Cow::Borrowed(e.field())),
            ApiError::Translate(e) => e.field().map(Cow::Borrowed),
            ApiError::SystemInstructionDisabled { field, .. }
            | ApiError::MediaUnsupported { field, .. }
            | ApiError::PartUnsupported { field, .. }
            | ApiError::OutputCapOutOfRange { field, .. } => Some(Cow::Borrowed(field)),
            ApiError::NotYetSupported { field, .. } => Some(Cow::Borrowed(field)),
            ApiError::ModalityUnsupported { .. } => Some(Cow::Borrowed("generation_config.response_modalities")),
            _ => None,
        }
    }

    /// Whole seconds the client should wait before retrying, where the refusal says.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::QuotaExceeded { violations, .. } => Some(quota_error::retry_after_secs(violations)),
            ApiError::SignInThrottled { retry_after_secs } => Some(*retry_after_secs),
            ApiError::NoBackend { failures, .. } if no_backend_code(failures) == Code::ResourceExhausted => failures
                .iter()
                .filter_map(|f| match f {
                    UpstreamError::RateLimited { retry_after, .. } => Some(retry_after.as_secs_f64().ceil() as u64),
                    _ => None,
                })
                .min(),
            _ => None,
        }
    }

    /// The `google.rpc.Status` this error is.
    pub fn status(&self) -> Status {
        if let ApiError::QuotaExceeded { surface, model, paid, violations } = self {
            return quota_error::status(*surface, model, *paid, violations);
        }
        let message = match self {
            ApiError::Engine(EngineError::Internal(detail)) => {
                tracing::error!(%detail, "engine failure");
                INTERNAL_MESSAGE.to_string()
            }
            ApiError::File(FileError::Storage(detail)) => {
                tracing::error!(%detail, "file storage failure");
                INTERNAL_MESSAGE.to_string()
            }
            _ => self.to_string(),
        };
        let details = self.details(&message);
        let mut status = Status::new(self.code(), message).with_http(self.http_status());
        status.details = details;
        status
    }

    fn details(&self, message: &str) -> Vec<Value> {
        match self {
            ApiError::InvalidKey => vec![
                rpc::error_info("API_KEY_INVALID", json!({"service": "generativelanguage.googleapis.com"})),
                rpc::localized_message(message),
            ],
            ApiError::Wire(e) => {
                let violations = e.violations();
                vec![rpc::bad_request(violations.iter().map(|v| (v.field.as_deref(), v.description.as_str())))]
            }
            ApiError::Tool(_)
            | ApiError::FunctionName(_)
            | ApiError::Schema(_)
            | ApiError::Content(_)
            | ApiError::Page(_)
            | ApiError::AdminInput(_)
            | ApiError::GrammarRefused(_)
            | ApiError::BodyUnreadable { .. }
            | ApiError::AmbiguousKey { .. }
            | ApiError::InvalidJson(_)
            | ApiError::InvalidServerTimeout { .. }
            | ApiError::SystemInstructionDisabled { .. }
            | ApiError::MediaUnsupported { .. }
            | ApiError::NotYetSupported { .. }
            | ApiError::PartUnsupported { .. }
            | ApiError::ModalityUnsupported { .. }
            | ApiError::OutputCapOutOfRange { .. } => vec![rpc::bad_request([(self.field().as_deref(), message)])],
            ApiError::File(e) if e.code() == Code::InvalidArgument => {
                vec![rpc::bad_request([(self.field().as_deref(), message)])]
            }
            ApiError::Cache(e) if e.code() == Code::InvalidArgument => {
                vec![rpc::bad_request([(self.field().as_deref(), message)])]
            }
            ApiError::Translate(e) if e.code() == Code::InvalidArgument => {
                vec![rpc::bad_request([(self.field().as_deref(), message)])]
            }
            ApiError::NoBackend { .. } => self.retry_after_secs().map(rpc::retry_info).into_iter().collect(),
            _ => Vec::new(),
        }
    }

    /// The body of an error event inside an already-started stream (SSE or JSON array).
    pub fn stream_event_json(&self) -> String {
        serde_json::to_string(&self.status().into_body()).expect("Status serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_body_keeps_googles_name_with_http_413() {
        let s = ApiError::PayloadTooLarge { limit: 10 }.status();
        assert_eq!((s.code, s.status.as_str()), (413, "INVALID_ARGUMENT"));
        assert_eq!(s.message, "Request payload size exceeds the limit: 10 bytes.");
    }

    #[test]
    fn messages_are_written_by_the_variants() {
        let e = ApiError::model_not_found(ApiVersion::V1Beta, "nope", "generateContent");
        assert!(e
            .to_string()
            .starts_with("models/nope is not found for API version v1beta, or is not supported for generateContent."));
        assert_eq!(ApiError::project_not_found("p").to_string(), "Project p not found.");
        assert_eq!(ApiError::Unavailable(Dependency::Service).to_string(), "The service is currently unavailable.");
        let media = ApiError::MediaUnsupported {
            mime: "image/png".into(),
            model: "m".into(),
            backend: "b".into(),
            field: "f".into(),
        };
        assert_eq!(
            media.to_string(),
            "Unable to process input image (image/png): models/m is served by the text-only backend b on this server."
        );
        assert_eq!(media.status().details[0]["fieldViolations"][0]["field"], "f");
        let n = ApiError::NotYetSupported { feature: "n > 1", advice: Some("send one request per choice"), field: "n" };
        assert_eq!(n.to_string(), "n > 1 is not supported on this server yet; send one request per choice.");
        let cached = ApiError::NotYetSupported { feature: "cachedContent", advice: None, field: "cached_content" };
        assert_eq!(cached.to_string(), "cachedContent is not supported on this server yet.");
    }

    #[test]
    fn typed_refusals_name_their_field_in_the_bad_request() {
        let tool: ApiError = ToolError::FunctionMissing { tool: 2 }.into();
        let s = tool.status();
        assert_eq!((s.code, s.status.as_str()), (400, "INVALID_ARGUMENT"));
        assert_eq!(s.details[0]["fieldViolations"][0]["field"], "tools[2].function");
        assert_eq!(s.details[0]["fieldViolations"][0]["description"], s.message.as_str());
        // Forwarded messages name no field, but are still a BadRequest.
        for e in [ApiError::GrammarRefused("bad regex".into()), ApiError::BodyUnreadable { cause: "cut".into() }] {
            let s = e.status();
            assert_eq!((s.code, s.details[0]["fieldViolations"][0].get("field")), (400, None));
        }
        assert_eq!(
            ApiError::BodyUnreadable { cause: "cut".into() }.to_string(),
            "Could not read the request body: cut"
        );
    }

    #[test]
    fn a_deadline_is_googles_504_and_a_bad_deadline_header_a_400() {
        let body = serde_json::to_value(ApiError::DeadlineExceeded.status().into_body()).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": 504, "message": "Deadline expired before operation could complete.", "status": "DEADLINE_EXCEEDED"}})
        );
        let s = ApiError::InvalidServerTimeout { value: "soon".into() }.status();
        assert_eq!((s.code, s.status.as_str()), (400, "INVALID_ARGUMENT"));
        assert_eq!(s.message, "Invalid X-Server-Timeout header \"soon\": expected a positive number of seconds.");
    }

    #[test]
    fn internal_details_stay_in_the_log() {
        let s = ApiError::Engine(EngineError::Internal("secret detail".into())).status();
        assert_eq!((s.code, s.message.as_str()), (500, INTERNAL_MESSAGE));
    }
}
