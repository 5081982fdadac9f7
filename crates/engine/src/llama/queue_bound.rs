//! The bound on requests waiting for the engine, checked on the caller's thread as a request
//! arrives, so that an overloaded engine refuses at once (503 UNAVAILABLE) instead of letting
//! waits grow without limit.
//!
//! It counts what actually waits: jobs sent but not yet taken into the batch, less the batch
//! slots free to take them at the next step. The engine thread only picks jobs up between
//! decode steps, so a bound on sent jobs alone (the rejected alternative) refuses a burst into
//! an idle engine at `queue_capacity` while its slots are free.

/// `capacity` requests may wait beyond the `max_sequences` that run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueBound {
    pub capacity: usize,
    pub max_sequences: usize,
}

impl QueueBound {
    /// Whether a request may join when `queued` requests are sent and not yet admitted, and
    /// `active` sequences run.
    pub fn admits(&self, queued: usize, active: usize) -> bool {
        let free_slots = self.max_sequences.saturating_sub(active);
        queued < self.capacity + free_slots
    }
}

#[cfg(test)]
mod tests {
    use super::QueueBound;

    const ONE_AND_ONE: QueueBound = QueueBound { capacity: 1, max_sequences: 1 };

    #[test]
    fn a_busy_engine_queues_up_to_capacity() {
        assert!(ONE_AND_ONE.admits(0, 1));
        assert!(!ONE_AND_ONE.admits(1, 1), "queued >= capacity + 0 free slots is refused");
    }

    #[test]
    fn a_burst_into_an_idle_engine_also_fills_the_free_slots() {
        let bound = QueueBound { capacity: 2, max_sequences: 4 };
        let accepted = (0..10).take_while(|&queued| bound.admits(queued, 0)).count();
        assert_eq!(accepted, 6, "4 free slots + 2 waiting");
        assert_eq!((0..10).take_while(|&queued| bound.admits(queued, 3)).count(), 3);
    }

    #[test]
    fn no_queue_still_fills_the_slots() {
        let bound = QueueBound { capacity: 0, max_sequences: 2 };
        assert!(bound.admits(1, 0));
        assert!(!bound.admits(2, 0));
        assert!(!bound.admits(0, 2), "every slot is running and nothing may wait");
    }

    #[test]
    fn free_slots_never_count_below_zero() {
        // The two counters are read without a lock: whatever they say, no slot is negative.
        assert!(!ONE_AND_ONE.admits(1, 5));
        assert!(ONE_AND_ONE.admits(0, 5));
    }
}
