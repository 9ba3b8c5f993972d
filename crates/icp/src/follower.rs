//! Follows the canister's numbered event log the way the indexer follows a
//! chain: the cursor is the id of the next event wanted, ids start at 0 and
//! have no gaps, so "resume from cursor N" is exact.

use std::sync::Arc;

use cairn_registry_types::EventEntry;

use crate::{IcpError, RegistryCanister};

/// Most events the canister returns per `get_events` (its
/// `MAX_EVENTS_PER_PAGE`); asking for more returns this many.
pub const PAGE_LIMIT: u64 = 256;

/// One page of events and the cursor to ask from next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    pub events: Vec<EventEntry>,
    /// Last id + 1, or the cursor asked from when the page is empty.
    pub next: u64,
}

/// Reads the log from a cursor, a page at a time.
#[derive(Debug, Clone)]
pub struct EventFollower {
    canister: Arc<dyn RegistryCanister>,
    cursor: u64,
    page_size: u64,
}

impl EventFollower {
    /// Starts at `cursor` (0 for the whole log, or the `next` a previous
    /// run stored).
    pub fn new(canister: Arc<dyn RegistryCanister>, cursor: u64) -> Self {
        Self { canister, cursor, page_size: PAGE_LIMIT }
    }

    /// Pages of at most `page_size` events (at least 1).
    pub fn with_page_size(mut self, page_size: u64) -> Self {
        self.page_size = page_size.clamp(1, PAGE_LIMIT);
        self
    }

    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// The next page from the cursor, advancing it. An empty page means the
    /// follower is at the head of the log.
    pub async fn next_page(&mut self) -> Result<EventPage, IcpError> {
        let page = fetch_page(self.canister.as_ref(), self.cursor, self.page_size).await?;
        self.cursor = page.next;
        Ok(page)
    }

    /// Every event from the cursor to the head of the log, advancing the
    /// cursor past them.
    pub async fn catch_up(&mut self) -> Result<EventPage, IcpError> {
        let mut events = Vec::new();
        loop {
            let page = self.next_page().await?;
            if page.events.is_empty() {
                return Ok(EventPage { events, next: self.cursor });
            }
            events.extend(page.events);
        }
    }
}

/// One `get_events(from, limit)` call, checked: the events must be `from`,
/// `from + 1`, … so that a cursor never skips or repeats one.
pub async fn fetch_page(
    canister: &dyn RegistryCanister,
    from: u64,
    limit: u64,
) -> Result<EventPage, IcpError> {
    let events = canister.get_events(from, limit).await?;
    let mut expected = from;
    for entry in &events {
        if entry.id != expected {
            return Err(IcpError::EventGap { expected, got: entry.id });
        }
        expected += 1;
    }
    Ok(EventPage { events, next: expected })
}
