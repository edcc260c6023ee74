//! The layer that counts HTTP responses by status class on the main
//! listener (WebSocket upgrades count as `1xx`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::Metrics;

/// Middleware (`axum::middleware::from_fn_with_state`): run the request,
/// count its status class.
pub async fn count(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    m.http_response(resp.status().as_u16());
    resp
}

/// `2xx` for 204, and so on.
fn class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    /// A response with this status went out.
    pub fn http_response(&self, status: u16) {
        self.http_responses
            .with_label_values(&[class(status)])
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_in_their_class() {
        assert_eq!(class(101), "1xx");
        assert_eq!(class(204), "2xx");
        assert_eq!(class(308), "3xx");
        assert_eq!(class(429), "4xx");
        assert_eq!(class(503), "5xx");
    }
}
