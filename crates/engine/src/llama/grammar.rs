//! Compiles requests' [`Constraint`]s into llguidance `Matcher`s for this model's vocabulary,
//! on a small pool of dedicated threads, then hands each job on to the engine thread.
//!
//! Why a pool: compiling is CPU work of up to a second at the schema limits, and llguidance's
//! compilers recurse once per property and per level: a 7,000-property schema overflowed the
//! 2 MiB stack of the tokio worker that used to compile it, aborting the whole process. The
//! compile threads have [`COMPILE_STACK_BYTES`] of stack (virtual; measured need at the
//! schema limits: at most 223 KiB), at most [`COMPILE_THREADS`] grammars compile at once, and the queue
//! in front of them is bounded (a full queue is `Overloaded`, as a full engine queue is).
//! Rejected: `spawn_blocking` (2 MiB stacks too, and up to 512 threads of unbounded CPU work);
//! compiling on the engine thread (one large schema would stall every running stream).
//!
//! A grammar that fails to compile fails its request with `InvalidConstraint` as the first
//! event (the server awaits it before answering, so it is still a plain 400); a job whose
//! client left while it waited or compiled is dropped. The token trie behind the compiler
//! walks the whole vocabulary once, so it is built by the first constrained request, here.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llguidance::{Matcher, ParserFactory};

use super::metrics::{add, sub, Counters};
use super::scheduler::Job;
use crate::api::{Constraint, EngineError, Event};
use crate::constraint::{compile, configure, COMPILE_STACK_BYTES};

/// Grammars compiled at once: enough that one slow schema does not hold up every other
/// constrained request, few enough to leave the cores to decoding.
pub const COMPILE_THREADS: usize = 2;

/// A job waiting for its grammar, and where it goes once compiled.
struct Task {
    job: Job,
    engine: Sender<Job>,
}

/// What the compile threads share.
struct Compiler {
    model: Arc<LlamaModel>,
    factory: OnceLock<Result<ParserFactory, String>>,
    counters: Arc<Counters>,
}

pub struct Grammars {
    tasks: Mutex<Option<SyncSender<Task>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Grammars {
    /// Starts the compile threads; at most `queue` jobs wait for one.
    pub fn start(model: Arc<LlamaModel>, counters: Arc<Counters>, queue: usize) -> Result<Self, EngineError> {
        let (tx, rx) = mpsc::sync_channel::<Task>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let compiler = Arc::new(Compiler { model, factory: OnceLock::new(), counters });
        let threads = (0..COMPILE_THREADS)
            .map(|i| {
                let (rx, compiler) = (Arc::clone(&rx), Arc::clone(&compiler));
                std::thread::Builder::new()
                    .name(format!("gemd-grammar-{i}"))
                    .stack_size(COMPILE_STACK_BYTES)
                    .spawn(move || work(&rx, &compiler))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Internal(format!("spawning the grammar threads: {e}")))?;
        Ok(Grammars { tasks: Mutex::new(Some(tx)), threads: Mutex::new(threads) })
    }

    /// Queues `job` (which has a constraint) for compiling; once compiled it is sent to
    /// `engine`. Never blocks: a full queue is `Overloaded`.
    pub fn submit(&self, job: Job, engine: Sender<Job>) -> Result<(), EngineError> {
        let tasks = self.tasks.lock().expect("grammar queue lock");
        let Some(tasks) = tasks.as_ref() else { return Err(EngineError::ShuttingDown) };
        tasks.try_send(Task { job, engine }).map_err(|e| match e {
            TrySendError::Full(_) => EngineError::Overloaded,
            TrySendError::Disconnected(_) => EngineError::ShuttingDown,
        })
    }

    /// Compiles and hands on what is queued, then stops the threads.
    pub fn shutdown(&self) {
        self.tasks.lock().expect("grammar queue lock").take();
        for thread in self.threads.lock().expect("grammar threads lock").drain(..) {
            let _ = thread.join();
        }
    }
}

fn work(tasks: &Mutex<Receiver<Task>>, compiler: &Compiler) {
    loop {
        // The lock is held only while waiting, never while compiling.
        let task = tasks.lock().expect("grammar queue lock").recv();
        let Ok(Task { mut job, engine }) = task else { return };
        if job.events.is_closed() {
            // The client left while the job waited.
            drop_job(compiler, &job);
            continue;
        }
        if let Some(constraint) = &job.params.constraint {
            match compiler.matcher(constraint) {
                Ok(matcher) => job.grammar = Some(matcher),
                Err(_) if job.events.is_closed() => {
                    drop_job(compiler, &job);
                    continue;
                }
                Err(e) => {
                    sub(&compiler.counters.queued, 1);
                    let _ = job.events.send(Event::Failed(e));
                    continue;
                }
            }
        }
        if job.events.is_closed() {
            drop_job(compiler, &job);
        } else if let Err(mpsc::SendError(job)) = engine.send(job) {
            sub(&compiler.counters.queued, 1);
            let _ = job.events.send(Event::Failed(EngineError::ShuttingDown));
        }
    }
}

/// Forgets a queued job whose client went away, as the engine thread does.
fn drop_job(compiler: &Compiler, job: &Job) {
    tracing::debug!(prompt_tokens = job.tokens.len(), "client left before its grammar compiled; job dropped");
    sub(&compiler.counters.queued, 1);
    add(&compiler.counters.cancelled, 1);
}

impl Compiler {
    fn factory(&self) -> Result<&ParserFactory, EngineError> {
        self.factory
            .get_or_init(|| {
                let env = LlamaSampler::llguidance_tok_env(&self.model);
                let mut factory = ParserFactory::new_simple(&env).map_err(|e| e.to_string())?;
                configure(&mut factory);
                Ok(factory)
            })
            .as_ref()
            .map_err(|e| EngineError::Internal(format!("llguidance: {e}")))
    }

    /// A fresh matcher at the start of `constraint`'s language.
    fn matcher(&self, constraint: &Constraint) -> Result<Matcher, EngineError> {
        let factory = self.factory()?;
        // A panic inside llguidance fails this request, never the thread the pool depends on.
        match catch_unwind(AssertUnwindSafe(|| compile(factory, constraint))) {
            Ok(Ok(matcher)) => Ok(matcher),
            Ok(Err(e)) => Err(EngineError::InvalidConstraint(format!("The schema or grammar cannot be enforced: {e}"))),
            Err(_) => Err(EngineError::Internal("the grammar compiler panicked".into())),
        }
    }
}
