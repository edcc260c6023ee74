//! A webhook receiver on 127.0.0.1: a real HTTP server (axum) that keeps
//! every request it gets, answers 500 for as many requests as it is told
//! to (and slowly, when told to), and checks signatures on request of the
//! test.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Notify;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    /// The body as JSON.
    pub fn payload(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Check `Meshdesk-Signature` as a receiver should: the HMAC of
    /// `"{t}.{body}"` under `secret`, and `t` within 5 minutes of now.
    pub fn assert_signed(&self, secret: &str) {
        let sig = self.header("meshdesk-signature");
        let (t, v1) = sig
            .split_once(',')
            .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
            .unwrap_or_else(|| panic!("malformed signature header `{sig}`"));
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(&self.body);
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            v1,
            want,
            "signature of delivery {}",
            self.header("meshdesk-delivery")
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let t: i64 = t.parse().expect("t is a number");
        assert!(
            (now - t).abs() < 300,
            "t={t} is not within 5 minutes of {now}"
        );
    }
}

#[derive(Debug, Default)]
struct Inner {
    got: Mutex<Vec<Received>>,
    /// Requests still to be answered 500.
    fail_next: AtomicU32,
    /// How long each answer waits, in milliseconds (a slow receiver).
    delay_ms: AtomicU64,
    arrived: Notify,
}

/// The running receiver; stops on drop.
#[derive(Debug)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listen on a free port of 127.0.0.1.
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let addr: SocketAddr = listener.local_addr().expect("address");
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            inner,
            task,
        }
    }

    /// Answer the next `n` requests with 500.
    pub fn fail_next(&self, n: u32) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    /// Answer every request only after `d` (each is recorded on arrival).
    pub fn delay_each(&self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.inner.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.got.lock().expect("lock").clone()
    }

    /// Requests answered 2xx so far.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.status < 300)
            .collect()
    }

    /// Wait until `done` holds for the requests received, at most `bound`.
    pub async fn wait(&self, what: &str, bound: Duration, done: impl Fn(&[Received]) -> bool) {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let arrived = self.inner.arrived.notified();
            if done(&self.received()) {
                return;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "timed out waiting for {what}; received {:#?}",
                    self.received()
                );
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let fail = inner
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let status = if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    };
    inner.got.lock().expect("lock").push(Received {
        headers,
        body,
        status: status.as_u16(),
    });
    inner.arrived.notify_waiters();
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    status
}
