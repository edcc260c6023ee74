//! A hook the encode thread calls with each frame's encode time, so the
//! agent can keep a histogram without the media code knowing of metrics.
//! One call per encoded frame: it must be cheap (an atomic add or two).

use std::sync::Arc;
use std::time::Duration;

/// Called with the encode time of every frame the pipeline encodes.
#[derive(Clone)]
pub struct EncodeProbe(Arc<dyn Fn(Duration) + Send + Sync>);

impl EncodeProbe {
    pub fn new(f: impl Fn(Duration) + Send + Sync + 'static) -> EncodeProbe {
        EncodeProbe(Arc::new(f))
    }

    pub fn encoded(&self, took: Duration) {
        (self.0)(took);
    }
}

impl std::fmt::Debug for EncodeProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncodeProbe")
    }
}
