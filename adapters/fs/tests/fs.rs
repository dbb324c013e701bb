//! The file store and state store on a real (temporary) filesystem.

use std::collections::HashSet;
use std::os::unix::fs::symlink;
use std::sync::Arc;

use cs_fs::{FsFileStore, FsStateStore};
use domain::files::FileKind;
use domain::SafeFileName;
use ports::files::{FileStore, StateStore, StoreError};

fn name(s: &str) -> SafeFileName {
    SafeFileName::parse(s).unwrap()
}

struct Dirs {
    _root: tempfile::TempDir,
    store: FsFileStore,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().unwrap();
    let store = FsFileStore::open(root.path().join("rec"), root.path().join("snap")).unwrap();
    Dirs { _root: root, store }
}

#[tokio::test]
async fn the_directories_are_created() {
    let d = dirs();
    assert!(d.store.dir(FileKind::Recording).is_dir());
    assert!(d.store.dir(FileKind::Snapshot).is_dir());
}

#[tokio::test]
async fn listing_shows_only_regular_files_of_the_collection() {
    let d = dirs();
    let rec = d.store.dir(FileKind::Recording).to_path_buf();
    std::fs::write(rec.join("camera0_a.mp4"), vec![0u8; 1234]).unwrap();
    std::fs::write(rec.join("camera1_b.MKV"), b"x").unwrap();
    std::fs::write(rec.join("notes.txt"), b"x").unwrap();
    std::fs::write(rec.join(".hidden.mp4"), b"x").unwrap();
    std::fs::write(rec.join("bad name.mp4"), b"x").unwrap();
    std::fs::create_dir(rec.join("dir.mp4")).unwrap();
    std::fs::write(d.store.dir(FileKind::Snapshot).join("camera0_c.jpg"), b"x").unwrap();
    symlink("/etc/passwd", rec.join("link.mp4")).unwrap();

    let mut list = d.store.list(FileKind::Recording).await.unwrap();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = list.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["camera0_a.mp4", "camera1_b.MKV"]);
    assert_eq!(list[0].size, 1234);
    assert_eq!(
        (list[0].format(), list[1].format()),
        ("mp4".to_owned(), "mkv".to_owned())
    );
    assert!(list[0].created <= list[0].modified);

    let snaps = d.store.list(FileKind::Snapshot).await.unwrap();
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].kind, FileKind::Snapshot);
}

#[tokio::test]
async fn stat_gives_size_and_times_of_one_file() {
    let d = dirs();
    let path = d.store.path_of(FileKind::Snapshot, &name("camera0_x.png"));
    std::fs::write(&path, vec![1u8; 77]).unwrap();
    let before = domain::Timestamp::from_unix_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            - 60_000,
    );
    let f = d
        .store
        .stat(FileKind::Snapshot, &name("camera0_x.png"))
        .await
        .unwrap();
    assert_eq!(f.size, 77);
    assert!(f.modified > before);
}

#[tokio::test]
async fn a_file_of_the_other_collection_or_a_symlink_is_not_found() {
    let d = dirs();
    let rec = d.store.dir(FileKind::Recording).to_path_buf();
    std::fs::write(rec.join("x.jpg"), b"x").unwrap();
    let outside = d._root.path().join("outside.mp4");
    std::fs::write(&outside, b"keep me").unwrap();
    symlink(&outside, rec.join("link.mp4")).unwrap();

    for n in ["x.jpg", "link.mp4", "missing.mp4"] {
        let err = d
            .store
            .stat(FileKind::Recording, &name(n))
            .await
            .unwrap_err();
        assert_eq!(err, StoreError::NotFound(name(n)));
        let err = d
            .store
            .delete(FileKind::Recording, &name(n))
            .await
            .unwrap_err();
        assert_eq!(err, StoreError::NotFound(name(n)));
    }
    assert_eq!(std::fs::read(&outside).unwrap(), b"keep me");
    assert!(rec.join("x.jpg").exists());
}

#[tokio::test]
async fn delete_removes_the_file() {
    let d = dirs();
    let n = name("camera0_del.mp4");
    let path = d.store.path_of(FileKind::Recording, &n);
    std::fs::write(&path, b"x").unwrap();
    d.store.delete(FileKind::Recording, &n).await.unwrap();
    assert!(!path.exists());
    assert_eq!(
        d.store.delete(FileKind::Recording, &n).await.unwrap_err(),
        StoreError::NotFound(n)
    );
}

