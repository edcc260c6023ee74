//! [`Routes`]: the REST API's router, built through a thin wrapper that
//! remembers every path it registers. axum's `Router` cannot list its
//! routes; this list is what the OpenAPI test compares the served document
//! with, so a route added without documentation fails it.

use axum::routing::MethodRouter;
use axum::Router;

use crate::state::AppState;

/// Where the REST API (and the WebSocket endpoints) are mounted.
pub const PREFIX: &str = "/api/v1";

/// A router for part of the REST API, and the paths it serves (relative
/// to [`PREFIX`]).
#[derive(Debug, Default)]
pub struct Routes {
    router: Router<AppState>,
    /// Every path given to [`Routes::route`], in order.
    paths: Vec<&'static str>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve `path` with `methods`, and remember it.
    pub fn route(mut self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, methods);
        self.paths.push(path);
        self
    }

    /// Add another part's routes.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// Every path served, as clients write it (`/api/v1/devices/{id}`).
    pub fn paths(&self) -> Vec<String> {
        self.paths.iter().map(|p| format!("{PREFIX}{p}")).collect()
    }

    /// The axum router.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[test]
    fn merged_routes_keep_every_path() {
        let a = Routes::new().route("/a", get(|| async {}));
        let b = Routes::new()
            .route("/b/{id}", get(|| async {}))
            .route("/c", get(|| async {}));
        assert_eq!(
            a.merge(b).paths(),
            ["/api/v1/a", "/api/v1/b/{id}", "/api/v1/c"]
        );
    }

    #[test]
    fn every_rest_route_is_in_the_openapi_document_and_back() {
        use utoipa::OpenApi;
        let served = crate::api::router().paths();
        let doc = super::super::openapi::ApiDoc::openapi();
        let documented: Vec<&String> = doc.paths.paths.keys().collect();
        for p in &served {
            assert!(documented.contains(&p), "{p} is not documented");
        }
        for p in documented {
            assert!(served.contains(p), "{p} is documented but not served");
        }
    }
}
