//! Which files go: the retention policy and its selection.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::{Positive, RetentionUpdate};
use crate::files::{FileKind, SafeFileName};
use crate::time::Timestamp;

/// Sizes in the policy are decimal gigabytes.
pub const BYTES_PER_GB: f64 = 1e9;
pub const MILLIS_PER_DAY: f64 = 86_400_000.0;

/// How long and how much to keep. `enabled` turns the automatic schedule on;
/// `cleanup_old_files` applies the limits whenever it is called.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetentionPolicy {
    enabled: bool,
    max_age_days: Option<Positive>,
    max_size_gb: Option<Positive>,
}

impl RetentionPolicy {
    pub fn new(
        enabled: bool,
        max_age_days: Option<Positive>,
        max_size_gb: Option<Positive>,
    ) -> RetentionPolicy {
        RetentionPolicy {
            enabled,
            max_age_days,
            max_size_gb,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn max_age_days(&self) -> Option<f64> {
        self.max_age_days.map(Positive::get)
    }

    pub fn max_size_gb(&self) -> Option<f64> {
        self.max_size_gb.map(Positive::get)
    }

    /// The policy with the fields `update` names changed.
    pub fn updated(&self, update: &RetentionUpdate) -> RetentionPolicy {
        RetentionPolicy {
            enabled: update.enabled.unwrap_or(self.enabled),
            max_age_days: update.max_age_days.or(self.max_age_days),
            max_size_gb: update.max_size_gb.or(self.max_size_gb),
        }
    }

    fn max_bytes(&self) -> Option<u64> {
        // Saturates for absurd sizes: `as` from f64 clamps to u64::MAX.
        self.max_size_gb.map(|g| (g.get() * BYTES_PER_GB) as u64)
    }

    /// The files to delete, in the order to delete them: every file older than the
    /// maximum age, then the oldest of the rest until the total (files in use counted)
    /// is within the maximum size. Files in use (being written) are never selected.
    pub fn select<'a>(&self, files: &'a [StoredFile], now: Timestamp) -> Vec<&'a StoredFile> {
        let mut removable: Vec<&StoredFile> = files.iter().filter(|f| !f.in_use).collect();
        removable.sort_by(|a, b| a.age_key().cmp(&b.age_key()));
        let mut chosen: Vec<&StoredFile> = Vec::new();
        let mut kept: Vec<&StoredFile> = Vec::new();
        match self.max_age_days {
            Some(days) => {
                let max_age_ms = days.get() * MILLIS_PER_DAY;
                for f in removable {
                    let age_ms = (now.unix_millis() - f.modified.unix_millis()) as f64;
                    if age_ms > max_age_ms {
                        chosen.push(f);
                    } else {
                        kept.push(f);
                    }
                }
            }
            None => kept = removable,
        }
        if let Some(max) = self.max_bytes() {
            let total: u64 = files.iter().map(|f| f.size).sum();
            let freed: u64 = chosen.iter().map(|f| f.size).sum();
            let mut remaining = total.saturating_sub(freed);
            for f in kept {
                if remaining <= max {
                    break;
                }
                remaining = remaining.saturating_sub(f.size);
                chosen.push(f);
            }
        }
        chosen
    }
}

impl Default for RetentionPolicy {
    /// Off, 30 days, no size limit.
    fn default() -> Self {
        RetentionPolicy {
            enabled: false,
            max_age_days: Positive::new(30.0),
            max_size_gb: None,
        }
    }
}

/// As clients and the state file see it: `enabled`, `max_age_days`, `max_size_gb` (null: no limit).
#[derive(Serialize)]
struct PolicyOut {
    enabled: bool,
    max_age_days: Option<f64>,
    max_size_gb: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyIn {
    enabled: bool,
    max_age_days: Option<Positive>,
    max_size_gb: Option<Positive>,
}

impl Serialize for RetentionPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        PolicyOut {
            enabled: self.enabled,
            max_age_days: self.max_age_days(),
            max_size_gb: self.max_size_gb(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RetentionPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = PolicyIn::deserialize(d)?;
        Ok(RetentionPolicy::new(
            t.enabled,
            t.max_age_days,
            t.max_size_gb,
        ))
    }
}

/// A stored file as retention sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub kind: FileKind,
    pub name: SafeFileName,
    pub size: u64,
    pub modified: Timestamp,
    /// Being written (a recording under way): never selected.
    pub in_use: bool,
}

