//! The retry budget: every request deposits `percent / 100` of a retry and
//! every retry withdraws one, on top of a small reserve. When endpoints fail
//! together, retries stop growing the load at `percent`% of the traffic
//! instead of multiplying it by the number of attempts.

use std::sync::Mutex;

#[derive(Debug)]
pub(crate) struct RetryBudget {
    per_request: f64,
    cap: f64,
    balance: Mutex<f64>,
}

impl RetryBudget {
    pub(crate) fn new(percent: u32, reserve: u32) -> Self {
        let per_request = f64::from(percent) / 100.0;
        // The balance never grows past the reserve plus what 100 requests
        // deposit, so a long quiet spell does not bank a retry storm.
        let cap = f64::from(reserve) + per_request * 100.0;
        Self { per_request, cap, balance: Mutex::new(f64::from(reserve)) }
    }

    pub(crate) fn deposit(&self) {
        let mut balance = self.balance.lock().unwrap_or_else(|e| e.into_inner());
        *balance = (*balance + self.per_request).min(self.cap);
    }

    /// True if a retry may be made (and takes it from the budget).
    pub(crate) fn withdraw(&self) -> bool {
        let mut balance = self.balance.lock().unwrap_or_else(|e| e.into_inner());
        if *balance >= 1.0 {
            *balance -= 1.0;
            true
        } else {
            false
        }
    }
}
