//! Progress of one file: a bar on a terminal, nothing otherwise (the
//! command prints one plain line per file when it is done).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// One file's progress.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// For `name` of `size` bytes, starting at `done`.
    pub fn start(name: &str, size: u64, done: u64) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = ProgressBar::new(size);
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(name.to_string());
        bar.set_position(done);
        Self { bar: Some(bar) }
    }

    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
