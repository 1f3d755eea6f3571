//! The emulator's notion of "now": wall-clock time plus an offset that tests can advance, so
//! token and URL expiry can be exercised without sleeping.

use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

/// Wall clock shifted forward by an adjustable offset.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    offset: Duration,
}

impl Clock {
    /// The current emulated time.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + self.offset
    }

    /// The current emulated time as a UTC date-time.
    pub fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::from(self.now())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&mut self, by: Duration) {
        self.offset = self.offset.saturating_add(by);
    }

    /// How far the clock runs ahead of the wall clock.
    pub fn offset(&self) -> Duration {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let mut clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        let after = clock.now();
        assert!(after.duration_since(before).unwrap() >= Duration::from_secs(3600));
        assert_eq!(clock.offset(), Duration::from_secs(3600));
    }
}
