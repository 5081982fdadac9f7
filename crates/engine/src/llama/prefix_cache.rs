//! The prefix cache: finished sequences keep their KV cells under a cache sequence id, so a
//! later prompt that starts with the same tokens (same system instruction, same chat history)
//! starts from a copy of those cells instead of prefilling them again (reuse.rs makes the copy).
//! Bounded by entry count and total tokens; least recently used entries are evicted first.

/// One cached sequence: the tokens whose KV it holds, in order from position 0.
#[derive(Debug)]
pub struct Entry {
    pub slot: i32,
    pub tokens: Vec<i32>,
    last_used: u64,
}

/// A reuse decision: copy `len` tokens of KV from cache slot `slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub slot: i32,
    pub len: usize,
}

#[derive(Debug)]
pub struct PrefixCache {
    entries: Vec<Entry>,
    max_entries: usize,
    max_tokens: usize,
    /// Shortest prefix worth reusing (below it, prefill is as cheap as the bookkeeping).
    min_reuse: usize,
    clock: u64,
}

impl PrefixCache {
    pub fn new(max_entries: usize, max_tokens: usize) -> Self {
        PrefixCache { entries: Vec::new(), max_entries, max_tokens, min_reuse: 16, clock: 0 }
    }

    pub fn is_enabled(&self) -> bool {
        self.max_entries > 0 && self.max_tokens > 0
    }

    pub fn tokens(&self) -> usize {
        self.entries.iter().map(|e| e.tokens.len()).sum()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The sequence ids whose cells the entries hold.
    #[cfg(test)]
    pub fn slots(&self) -> impl Iterator<Item = i32> + '_ {
        self.entries.iter().map(|e| e.slot)
    }

    /// The longest reusable prefix of `prompt`. At least one prompt token is always left to
    /// prefill (its logits start the answer). `usable(slot, len)` lets the caller veto a reuse
    /// the KV cache cannot serve (sliding-window layers may have dropped old cells).
    pub fn lookup(&mut self, prompt: &[i32], usable: impl Fn(i32, usize) -> bool) -> Option<Hit> {
        let limit = prompt.len().saturating_sub(1);
        let mut best: Option<Hit> = None;
        for e in &self.entries {
            let common = e.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count().min(limit);
            if common >= self.min_reuse && best.is_none_or(|b| common > b.len) && usable(e.slot, common) {
                best = Some(Hit { slot: e.slot, len: common });
            }
        }
        if let Some(hit) = best {
            self.clock += 1;
            let clock = self.clock;
            if let Some(e) = self.entries.iter_mut().find(|e| e.slot == hit.slot) {
                e.last_used = clock;
            }
        }
        best
    }

    /// Offers a finished sequence's KV. Returns the slots the caller must clear: evicted
    /// entries, entries made redundant (a prefix of the new one), or the offered slot itself
    /// when it is not kept.
    pub fn insert(&mut self, slot: i32, tokens: Vec<i32>) -> Vec<i32> {
        if !self.is_enabled() || tokens.len() < self.min_reuse || tokens.len() > self.max_tokens {
            return vec![slot];
        }
        let mut drop = Vec::new();
        self.entries.retain(|e| {
            let redundant = e.tokens.len() <= tokens.len() && tokens.starts_with(&e.tokens);
            if redundant {
                drop.push(e.slot);
            }
            !redundant
        });
        while self.entries.len() + 1 > self.max_entries || self.tokens() + tokens.len() > self.max_tokens {
            let lru = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(i, _)| i)
                .expect("non-empty while over budget");
            drop.push(self.entries.swap_remove(lru).slot);
        }
        self.clock += 1;
        self.entries.push(Entry { slot, tokens, last_used: self.clock });
        drop
    }

    /// Evicts the least recently used entry (to free its slot for an active sequence).
    pub fn evict_lru(&mut self) -> Option<i32> {
        let lru = self.entries.iter().enumerate().min_by_key(|(_, e)| e.last_used).map(|(i, _)| i)?;
        Some(self.entries.swap_remove(lru).slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(n: i32) -> Vec<i32> {
        (0..n).collect()
    }

    #[test]
    fn longest_prefix_wins_and_one_token_is_left() {
        let mut c = PrefixCache::new(4, 1000);
        assert!(c.insert(1, seq(40)).is_empty());
        assert!(c.insert(2, [seq(20), vec![99; 30]].concat()).is_empty());
        assert_eq!(c.lookup(&seq(100), |_, _| true), Some(Hit { slot: 1, len: 40 }));
        assert_eq!(c.lookup(&seq(40), |_, _| true), Some(Hit { slot: 1, len: 39 }));
        assert_eq!(c.lookup(&seq(10), |_, _| true), None, "below min_reuse");
        assert_eq!(c.lookup(&seq(100), |slot, _| slot != 1), Some(Hit { slot: 2, len: 20 }));
    }

    #[test]
    fn redundant_prefixes_and_lru_are_evicted() {
        let mut c = PrefixCache::new(2, 1000);
        c.insert(1, seq(20));
        assert_eq!(c.insert(2, seq(30)), vec![1], "a prefix of the new entry is redundant");
        c.insert(3, vec![7; 20]);
        c.lookup(&seq(31), |_, _| true); // touch 2
        assert_eq!(c.insert(4, vec![8; 20]), vec![3], "least recently used goes");
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn token_budget_is_respected() {
        let mut c = PrefixCache::new(8, 50);
        c.insert(1, vec![1; 30]);
        assert_eq!(c.insert(2, vec![2; 30]), vec![1]);
        assert_eq!(c.insert(3, vec![3; 60]), vec![3], "larger than the whole budget: not kept");
        assert!(c.tokens() <= 50);
    }
}
