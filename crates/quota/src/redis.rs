//! The shared limiter for replicas: the same sliding-log and Pacific-day arithmetic as
//! `window.rs`, run as one Lua script so the check and the take of all three limits are one
//! atomic step and one round trip, whichever gemd replica asks.
//!
//! Replicas must have synchronised clocks (NTP): the script uses the caller's time so the
//! Pacific day and the tests' arithmetic are the same as in memory.

use async_trait::async_trait;
use rand::Rng;
use redis::aio::ConnectionManager;
use redis::Script;

use crate::clock::{pacific_day, Clock, SystemClock};
use crate::limits::{Decision, Grant, Limits, Metric, Usage, Violation, MINUTE_MS};
use crate::{Limiter, QuotaError};

/// KEYS: the minute log (a sorted set of `random:tokens` members scored by time), the
/// running token sum of that log, the day counter. The sum makes an admitted check O(log n):
/// each expired entry is read once, when it is pruned; only a refusal walks the log, to find
/// when enough of it expires.
const SCRIPT: &str = r#"
local mkey, skey, dkey = KEYS[1], KEYS[2], KEYS[3]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local rpm, tpm, rpd = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens, member, day_end, take = tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), ARGV[9] == '1'
local function tokens_of(m) return tonumber(string.match(m, ':(%d+)$')) end
local used = tonumber(redis.call('GET', skey) or '-1')
if used < 0 then
  -- No running sum (first use, or lost): rebuild it from the log.
  used = 0
  for _, m in ipairs(redis.call('ZRANGE', mkey, 0, -1)) do used = used + tokens_of(m) end
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', mkey, '-inf', now - window)) do used = used - tokens_of(m) end
redis.call('ZREMRANGEBYSCORE', mkey, '-inf', now - window)
local n = redis.call('ZCARD', mkey)
local day_used = tonumber(redis.call('GET', dkey) or '0')
local out = {n, used, day_used}
if rpm >= 0 and n + 1 > rpm then
  local retry = window
  if rpm > 0 then retry = tonumber(redis.call('ZRANGE', mkey, n - rpm, n - rpm, 'WITHSCORES')[2]) + window - now end
  table.insert(out, 1); table.insert(out, rpm); table.insert(out, retry)
end
if tpm >= 0 and used + tokens > tpm then
  local retry = window
  if tokens <= tpm then
    local entries = redis.call('ZRANGE', mkey, 0, -1, 'WITHSCORES')
    local freed = 0
    for i = 1, #entries, 2 do
      freed = freed + tokens_of(entries[i])
      if used - freed + tokens <= tpm then retry = tonumber(entries[i + 1]) + window - now; break end
    end
  end
  table.insert(out, 2); table.insert(out, tpm); table.insert(out, retry)
end
if rpd >= 0 and day_used + 1 > rpd then
  table.insert(out, 3); table.insert(out, rpd); table.insert(out, day_end - now)
end
if #out == 3 and take then
  redis.call('ZADD', mkey, now, member)
  used = used + tokens
  redis.call('INCR', dkey)
  redis.call('PEXPIREAT', dkey, day_end + 3600000)
end
if n > 0 or (#out == 3 and take) then
  redis.call('SET', skey, used, 'PX', window)
  redis.call('PEXPIRE', mkey, window)
else
  redis.call('DEL', skey)
end
return out
"#;

/// Gives back one admission (`refund`): the minute-log entry with the grant's time and tokens
/// (entries with equal time and tokens are interchangeable), its tokens in the running sum, and
/// one request in the grant's day. KEYS as `SCRIPT`; ARGV: the grant's time and tokens.
const REFUND: &str = r#"
local mkey, skey, dkey = KEYS[1], KEYS[2], KEYS[3]
local at, tokens = ARGV[1], tonumber(ARGV[2])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', mkey, at, at)) do
  if tonumber(string.match(m, ':(%d+)$')) == tokens then
    redis.call('ZREM', mkey, m)
    if redis.call('EXISTS', skey) == 1 then redis.call('DECRBY', skey, tokens) end
    break
  end
end
if tonumber(redis.call('GET', dkey) or '0') > 0 then redis.call('DECR', dkey) end
return 1
"#;

pub struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    refund: Script,
    clock: Box<dyn Clock>,
}