impl StoredFile {
    /// Oldest first; ties broken by kind and name so the choice is stable.
    fn age_key(&self) -> (Timestamp, u8, &str) {
        let kind = match self.kind {
            FileKind::Recording => 0,
            FileKind::Snapshot => 1,
        };
        (self.modified, kind, self.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;

    fn file(n: usize, size: u64, modified_ms: i64, in_use: bool) -> StoredFile {
        StoredFile {
            kind: if n & 1 == 0 {
                FileKind::Recording
            } else {
                FileKind::Snapshot
            },
            name: SafeFileName::parse(&format!("camera0_{n}.mp4")).unwrap(),
            size,
            modified: Timestamp::from_unix_millis(modified_ms),
            in_use,
        }
    }

    fn policy(age: Option<f64>, gb: Option<f64>) -> RetentionPolicy {
        RetentionPolicy::new(
            true,
            age.and_then(Positive::new),
            gb.and_then(Positive::new),
        )
    }

    fn names(v: &[&StoredFile]) -> Vec<String> {
        v.iter().map(|f| f.name.to_string()).collect()
    }

    #[test]
    fn files_older_than_the_maximum_age_go() {
        let now = Timestamp::from_unix_millis(100 * DAY);
        let files = [
            file(0, 1, 60 * DAY, false),
            file(1, 1, 69 * DAY, false),
            file(2, 1, 71 * DAY, false),
        ];
        let chosen = policy(Some(30.0), None).select(&files, now);
        assert_eq!(names(&chosen), ["camera0_0.mp4", "camera0_1.mp4"]);
    }

    #[test]
    fn the_oldest_go_until_the_total_fits() {
        let now = Timestamp::from_unix_millis(10 * DAY);
        let gb = 1_000_000_000;
        let files = [
            file(0, gb, 3, false),
            file(1, gb, 1, false),
            file(2, gb, 2, false),
        ];
        let chosen = policy(None, Some(1.5)).select(&files, now);
        assert_eq!(names(&chosen), ["camera0_1.mp4", "camera0_2.mp4"]);
    }

    #[test]
    fn a_file_being_written_is_never_selected() {
        let now = Timestamp::from_unix_millis(100 * DAY);
        let files = [file(0, 10, 0, true), file(1, 10, 1, false)];
        let chosen = policy(Some(1.0), Some(1e-9)).select(&files, now);
        assert_eq!(names(&chosen), ["camera0_1.mp4"]);
    }

    #[test]
    fn an_update_changes_only_what_it_names() {
        let p = RetentionPolicy::default();
        let u = RetentionUpdate {
            enabled: Some(true),
            max_age_days: None,
            max_size_gb: Positive::new(2.5),
        };
        let q = p.updated(&u);
        assert_eq!(
            (q.enabled(), q.max_age_days(), q.max_size_gb()),
            (true, Some(30.0), Some(2.5))
        );
    }

    #[test]
    fn the_policy_reads_back_what_it_wrote() {
        let p = policy(Some(7.0), None);
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"enabled": true, "max_age_days": 7.0, "max_size_gb": null})
        );
        assert_eq!(serde_json::from_value::<RetentionPolicy>(json).unwrap(), p);
        assert!(serde_json::from_value::<RetentionPolicy>(
            serde_json::json!({"enabled": true, "max_age_days": -1, "max_size_gb": null})
        )
        .is_err());
    }

    fn any_files() -> impl Strategy<Value = Vec<StoredFile>> {
        proptest::collection::vec(
            (
                0u64..5_000_000_000,
                0i64..(60 * DAY),
                proptest::bool::weighted(0.2),
            ),
            0..40,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (s, m, u))| file(i, s, m, u))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn selection_obeys_the_policy(
            files in any_files(),
            age in proptest::option::of(0.5f64..60.0),
            gb in proptest::option::of(0.1f64..100.0),
        ) {
            let now = Timestamp::from_unix_millis(60 * DAY);
            let p = policy(age, gb);
            let chosen = p.select(&files, now);
            let is_chosen = |f: &StoredFile| chosen.iter().any(|c| c.name == f.name);

            // Nothing twice, nothing in use.
            let mut seen = std::collections::HashSet::new();
            for c in &chosen {
                prop_assert!(seen.insert(c.name.clone()));
                prop_assert!(!c.in_use);
            }
            // Every removable file past the age goes.
            let too_old = |f: &StoredFile| age.is_some_and(|d| (now.unix_millis() - f.modified.unix_millis()) as f64 > d * MILLIS_PER_DAY);
            for f in files.iter().filter(|f| !f.in_use && too_old(f)) {
                prop_assert!(is_chosen(f));
            }
            let by_size: Vec<&&StoredFile> = chosen.iter().filter(|f| !too_old(f)).collect();
            match gb {
                None => prop_assert!(by_size.is_empty()),
                Some(gb) => {
                    let max = (gb * BYTES_PER_GB) as u64;
                    let total: u64 = files.iter().map(|f| f.size).sum();
                    let freed: u64 = chosen.iter().map(|f| f.size).sum();
                    let remaining = total - freed;
                    let left: Vec<&StoredFile> = files.iter().filter(|f| !f.in_use && !is_chosen(f)).collect();
                    // The total fits, or nothing removable is left.
                    prop_assert!(remaining <= max || left.is_empty());
                    // Oldest first: nothing kept is older than something taken for size.
                    for taken in &by_size {
                        for kept in &left {
                            prop_assert!(kept.age_key() > taken.age_key());
                        }
                    }
                    // No more than needed: without the last one taken for size, it would not fit.
                    if let Some(last) = by_size.last() {
                        prop_assert!(remaining + last.size > max);
                    }
                }
            }
        }
    }
}
