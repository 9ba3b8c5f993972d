//! A circuit breaker per endpoint: closed while it answers; open after
//! `failures` failures in a row, refusing calls for `open_for`; then
//! half-open, letting one trial call through, which closes it on success
//! and opens it again on failure.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The gauge value in metrics: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive_failures: u32,
    opened_at: Option<Instant>,
    /// A half-open breaker lets one call through at a time.
    trial_in_flight: bool,
    times_opened: u64,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    failures: u32,
    open_for: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    pub(crate) fn new(failures: u32, open_for: Duration) -> Self {
        Self {
            failures: failures.max(1),
            open_for,
            inner: Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive_failures: 0,
                opened_at: None,
                trial_in_flight: false,
                times_opened: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state as of now (an open breaker whose time is up reads half-open).
    pub(crate) fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.state {
            BreakerState::Open
                if inner.opened_at.is_some_and(|at| at.elapsed() >= self.open_for) =>
            {
                BreakerState::HalfOpen
            }
            state => state,
        }
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    pub(crate) fn times_opened(&self) -> u64 {
        self.lock().times_opened
    }

    /// Whether a call may be made without taking the trial slot.
    pub(crate) fn available(&self) -> bool {
        let inner = self.lock();
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::HalfOpen => !inner.trial_in_flight,
            BreakerState::Open => inner.opened_at.is_some_and(|at| at.elapsed() >= self.open_for),
        }
    }

    /// Claims the right to call: always when closed, the one trial slot when
    /// half-open, never when open.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut inner = self.lock();
        if inner.state == BreakerState::Open
            && inner.opened_at.is_some_and(|at| at.elapsed() >= self.open_for)
        {
            inner.state = BreakerState::HalfOpen;
            inner.trial_in_flight = false;
        }
        match inner.state {
            BreakerState::Closed => true,
            BreakerState::HalfOpen if !inner.trial_in_flight => {
                inner.trial_in_flight = true;
                true
            }
            _ => false,
        }
    }

    pub(crate) fn record_success(&self) {
        let mut inner = self.lock();
        inner.state = BreakerState::Closed;
        inner.consecutive_failures = 0;
        inner.opened_at = None;
        inner.trial_in_flight = false;
    }

    pub(crate) fn record_failure(&self) {
        let mut inner = self.lock();
        inner.consecutive_failures = inner.consecutive_failures.saturating_add(1);
        let trip = inner.state == BreakerState::HalfOpen
            || (inner.state == BreakerState::Closed && inner.consecutive_failures >= self.failures);
        if trip {
            inner.state = BreakerState::Open;
            inner.opened_at = Some(Instant::now());
            inner.times_opened += 1;
        }
        inner.trial_in_flight = false;
    }

    /// Gives back a claimed slot unused (the call was dropped unanswered).
    pub(crate) fn release(&self) {
        self.lock().trial_in_flight = false;
    }
}
