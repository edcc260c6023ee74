//! Figures of a session: input-to-photon ([`latency`], the pure sampler,
//! and [`clicks`], its driver) and the `--stats-json` [`report`]. Uses the
//! session and the video; neither of them uses this.

pub mod clicks;
pub mod latency;
pub mod report;

pub use latency::LatencyReport;
pub use report::{QualitySample, Report, Timeline};
