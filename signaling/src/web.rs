//! Pages and assets served from the binary, and the security headers every
//! response carries.

use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use meshdesk_protocol::rest::ErrorBody;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::bundle;
use crate::error::Error;
use crate::state::AppState;

/// One embedded file under `assets/`: served path, content type, text.
macro_rules! asset {
    ($rel:literal, $ctype:expr) => {
        (
            concat!("/assets/", $rel),
            $ctype,
            include_str!(concat!("../assets/", $rel)),
        )
    };
}

/// Embedded files: path, content type, bytes. The web app is plain JavaScript
/// modules and CSS: no build step. The page loads the modules joined into
/// one script ([`BUNDLE`]), which the server builds from them when it starts.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", HTML, include_str!("../assets/index.html")),
    asset!("app.css", CSS),
    asset!("icon.svg", SVG),
    asset!("js/api.js", JS),
    asset!("js/boot.js", JS),
    asset!("js/app.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/format.js", JS),
    asset!("js/live.js", JS),
    asset!("js/webauthn.js", JS),
    asset!("js/session/clipboard.js", JS),
    asset!("js/session/clipboard-sync.js", JS),
    asset!("js/session/connection.js", JS),
    asset!("js/session/controller.js", JS),
    asset!("js/session/decoder-worker.js", JS),
    asset!("js/session/files.js", JS),
    asset!("js/session/files-channel.js", JS),
    asset!("js/session/hash-worker.js", JS),
    asset!("js/session/hashing.js", JS),
    asset!("js/session/sound-worklet.js", JS),
    asset!("js/session/sound.js", JS),
    asset!("js/session/geometry.js", JS),
    asset!("js/session/h264.js", JS),
    asset!("js/session/input.js", JS),
    asset!("js/session/sdp.js", JS),
    asset!("js/session/stats.js", JS),
    asset!("js/session/surface.js", JS),
    asset!("js/session/transfer-list.js", JS),
    asset!("js/session/trust.js", JS),
    asset!("js/session/view.js", JS),
    asset!("js/views/devices.js", JS),
    asset!("js/views/dialogs.js", JS),
    asset!("js/views/consent.js", JS),
    asset!("js/views/factors.js", JS),
    asset!("js/views/files.js", JS),
    asset!("js/views/feed.js", JS),
    asset!("js/views/secondstep.js", JS),
    asset!("js/views/settings.js", JS),
    asset!("js/views/signin.js", JS),
    asset!("js/views/tokens.js", JS),
    asset!("js/views/webhooks.js", JS),
    // @noble/hashes' SHA-256, vendored unchanged by scripts/vendor-js,
    // with its licence.
    asset!("js/vendor/noble-hashes/_md.js", JS),
    asset!("js/vendor/noble-hashes/_u64.js", JS),
    asset!("js/vendor/noble-hashes/sha2.js", JS),
    asset!("js/vendor/noble-hashes/utils.js", JS),
    asset!("js/vendor/noble-hashes/LICENSE", TEXT),
    asset!("js/vendor/noble-hashes/README.md", TEXT),
];

/// The app's modules as one script (`bundle.rs`), from `js/app.js` down.
/// It lives in `js/`, the directory the module paths are relative to.
pub const BUNDLE: &str = "/assets/js/app.bundle.js";

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";
const TEXT: &str = "text/plain; charset=utf-8";

/// The Content-Security-Policy: no inline script, nothing from elsewhere.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    let mut r = Router::new()
        .route("/", get(|| async { page(built().index.as_str()) }))
        .route(
            BUNDLE,
            get(|| async { asset(JS, built().bundle.as_str(), REVALIDATE) }),
        )
        .route(
            &format!(
                "{}{}",
                built().prefix,
                BUNDLE.trim_start_matches("/assets/")
            ),
            get(|| async { asset(JS, built().bundle.as_str(), IMMUTABLE) }),
        );
    for &(path, ctype, body) in ASSETS.iter().filter(|(p, _, _)| *p != "/") {
        let rel = path.trim_start_matches("/assets/");
        r = r
            .route(
                path,
                get(move || async move { asset(ctype, body, REVALIDATE) }),
            )
            .route(
                &format!("{}{rel}", built().prefix),
                get(move || async move { asset(ctype, body, IMMUTABLE) }),
            );
    }
    r
}

/// Plain `/assets/...` paths may change with the binary: always revalidate.
const REVALIDATE: &str = "no-cache";

