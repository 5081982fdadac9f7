//! `gemd bench quota`: what admission costs. Quota checks per second for the in-memory and
//! the Redis limiter (one Lua script checking and taking RPM, TPM and RPD), against a peer in
//! the same run: the textbook Redis rate limiter (a fixed one-minute window, `INCR` + `EXPIRE`
//! in one MULTI), which checks one limit only and cannot refuse without counting. Then the
//! latency of the path every request takes before the model runs: key lookup in the SQLite
//! store (hash + constant-time compare), `last_used` bookkeeping, and admission.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gemd_quota::{Limiter, Limits, MemoryLimiter, RedisLimiter};
use gemd_server::{Access, KeyRing, QuotaTable};
use gemd_store::Tier;

use crate::cli::QuotaBenchArgs;

const MODEL: &str = "gemini-2.5-flash";
/// Limits high enough that no check is refused: the bench measures the check, not the 429.
const ROOMY: Limits = Limits { rpm: Some(1 << 40), tpm: Some(1 << 50), rpd: Some(1 << 40) };

pub fn run(args: QuotaBenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: QuotaBenchArgs) -> anyhow::Result<()> {
    let seconds = Duration::from_secs_f64(args.seconds);
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("quota bench: {cpus} CPU threads, {} projects, {:.1} s per case", args.projects, args.seconds);
    let memory: Arc<dyn Limiter> = Arc::new(MemoryLimiter::default());
    let redis: Option<Arc<dyn Limiter>> = match &args.redis_url {
        Some(url) => Some(Arc::new(RedisLimiter::connect(url).await.context("connecting to Redis")?)),
        None => None,
    };
    let peer = match &args.redis_url {
        Some(url) => Some(FixedWindow::connect(url).await?),
        None => None,
    };

    for &c in &args.concurrency {
        let ops =
            checks_per_second(c, seconds, args.projects, memory.clone(), |l, p| async move { check(&*l, &p).await })
                .await;
        report("memory limiter (RPM+TPM+RPD)", c, ops);
        if let Some(r) = &redis {
            let ops =
                checks_per_second(c, seconds, args.projects, r.clone(), |l, p| async move { check(&*l, &p).await })
                    .await;
            report("Redis limiter (RPM+TPM+RPD, Lua)", c, ops);
        }
        if let Some(peer) = &peer {
            let ops =
                checks_per_second(
                    c,
                    seconds,
                    args.projects,
                    Arc::new(peer.clone()),
                    |l, p| async move { l.hit(&p).await },
                )
                .await;
            report("peer: Redis INCR+EXPIRE fixed window (RPM only)", c, ops);
        }
    }

    let home = std::env::temp_dir().join(format!("gemd-bench-quota-{}", std::process::id()));
    std::fs::create_dir_all(&home)?;
    let mut limiters = vec![("memory", memory)];
    if let Some(r) = redis {
        limiters.push(("Redis", r));
    }
    for (name, limiter) in limiters {
        let (p50, p99, n) = auth_and_admit_latency(&home, limiter, seconds).await?;
        println!("auth + admit, {name:<6} limiter, SQLite store: p50 {p50:.1} µs, p99 {p99:.1} µs ({n} requests, one at a time)");
        println!("{{\"case\":\"auth+admit\",\"limiter\":\"{name}\",\"p50_us\":{p50:.1},\"p99_us\":{p99:.1}}}");
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(())
}

async fn check(limiter: &dyn Limiter, project: &str) -> bool {
    limiter.check_and_take(project, MODEL, ROOMY, 100).await.map(|d| d.is_allowed()).unwrap_or(false)
}

fn report(what: &str, concurrency: usize, ops: f64) {
    println!("{what:<50} concurrency {concurrency:>3}: {ops:>10.0} checks/s");
    println!("{{\"case\":\"checks\",\"system\":\"{what}\",\"concurrency\":{concurrency},\"checks_per_s\":{ops:.0}}}");
}

/// Runs `check` from `concurrency` tasks for `seconds`, round-robin over projects; counts only
/// checks that succeeded.
async fn checks_per_second<L, F, Fut>(
    concurrency: usize,
    seconds: Duration,
    projects: usize,
    limiter: Arc<L>,
    check: F,
) -> f64
where
    L: ?Sized + Send + Sync + 'static,
    F: Fn(Arc<L>, String) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let (limiter, done) = (limiter.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = t;
                while started.elapsed() < seconds {
                    if check(limiter.clone(), format!("bench-{}", i % projects)).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    i += concurrency;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// p50 and p99 (µs) of authenticate + admit for a stored key, one request at a time.
async fn auth_and_admit_latency(
    home: &std::path::Path,
    limiter: Arc<dyn Limiter>,
    seconds: Duration,
) -> anyhow::Result<(f64, f64, usize)> {
    let store =
        gemd_store::open(Some(&home.join(format!("{}.sqlite3", rand::random::<u32>())).display().to_string()), home)
            .await?;
    let project = store.create_project(None, "bench", Tier::Free).await?;
    for i in 0..100 {
        // Other keys in the store, as a real deployment has.
        store.create_key(&project.id, &format!("other {i}")).await?;
    }
    let key = store.create_key(&project.id, "bench").await?;
    let mut quotas = QuotaTable::unlimited();
    quotas.set(Tier::Free, MODEL, ROOMY);
    let access = Arc::new(Access::new(store, KeyRing::default(), limiter, quotas, false));
    let mut samples = Vec::new();
    let started = Instant::now();
    while started.elapsed() < seconds {
        let t = Instant::now();
        let caller = access.authenticate(&key.secret).await?;
        let ticket = access.admit(&caller, MODEL, 100).await?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        // The ledger write happens after the response, off the request's path.
        drop(ticket);
        if samples.len() % 256 == 0 {
            tokio::task::yield_now().await;
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    Ok((at(0.50), at(0.99), samples.len()))
}

/// The peer: one counter per project per clock minute.
#[derive(Clone)]
struct FixedWindow {
    conn: redis::aio::ConnectionManager,
}

impl FixedWindow {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url.to_string())?;
        Ok(FixedWindow { conn: redis::aio::ConnectionManager::new(client).await? })
    }

    async fn hit(self: Arc<Self>, project: &str) -> bool {
        let minute =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 60).unwrap_or(0);
        let key = format!("bench:fixed:{project}:{minute}");
        let mut conn = self.conn.clone();
        let r: redis::RedisResult<(i64, i64)> =
            redis::pipe().atomic().incr(&key, 1).expire(&key, 60).query_async(&mut conn).await;
        r.is_ok_and(|(n, _)| n < 1 << 40)
    }
}
