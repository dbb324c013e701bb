//! The quota of WebSocket connections that have not authenticated yet, in total and per
//! source address. It sits below `max_connections`, so silent or slow-to-authenticate peers
//! can never take the room authenticated clients need (issue #11, lock-out).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// Unauthenticated connections, counted.
#[derive(Debug)]
pub(crate) struct Unauthenticated {
    max_total: u32,
    max_per_ip: u32,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

/// Why an unauthenticated connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Total(u32),
    PerAddress(u32),
}

impl Refusal {
    pub fn text(self) -> String {
        match self {
            Refusal::Total(n) => format!(
                "Too many unauthenticated connections (at most {n}): connect with Authorization: Bearer, or try again later."
            ),
            Refusal::PerAddress(n) => format!(
                "Too many unauthenticated connections from this address (at most {n}): authenticate the open ones first."
            ),
        }
    }
}

impl Unauthenticated {
    pub fn new(max_total: u32, max_per_ip: u32) -> Arc<Unauthenticated> {
        Arc::new(Unauthenticated {
            max_total,
            max_per_ip,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// A place for one more unauthenticated connection from `ip`, held until dropped.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Result<UnauthSlot, Refusal> {
        // Plain counters, consistent between statements: a poisoned lock is still usable.
        let mut c = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if c.total >= self.max_total {
            return Err(Refusal::Total(self.max_total));
        }
        let mine = c.per_ip.entry(ip).or_insert(0);
        if *mine >= self.max_per_ip {
            return Err(Refusal::PerAddress(self.max_per_ip));
        }
        *mine += 1;
        c.total += 1;
        Ok(UnauthSlot {
            quota: Arc::clone(self),
            ip,
        })
    }

    #[cfg(test)]
    fn total(&self) -> u32 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

/// One unauthenticated connection's place in the quota; given back when dropped (the
/// connection authenticated or ended).
#[derive(Debug)]
pub(crate) struct UnauthSlot {
    quota: Arc<Unauthenticated>,
    ip: IpAddr,
}

impl Drop for UnauthSlot {
    fn drop(&mut self) {
        let mut c = self
            .quota
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quota_holds_per_address_and_in_total_and_frees_on_drop() {
        let q = Unauthenticated::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = q.take(a).unwrap();
        let _a2 = q.take(a).unwrap();
        assert_eq!(q.take(a).unwrap_err(), Refusal::PerAddress(2));
        let _b1 = q.take(b).unwrap();
        assert_eq!(q.take(b).unwrap_err(), Refusal::Total(3));
        drop(a1);
        assert_eq!(q.total(), 2);
        let _b2 = q.take(b).unwrap();
    }
}
