//! Control values remembered per camera, so a camera gets its settings back when it is
//! plugged in again (on any port), recovers from an error, or the service starts.

use serde::{Deserialize, Serialize};

use super::{auto_pair_of, is_auto, Control, ControlChange};

/// Who a physical camera is: what the driver says about it. `bus_info` changes when the
/// camera moves to another port; `serial` (where the device has one) does not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraIdentity {
    pub card: String,
    pub bus_info: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// One remembered value, by CID (the id is kept for people reading the file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredValue {
    pub cid: u32,
    pub id: String,
    pub value: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RememberedCamera {
    pub identity: CameraIdentity,
    pub controls: Vec<StoredValue>,
}

/// Every camera's remembered values (the state document `camera-controls.json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ControlMemory {
    pub cameras: Vec<RememberedCamera>,
}

impl ControlMemory {
    /// The entry for `who`: same serial; else same card and bus; else — a camera moved to
    /// another port — the one entry with the same card whose camera is not connected now
    /// (`present` lists the identities of the other cameras connected).
    pub fn find(&self, who: &CameraIdentity, present: &[CameraIdentity]) -> Option<usize> {
        if let Some(serial) = &who.serial {
            if let Some(i) = self.cameras.iter().position(|c| {
                c.identity.serial.as_ref() == Some(serial) && c.identity.card == who.card
            }) {
                return Some(i);
            }
        }
        if let Some(i) = self
            .cameras
            .iter()
            .position(|c| c.identity.card == who.card && c.identity.bus_info == who.bus_info)
        {
            return Some(i);
        }
        let candidates: Vec<usize> = self
            .cameras
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.identity.card == who.card
                    && (who.serial.is_none() || c.identity.serial.is_none())
                    && !present
                        .iter()
                        .any(|p| p.card == c.identity.card && p.bus_info == c.identity.bus_info)
            })
            .map(|(i, _)| i)
            .collect();
        match candidates.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// The values remembered for `who` (empty when none).
    pub fn values(&self, who: &CameraIdentity, present: &[CameraIdentity]) -> Vec<StoredValue> {
        self.find(who, present)
            .map(|i| self.cameras[i].controls.clone())
            .unwrap_or_default()
    }

    /// Records the values a camera took (read back from it), and forgets `failed` ones: a
    /// write that failed never leaves a value the camera does not have. The entry takes
    /// `who`'s identity (a moved camera's new bus).
    pub fn remember(
        &mut self,
        who: &CameraIdentity,
        present: &[CameraIdentity],
        took: &[StoredValue],
        failed: &[u32],
    ) {
        let i = match self.find(who, present) {
            Some(i) => i,
            None if took.is_empty() => return,
            None => {
                self.cameras.push(RememberedCamera {
                    identity: who.clone(),
                    controls: Vec::new(),
                });
                self.cameras.len() - 1
            }
        };
        let entry = &mut self.cameras[i];
        entry.identity = who.clone();
        entry.controls.retain(|v| !failed.contains(&v.cid));
        for t in took {
            match entry.controls.iter_mut().find(|v| v.cid == t.cid) {
                Some(v) => *v = t.clone(),
                None => entry.controls.push(t.clone()),
            }
        }
        if entry.controls.is_empty() {
            self.cameras.remove(i);
        }
    }

    /// Forgets everything remembered for `who` (after a reset).
    pub fn forget(&mut self, who: &CameraIdentity, present: &[CameraIdentity]) {
        if let Some(i) = self.find(who, present) {
            self.cameras.remove(i);
        }
    }
}

/// What re-applying `stored` to a camera whose controls are `controls` writes: values the
/// camera still offers, takes (type, range, menu) and does not already have, auto controls
/// first, and no manual value while its auto control (after the restore) is on. The second
/// list is the CIDs that no longer fit and should be forgotten.
pub fn restore_plan(
    controls: &[Control],
    stored: &[StoredValue],
) -> (Vec<ControlChange>, Vec<u32>) {
    let mut changes = Vec::new();
    let mut unusable = Vec::new();
    for s in stored {
        let Some(c) = controls.iter().find(|c| c.cid == s.cid) else {
            unusable.push(s.cid);
            continue;
        };
        if !c.writable() || c.check(s.value).is_err() {
            unusable.push(s.cid);
            continue;
        }
        if c.value == Some(s.value) {
            continue;
        }
        changes.push(super::change(c, s.value));
    }
    let auto_after = |auto: u32| -> Option<i64> {
        changes
            .iter()
            .find(|c| c.cid == auto)
            .map(|c| c.value)
            .or_else(|| {
                controls
                    .iter()
                    .find(|c| c.cid == auto)
                    .and_then(|c| c.value)
            })
    };
    let keep: Vec<bool> = changes
        .iter()
        .map(|ch| match auto_pair_of(ch.cid) {
            Some(pair) => auto_after(pair.auto).is_none_or(|v| pair.is_manual(v)),
            None => true,
        })
        .collect();
    let mut kept: Vec<ControlChange> = changes
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(c, _)| c)
        .collect();
    kept.sort_by_key(|c| !is_auto(c.cid));
    (kept, unusable)
}
