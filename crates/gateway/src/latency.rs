//! Recent answer latencies of one endpoint, for its p95 (hedging) and its
//! load score (routing).

use std::{sync::Mutex, time::Duration};

const WINDOW: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct Latencies {
    inner: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    samples: Vec<u32>,
    next: usize,
    total: u64,
    /// Exponentially weighted mean, in microseconds: what routing reads on
    /// every call, so it must not sort the window.
    mean: f64,
}

/// Weight of the newest answer in the moving mean.
const MEAN_WEIGHT: f64 = 0.1;

impl Latencies {
    pub(crate) fn record(&self, elapsed: Duration) {
        let micros = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
        let mut window = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if window.samples.len() < WINDOW {
            window.samples.push(micros);
        } else {
            let next = window.next;
            window.samples[next] = micros;
        }
        window.next = (window.next + 1) % WINDOW;
        window.mean = if window.total == 0 {
            f64::from(micros)
        } else {
            window.mean + MEAN_WEIGHT * (f64::from(micros) - window.mean)
        };
        window.total += 1;
    }

    /// The moving mean latency, if any answer was seen.
    pub(crate) fn mean(&self) -> Option<Duration> {
        let window = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (window.total > 0).then(|| Duration::from_micros(window.mean as u64))
    }

    /// Answers seen so far.
    pub(crate) fn count(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// The `q` quantile (0..=1) of the recent window, if any sample exists.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        let mut samples = self.inner.lock().unwrap_or_else(|e| e.into_inner()).samples.clone();
        if samples.is_empty() {
            return None;
        }
        let last = samples.len() - 1;
        let index = ((last as f64 * q).round() as usize).min(last);
        let (_, value, _) = samples.select_nth_unstable(index);
        Some(Duration::from_micros(u64::from(*value)))
    }
}