#[tokio::test]
async fn a_taken_name_gets_a_counter_and_nothing_is_overwritten() {
    let d = dirs();
    let wanted = name("camera0_20250115T143000.123Z.jpg");
    let first = d
        .store
        .create_new(FileKind::Snapshot, &wanted)
        .await
        .unwrap();
    std::fs::write(&first.path, b"first").unwrap();
    let second = d
        .store
        .create_new(FileKind::Snapshot, &wanted)
        .await
        .unwrap();
    assert_eq!(first.name, wanted);
    assert_eq!(second.name.as_str(), "camera0_20250115T143000.123Z-2.jpg");
    assert_eq!(std::fs::read(&first.path).unwrap(), b"first");
    assert_eq!(std::fs::metadata(&second.path).unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creators_of_one_name_all_get_their_own_file() {
    let d = dirs();
    let store = Arc::new(d.store.clone());
    let wanted = name("camera0_same.jpg");
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, wanted) = (store.clone(), wanted.clone());
            tokio::spawn(async move {
                store
                    .create_new(FileKind::Snapshot, &wanted)
                    .await
                    .unwrap()
                    .name
            })
        })
        .collect();
    let mut names = HashSet::new();
    for t in tasks {
        assert!(
            names.insert(t.await.unwrap()),
            "a name was handed out twice"
        );
    }
    assert_eq!(d.store.list(FileKind::Snapshot).await.unwrap().len(), 32);
}

#[tokio::test]
async fn space_is_that_of_the_filesystem() {
    let d = dirs();
    let s = d.store.space(FileKind::Recording).await.unwrap();
    assert!(s.total_bytes > 0);
    assert!(s.available_bytes <= s.total_bytes);
    assert!(s.used_bytes <= s.total_bytes);
}

#[tokio::test]
async fn state_documents_survive_a_new_store_and_replace_atomically() {
    let root = tempfile::tempdir().unwrap();
    let key = name("retention.json");
    let store = FsStateStore::open(root.path().join("state")).unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
    store.save(&key, "{\"a\":1}").await.unwrap();
    store.save(&key, "{\"a\":2}").await.unwrap();

    let again = FsStateStore::open(root.path().join("state")).unwrap();
    assert_eq!(
        again.load(&key).await.unwrap().as_deref(),
        Some("{\"a\":2}")
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.path().join("state"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
}

#[tokio::test]
async fn a_file_is_copied_over_a_reserved_name() {
    let d = dirs();
    let snap = d.store.dir(FileKind::Snapshot).to_path_buf();
    std::fs::write(snap.join("camera0_a.jpg"), b"picture").unwrap();
    let reserved = d
        .store
        .create_new(FileKind::Snapshot, &name("camera0_b.jpg"))
        .await
        .unwrap();

    let copied = d
        .store
        .copy(FileKind::Snapshot, &name("camera0_a.jpg"), &reserved.name)
        .await
        .unwrap();

    assert_eq!(copied, 7);
    assert_eq!(std::fs::read(&reserved.path).unwrap(), b"picture");
}

#[tokio::test]
async fn copying_a_missing_file_or_onto_a_symlink_is_refused() {
    let d = dirs();
    let snap = d.store.dir(FileKind::Snapshot).to_path_buf();
    std::fs::write(snap.join("camera0_a.jpg"), b"picture").unwrap();
    std::fs::write(snap.join("elsewhere.txt"), b"keep").unwrap();
    symlink(snap.join("elsewhere.txt"), snap.join("camera0_link.jpg")).unwrap();

    let missing = d
        .store
        .copy(
            FileKind::Snapshot,
            &name("camera0_none.jpg"),
            &name("camera0_a.jpg"),
        )
        .await;
    let onto_link = d
        .store
        .copy(
            FileKind::Snapshot,
            &name("camera0_a.jpg"),
            &name("camera0_link.jpg"),
        )
        .await;

    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert!(
        matches!(onto_link, Err(StoreError::NotFound(_))),
        "{onto_link:?}"
    );
    assert_eq!(std::fs::read(snap.join("elsewhere.txt")).unwrap(), b"keep");
}