/// Versioned paths never change meaning: keep them (and the code compiled
/// from them) for a year.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// This build's assets under a path of their own.
///
/// The page links every asset under `/assets/VERSION/`, `VERSION` being a
/// hash of all of them. A reload then fetches only the page: the browser
/// has every module, the stylesheet and their compiled code already, and
/// over a real network each of its files no longer costs a revalidation
/// round trip (on loopback the time to a first picture changed within the
/// noise). A binary with different assets has another version, so nobody
/// runs stale code. Relative imports inside the modules stay under the
/// same version.
struct Built {
    /// `/assets/VERSION/`.
    prefix: String,
    /// index.html with its asset links under [`Self::prefix`].
    index: String,
    /// The modules joined into one script.
    bundle: String,
}

fn built() -> &'static Built {
    static BUILT: std::sync::LazyLock<Built> = std::sync::LazyLock::new(|| {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for (path, _, body) in ASSETS {
            hash.update(path.as_bytes());
            hash.update([0]);
            hash.update(body.as_bytes());
            hash.update([0]);
        }
        let version = hex::encode(&hash.finalize()[..6]);
        let prefix = format!("/assets/{version}/");
        let html = ASSETS
            .iter()
            .find(|(p, _, _)| *p == "/")
            .map_or("", |a| a.2);
        let index = html.replace("\"/assets/", &format!("\"{prefix}"));
        // The modules are embedded constants, and a test bundles them:
        // this cannot fail in a binary whose tests passed.
        let bundle = bundle::bundle("app.js", module).expect("the web app's modules bundle");
        Built {
            prefix,
            index,
            bundle,
        }
    });
    &BUILT
}

/// An embedded module by its path under `js/`.
fn module(path: &str) -> Option<&'static str> {
    ASSETS
        .iter()
        .find(|(p, _, _)| p.strip_prefix("/assets/js/") == Some(path))
        .map(|a| a.2)
}

/// The app's page: never stored, so a new binary's page (and asset
/// version) is what the next load gets.
fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HTML),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

fn asset(ctype: &'static str, body: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// JSON 404 for unknown paths.
pub async fn not_found(uri: Uri) -> Error {
    tracing::debug!(path = %uri.path(), "no such route");
    Error::NotFound("route")
}

/// JSON 405 for known paths called with a method they do not have (axum's
/// default 405 has an empty body, breaking the `{"error": ...}` contract).
pub async fn method_not_allowed() -> Response {
    let body = ErrorBody {
        error: "method not allowed".into(),
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// Layers adding the security headers to every response.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let headers: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    let mut router = router;
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ));
    }
    router.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
}

#[cfg(test)]
mod tests {
    use super::{built, module, ASSETS, BUNDLE};

    /// The page loads the bundle, and the bundle holds every module the app
    /// imports (and not the decoder worker, which runs on its own).
    #[test]
    fn the_page_loads_the_app_as_one_bundle() {
        let b = built();
        let script = format!(
            "<script type=\"module\" src=\"{}{}\">",
            b.prefix,
            BUNDLE.trim_start_matches("/assets/")
        );
        assert!(b.index.contains(&script), "{}", b.index);
        assert!(!b.index.contains("js/app.js"), "{}", b.index);
        for path in [
            "app.js",
            "live.js",
            "session/view.js",
            "session/connection.js",
            "views/devices.js",
            "views/dialogs.js",
        ] {
            assert!(module(path).is_some(), "{path}");
            assert!(
                b.bundle.contains(&format!("// --- {path}\n")),
                "{path} not in the bundle"
            );
        }
        assert!(
            !b.bundle.contains("// --- session/decoder-worker.js"),
            "the worker is not bundled"
        );
        assert!(b.bundle.contains(
            "new URL('./decoder-worker.js', new URL('session/surface.js', import.meta.url).href)"
        ));
    }

    /// Every file under assets/ is served: a module added to the app but
    /// not to `ASSETS` would fail to load in the browser.
    #[test]
    fn every_asset_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("assets dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path.strip_prefix(&dir).expect("under assets");
                let rel = rel.to_string_lossy().replace('\\', "/");
                let served = if rel == "index.html" {
                    "/".to_string()
                } else {
                    format!("/assets/{rel}")
                };
                assert!(
                    ASSETS.iter().any(|(p, _, _)| *p == served),
                    "{rel} is not in ASSETS"
                );
            }
        }
    }
}