impl RedisLimiter {
    /// Connects (and fails if Redis cannot be reached now).
    pub async fn connect(url: &str) -> Result<Self, QuotaError> {
        let client = redis::Client::open(url).map_err(|e| QuotaError::Unavailable(e.to_string()))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(std::time::Duration::from_secs(2))
            .set_response_timeout(std::time::Duration::from_secs(2))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| QuotaError::Unavailable(e.to_string()))?;
        Ok(RedisLimiter {
            conn,
            script: Script::new(SCRIPT),
            refund: Script::new(REFUND),
            clock: Box::new(SystemClock),
        })
    }

    /// The same limiter reading time from `clock` (tests move time by hand).
    pub fn with_clock(mut self, clock: Box<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The minute log, its running token sum and the counter of Pacific day `day`.
    fn keys(project: &str, model: &str, day: impl std::fmt::Display) -> [String; 3] {
        // One hash tag per (project, model): all keys live on one cluster slot.
        let tag = format!("{{{project}/{model}}}");
        [
            format!("gemd:quota:{tag}:minute"),
            format!("gemd:quota:{tag}:minute-tokens"),
            format!("gemd:quota:{tag}:day:{day}"),
        ]
    }

    async fn run(
        &self,
        now: i64,
        project: &str,
        model: &str,
        limits: Limits,
        tokens: u64,
        take: bool,
    ) -> Result<Vec<i64>, QuotaError> {
        let (day, day_end) = pacific_day(now);
        let [minute, minute_tokens, day_key] = Self::keys(project, model, day);
        let lim = |v: Option<u64>| v.map(|v| v as i64).unwrap_or(-1);
        let member = format!("{:016x}:{tokens}", rand::thread_rng().gen::<u64>());
        let mut conn = self.conn.clone();
        self.script
            .key(minute)
            .key(minute_tokens)
            .key(day_key)
            .arg(now)
            .arg(MINUTE_MS)
            .arg(lim(limits.rpm))
            .arg(lim(limits.tpm))
            .arg(lim(limits.rpd))
            .arg(tokens)
            .arg(member)
            .arg(day_end)
            .arg(if take { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(|e| QuotaError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl Limiter for RedisLimiter {
    async fn check_and_take(
        &self,
        project: &str,
        model: &str,
        limits: Limits,
        tokens: u64,
    ) -> Result<Decision, QuotaError> {
        let now = self.clock.now_ms();
        let out = self.run(now, project, model, limits, tokens, true).await?;
        let violations: Vec<Violation> = out[3..]
            .chunks(3)
            .map(|c| Violation {
                metric: match c[0] {
                    1 => Metric::RequestsPerMinute,
                    2 => Metric::InputTokensPerMinute,
                    _ => Metric::RequestsPerDay,
                },
                limit: c[1] as u64,
                retry_after_ms: c[2].max(1),
            })
            .collect();
        Ok(if violations.is_empty() {
            Decision::Allowed(Grant { at_ms: now, tokens })
        } else {
            Decision::Denied(violations)
        })
    }

    async fn refund(&self, project: &str, model: &str, grant: Grant) -> Result<(), QuotaError> {
        let (day, _) = pacific_day(grant.at_ms);
        let [minute, minute_tokens, day_key] = Self::keys(project, model, day);
        let mut conn = self.conn.clone();
        let _: i64 = self
            .refund
            .key(minute)
            .key(minute_tokens)
            .key(day_key)
            .arg(grant.at_ms)
            .arg(grant.tokens)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| QuotaError::Unavailable(e.to_string()))?;
        Ok(())
    }

    async fn usage(&self, project: &str, model: &str) -> Result<Usage, QuotaError> {
        let out = self.run(self.clock.now_ms(), project, model, Limits::default(), 0, false).await?;
        let (_, day_end) = pacific_day(self.clock.now_ms());
        Ok(Usage {
            requests_this_minute: out[0] as u64,
            tokens_this_minute: out[1] as u64,
            requests_today: out[2] as u64,
            day_resets_at_ms: day_end,
        })
    }
}
