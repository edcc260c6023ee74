//! `meshdesk-signaling backup` and `restore` with the real binary, under
//! load: writers keep making accounts and shares (each share is a feed
//! event) while the backup runs; the backup is restored into another data
//! dir, a server started there, and everything acknowledged before the
//! backup began is present, in a database that passes `PRAGMA
//! integrity_check`. A restore under a live server is refused.

use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meshdesk_protocol::rest::SharePermission;
use meshdesk_tests::server::{binary, TempDir};
use meshdesk_tests::{Api, Server, TestDevice, WAIT};
use rusqlite::{Connection, OpenFlags};

const PASSWORD: &str = "password-123";

/// `meshdesk-signaling SUBCOMMAND FILE --data-dir DIR`.
fn maintenance(subcommand: &str, file: &Path, data_dir: &Path) -> Output {
    std::process::Command::new(binary("meshdesk-signaling"))
        .arg(subcommand)
        .arg(file)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run meshdesk-signaling")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// What the writers were told succeeded, in order.
#[derive(Debug, Default)]
struct Acked {
    accounts: Vec<String>,
    /// Usernames the device was shared with.
    shares: Vec<String>,
}

/// Until `stop`: sign up `w-N` and share the device with it, recording
/// each success once the server answered.
async fn write_until(
    api: Api,
    owner: String,
    device: String,
    acked: Arc<Mutex<Acked>>,
    stop: Arc<tokio::sync::Notify>,
    tag: u32,
) {
    let owner = api.client(&owner);
    for n in 0.. {
        let name = format!("w{tag}-{n}");
        let work = async {
            api.anonymous()
                .sign_up(&name, PASSWORD)
                .await
                .expect("sign up");
            acked.lock().expect("lock").accounts.push(name.clone());
            owner
                .grant_share(&device, &name, SharePermission::View)
                .await
                .expect("share");
            acked.lock().expect("lock").shares.push(name.clone());
        };
        tokio::select! {
            () = work => {}
            () = stop.notified() => return,
        }
    }
}

/// Wait until at least `n` accounts are acknowledged.
async fn wait_accounts(acked: &Mutex<Acked>, n: usize) {
    let deadline = Instant::now() + WAIT * 3;
    while acked.lock().expect("lock").accounts.len() < n {
        assert!(
            Instant::now() < deadline,
            "writers made fewer than {n} accounts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rows(db: &Path, sql: &str) -> Vec<String> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let mut st = c.prepare(sql).expect("prepare");
    let got = st.query_map([], |r| r.get::<_, String>(0)).expect("query");
    got.map(|r| r.expect("row")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_restores_everything_acknowledged_before_it() {
    let server = Server::start();
    let api = Api::new(&server);
    let owner = api.user("owner").await;
    let device = TestDevice::enroll(&api, &api.code(&owner).await, "pc").await;
    let acked = Arc::new(Mutex::new(Acked::default()));
    let stop = Arc::new(tokio::sync::Notify::new());
    let writers: Vec<_> = (0..2)
        .map(|tag| {
            let w = write_until(
                api.clone(),
                owner.clone(),
                device.id.clone(),
                acked.clone(),
                stop.clone(),
                tag,
            );
            tokio::spawn(w)
        })
        .collect();
    wait_accounts(&acked, 20).await;

    // Everything acknowledged now must be in the backup.
    let (accounts, shares) = {
        let a = acked.lock().expect("lock");
        (a.accounts.clone(), a.shares.clone())
    };
    let dir = TempDir::new("backup");
    let file = dir.0.join("meshdesk-backup.db");
    let data_dir = server.data_dir();
    let (f, d) = (file.clone(), data_dir.clone());
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || maintenance("backup", &f, &d))
        .await
        .expect("backup ran");
    eprintln!("backup took {:?}", started.elapsed());
    assert!(out.status.success(), "backup: {}", text(&out));
    assert!(text(&out).contains("backed up"), "{}", text(&out));
    // The writers went on meanwhile: the server was not held up.
    let during = acked.lock().expect("lock").accounts.len();
    wait_accounts(&acked, during + 2).await;
    stop.notify_waiters();
    for w in writers {
        w.abort();
    }

    // A restore under the live server is refused, and changes nothing.
    let refused = maintenance("restore", &file, &data_dir);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("stop it before restoring"),
        "{}",
        text(&refused)
    );

    // Restore into another server's data dir, while that server is stopped.
    let mut fresh = Server::start();
    // Stopped either way (a SIGTERM this early may beat the handler).
    fresh.stop();
    let restored = maintenance("restore", &file, &fresh.data_dir());
    assert!(restored.status.success(), "restore: {}", text(&restored));
    assert!(
        fresh.data_dir().join("meshdesk.db.bak").exists(),
        "the previous one kept aside"
    );
    fresh.restart();

    let db = fresh.data_dir().join("meshdesk.db");
    assert_eq!(rows(&db, "PRAGMA integrity_check"), ["ok"]);
    let users = rows(&db, "SELECT username FROM users");
    eprintln!(
        "acknowledged before the backup: {} accounts, {} shares; in it: {} accounts; after it: {}",
        accounts.len(),
        shares.len(),
        users.len(),
        acked.lock().expect("lock").accounts.len()
    );
    for name in accounts.iter().chain(["owner".to_string()].iter()) {
        assert!(users.contains(name), "account {name} missing after restore");
    }
    let shared = rows(
        &db,
        "SELECT u.username FROM shares s JOIN users u ON u.id = s.user_id",
    );
    for name in &shares {
        assert!(
            shared.contains(name),
            "share with {name} missing after restore"
        );
    }
    let granted = rows(
        &db,
        "SELECT target_user FROM events WHERE kind = 'share_granted'",
    );
    for name in &shares {
        assert!(
            granted.contains(name),
            "feed event of the share with {name} missing"
        );
    }

    // The restored server serves them: the owner and a writer sign in,
    // and the writer sees the device shared with it.
    let api = Api::new(&fresh);
    api.login("owner").await;
    let first = shares
        .first()
        .expect("at least one share before the backup");
    let token = api.login(first).await;
    let devices = api.client(&token).devices().await.expect("devices");
    assert!(devices.iter().any(|d| d.id == device.id), "{devices:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_files_that_are_not_meshdesk_databases() {
    let dir = TempDir::new("restore-bad");
    let junk = dir.0.join("junk.db");
    std::fs::write(
        &junk,
        "not a database, only text that is long enough to look like one",
    )
    .expect("write");
    let out = maintenance("restore", &junk, &dir.0.join("data"));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a SQLite database"),
        "{}",
        text(&out)
    );
    let other = dir.0.join("other.db");
    Connection::open(&other)
        .and_then(|c| c.execute_batch("CREATE TABLE notes (x TEXT)"))
        .expect("other db");
    let out = maintenance("restore", &other, &dir.0.join("data"));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not a Meshdesk database"),
        "{}",
        text(&out)
    );
    assert!(
        !dir.0.join("data").join("meshdesk.db").exists(),
        "nothing restored"
    );
}
