//! The Redis limiter against a real redis-server (scripts/test.sh starts one and sets
//! GEMD_TEST_REDIS_URL; without it this test fails and says so rather than skipping).

use std::sync::Arc;

use gemd_quota::{Clock, Decision, Limiter, Limits, ManualClock, Metric, RedisLimiter};

fn url() -> String {
    std::env::var("GEMD_TEST_REDIS_URL")
        .expect("GEMD_TEST_REDIS_URL is not set: run the tests through scripts/test.sh, which starts a redis-server")
}

fn unique(name: &str) -> String {
    format!("{name}-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[tokio::test]
async fn two_limiters_share_one_limit_exactly() {
    let a = Arc::new(RedisLimiter::connect(&url()).await.unwrap());
    let b = Arc::new(RedisLimiter::connect(&url()).await.unwrap());
    let project = unique("p");
    let lim = Limits { rpm: Some(15), tpm: Some(1000), rpd: Some(1500) };
    let mut tasks = Vec::new();
    for i in 0..40 {
        let l = if i % 2 == 0 { a.clone() } else { b.clone() };
        let project = project.clone();
        tasks.push(tokio::spawn(async move { l.check_and_take(&project, "gemini-2.5-flash", lim, 10).await.unwrap() }));
    }
    let mut allowed = 0;
    for t in tasks {
        if t.await.unwrap().is_allowed() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 15, "racing replicas admit exactly the limit");
    let usage = a.usage(&project, "gemini-2.5-flash").await.unwrap();
    assert_eq!((usage.requests_this_minute, usage.tokens_this_minute, usage.requests_today), (15, 150, 15));
}

#[tokio::test]
async fn refusals_consume_nothing_and_say_why() {
    let l = RedisLimiter::connect(&url()).await.unwrap();
    let project = unique("q");
    let lim = Limits { rpm: Some(10), tpm: Some(100), rpd: Some(2) };
    assert!(l.check_and_take(&project, "m", lim, 90).await.unwrap().is_allowed());
    let d = l.check_and_take(&project, "m", lim, 50).await.unwrap();
    let Decision::Denied(v) = &d else { panic!("{d:?}") };
    assert_eq!(v[0].metric, Metric::InputTokensPerMinute);
    assert!(v[0].retry_after_ms > 55_000 && v[0].retry_after_ms <= 60_000, "{v:?}");
    assert!(l.check_and_take(&project, "m", lim, 10).await.unwrap().is_allowed());
    let Decision::Denied(v) = l.check_and_take(&project, "m", lim, 0).await.unwrap() else { panic!() };
    assert_eq!(v[0].metric, Metric::RequestsPerDay);
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_not_a_pass() {
    // Nothing listens on port 1 of loopback.
    assert!(RedisLimiter::connect("redis://127.0.0.1:1/").await.is_err());
}

/// A clock the test moves, shared with the limiter.
struct Shared(Arc<ManualClock>);

impl Clock for Shared {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

#[tokio::test]
async fn tokens_leave_the_running_sum_as_their_requests_expire() {
    let clock = Arc::new(ManualClock::at(1_795_608_000_000));
    let l = RedisLimiter::connect(&url()).await.unwrap().with_clock(Box::new(Shared(clock.clone())));
    let project = unique("s");
    let lim = Limits { rpm: None, tpm: Some(100), rpd: None };
    assert!(l.check_and_take(&project, "m", lim, 90).await.unwrap().is_allowed());
    clock.advance_ms(30_000);
    assert!(l.check_and_take(&project, "m", lim, 5).await.unwrap().is_allowed());
    let Decision::Denied(v) = l.check_and_take(&project, "m", lim, 50).await.unwrap() else { panic!("95 + 50 > 100") };
    assert_eq!(v[0].retry_after_ms, 30_000, "the 90 tokens free room in 30 s");
    clock.advance_ms(30_001);
    assert_eq!(l.usage(&project, "m").await.unwrap().tokens_this_minute, 5, "the first request left the window");
    assert!(l.check_and_take(&project, "m", lim, 95).await.unwrap().is_allowed());
    assert_eq!(l.usage(&project, "m").await.unwrap().tokens_this_minute, 100);
    clock.advance_ms(60_000);
    assert_eq!(l.usage(&project, "m").await.unwrap().tokens_this_minute, 0);
}

#[tokio::test]
async fn a_refund_gives_back_exactly_what_its_admission_took() {
    let l = RedisLimiter::connect(&url()).await.unwrap();
    let project = unique("r");
    let lim = Limits { rpm: Some(2), tpm: Some(100), rpd: Some(2) };
    assert!(l.check_and_take(&project, "m", lim, 60).await.unwrap().is_allowed());
    let Decision::Allowed(grant) = l.check_and_take(&project, "m", lim, 40).await.unwrap() else {
        panic!("second allowed")
    };
    assert!(!l.check_and_take(&project, "m", lim, 0).await.unwrap().is_allowed(), "at the limit");
    l.refund(&project, "m", grant).await.unwrap();
    let usage = l.usage(&project, "m").await.unwrap();
    assert_eq!((usage.requests_this_minute, usage.tokens_this_minute, usage.requests_today), (1, 60, 1));
    assert!(l.check_and_take(&project, "m", lim, 40).await.unwrap().is_allowed(), "the refunded room is free again");
}
