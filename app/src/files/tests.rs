//! `Files` on the fake clock and the in-memory store: retention, listing, deletion.

use std::time::Duration;

use config::Config;
use domain::api::{ListParams, PageLimit, Positive};
use domain::files::FileKind;
use domain::retention::RetentionPolicy;
use domain::{ErrorKind, SafeFileName};
use ports::clock::Clock;

use crate::fakes::{self, Fixture};

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

/// Stores `name` as made now on the fixture's clock.
fn put(fx: &Fixture, kind: FileKind, name: &str, size: u64) {
    fx.store.put(kind, name, size, fx.clock.now());
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn with_policy(age_days: Option<f64>, size_gb: Option<f64>) -> Fixture {
    let fx = fakes::core(Config::default()).await;
    let policy = RetentionPolicy::new(
        false,
        age_days.and_then(Positive::new),
        size_gb.and_then(Positive::new),
    );
    fx.core.files.reconfigure(policy).await.expect("policy set");
    fx
}

#[tokio::test]
async fn retention_by_age_deletes_only_files_older_than_the_limit() {
    let fx = with_policy(Some(7.0), None).await;
    put(&fx, FileKind::Recording, "camera0_old.mp4", 100);
    put(&fx, FileKind::Snapshot, "camera0_old.jpg", 10);
    fx.clock.advance(DAY);
    put(&fx, FileKind::Recording, "camera0_8d.mp4", 200);
    fx.clock.advance(2 * DAY);
    put(&fx, FileKind::Recording, "camera0_6d.mp4", 400);
    fx.clock.advance(6 * DAY);
    put(&fx, FileKind::Recording, "camera0_recent.mp4", 300);
    put(&fx, FileKind::Snapshot, "camera0_recent.jpg", 30);
    // Now the first two are 9 days and an hour old, then 8 days, 6 days, an hour (+1 h each).
    fx.clock.advance(HOUR);

    let done = fx.core.files.cleanup(false).await.unwrap();

    assert_eq!(
        sorted(done.files.clone()),
        ["camera0_8d.mp4", "camera0_old.jpg", "camera0_old.mp4"]
    );
    assert_eq!(
        (
            done.recordings_deleted,
            done.snapshots_deleted,
            done.bytes_freed
        ),
        (2, 1, 310)
    );
    assert_eq!(
        fx.store.names(FileKind::Recording),
        ["camera0_6d.mp4", "camera0_recent.mp4"]
    );
    assert_eq!(fx.store.names(FileKind::Snapshot), ["camera0_recent.jpg"]);
}

#[tokio::test]
async fn a_dry_run_reports_the_same_choice_and_deletes_nothing() {
    let fx = with_policy(Some(1.0), None).await;
    put(&fx, FileKind::Recording, "camera0_a.mp4", 100);
    fx.clock.advance(2 * DAY);
    put(&fx, FileKind::Recording, "camera0_b.mp4", 100);

    let dry = fx.core.files.cleanup(true).await.unwrap();

    assert_eq!(dry.files, ["camera0_a.mp4"]);
    assert!(dry.dry_run);
    assert_eq!(
        fx.store.names(FileKind::Recording),
        ["camera0_a.mp4", "camera0_b.mp4"]
    );
}

#[tokio::test]
async fn retention_by_size_deletes_the_oldest_until_within_the_limit() {
    // 1 GB allowed; five files of 0.4 GB: the three oldest must go (2.0 → 0.8 GB).
    let fx = with_policy(None, Some(1.0)).await;
    let size = 400_000_000;
    for name in [
        "camera0_1.mp4",
        "camera0_2.mp4",
        "camera0_3.mp4",
        "camera0_4.mp4",
    ] {
        put(&fx, FileKind::Recording, name, size);
        fx.clock.advance(HOUR);
    }
    // Names sort opposite to age here, so a choice by name would show.
    fx.store
        .put(FileKind::Recording, "camera0_0.mp4", size, fx.clock.now());

    let done = fx.core.files.cleanup(false).await.unwrap();

    assert_eq!(
        done.files,
        ["camera0_1.mp4", "camera0_2.mp4", "camera0_3.mp4"],
        "oldest first, until 2 x 0.4 GB remain"
    );
    assert_eq!(done.bytes_freed, 3 * size);
    assert_eq!(
        fx.store.names(FileKind::Recording),
        ["camera0_0.mp4", "camera0_4.mp4"]
    );
}

#[tokio::test]
async fn listing_is_newest_first_and_paged() {
    let fx = fakes::core(Config::default()).await;
    // Made in the opposite order to their names, so the newest ("a") sorts first by age
    // and last by name: an order by name would show.
    for name in [
        "camera0_e.jpg",
        "camera0_d.jpg",
        "camera0_c.jpg",
        "camera0_b.jpg",
        "camera0_a.jpg",
    ] {
        fx.clock.advance(Duration::from_secs(60));
        put(&fx, FileKind::Snapshot, name, 1);
    }
    let page = |offset, limit| ListParams {
        limit: PageLimit::new(limit).unwrap(),
        offset,
        device: None,
    };
    let names = |l: domain::contract::results::FileList| {
        (
            l.total,
            l.files
                .into_iter()
                .map(|f| f.filename.as_str().to_owned())
                .collect::<Vec<_>>(),
        )
    };
    let files = &fx.core.files;

    let first = names(files.list(FileKind::Snapshot, page(0, 2)).await.unwrap());
    let second = names(files.list(FileKind::Snapshot, page(2, 2)).await.unwrap());
    let last = names(files.list(FileKind::Snapshot, page(4, 2)).await.unwrap());
    let past = names(files.list(FileKind::Snapshot, page(9, 2)).await.unwrap());

    assert_eq!(
        first,
        (5, vec!["camera0_a.jpg".into(), "camera0_b.jpg".into()])
    );
    assert_eq!(
        second,
        (5, vec!["camera0_c.jpg".into(), "camera0_d.jpg".into()])
    );
    assert_eq!(last, (5, vec!["camera0_e.jpg".to_owned()]));
    assert_eq!(past, (5, vec![]));
}

#[tokio::test]
async fn deleting_a_missing_file_is_file_not_found_naming_it() {
    let fx = fakes::core(Config::default()).await;
    put(&fx, FileKind::Recording, "camera0_here.mp4", 1);
    let missing = SafeFileName::parse("camera0_gone.mp4").unwrap();

    let e = fx
        .core
        .files
        .delete(FileKind::Recording, &missing)
        .await
        .unwrap_err();

    assert_eq!(
        (e.kind, e.reason.as_str()),
        (ErrorKind::FileNotFound, "file_not_found")
    );
    assert_eq!(e.context["filename"], "camera0_gone.mp4");
    assert!(e.details.contains("camera0_gone.mp4"), "{}", e.details);
    assert_eq!(fx.store.names(FileKind::Recording), ["camera0_here.mp4"]);
}

#[tokio::test]
async fn a_deleted_file_is_gone_and_a_second_delete_is_not_found() {
    let fx = fakes::core(Config::default()).await;
    put(&fx, FileKind::Snapshot, "camera0_x.jpg", 1);
    let name = SafeFileName::parse("camera0_x.jpg").unwrap();
    let files = &fx.core.files;

    let done = files.delete(FileKind::Snapshot, &name).await.unwrap();
    assert!(done.deleted);
    assert!(fx.store.names(FileKind::Snapshot).is_empty());
    let again = files.delete(FileKind::Snapshot, &name).await.unwrap_err();
    assert_eq!(again.kind, ErrorKind::FileNotFound);
}
