//! The wall clock, for the few places that read it directly (handlers take time as an argument
//! or through a port where tests need to set it).

/// Seconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn unix_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    #[test]
    fn after_2025() {
        assert!(super::unix_seconds() > 1_735_689_600);
    }
}
