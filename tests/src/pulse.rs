//! A real PulseAudio server per side of a test, started on a socket in a
//! temporary directory, with one null sink (`out`) as its default: what a
//! host plays lands there and its monitor (`out.monitor`) is what the host
//! records; on the viewer's side it stands in for the speakers and the
//! test records its monitor. Tones are played with `pacat`, recordings
//! read with `parec`, and a tone is found by its frequency (Goertzel).

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::server::TempDir;

/// Sample rate of every tone and recording.
pub const RATE: u32 = 48_000;
/// One analysis block: 20 ms.
const BLOCK: usize = (RATE / 50) as usize;

/// A running PulseAudio server; killed on drop.
#[derive(Debug)]
pub struct Pulse {
    child: Child,
    dir: TempDir,
}

impl Pulse {
    /// Start a server and wait until it answers.
    pub fn start() -> Pulse {
        let dir = TempDir::new("pulse");
        let socket = dir.0.join("native");
        let log = std::fs::File::create(dir.0.join("pulse.log")).expect("pulse log");
        let child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--system=false",
                "--exit-idle-time=-1",
                "--use-pid-file=no",
                "--log-target=stderr",
            ])
            .arg(format!(
                "--load=module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            .arg("--load=module-null-sink sink_name=out rate=48000 channels=2")
            .env("HOME", &dir.0)
            .env("XDG_RUNTIME_DIR", &dir.0)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start pulseaudio (Debian's pulseaudio package)");
        let pulse = Pulse { child, dir };
        crate::wait_until("PulseAudio to answer", crate::WAIT, || {
            pulse
                .pactl(&["info"])
                .is_some_and(|info| info.contains("Default Sink: out"))
        });
        pulse
    }

    /// The `PULSE_SERVER` value that reaches this server.
    pub fn server(&self) -> String {
        format!("unix:{}", self.dir.0.join("native").display())
    }

    /// The server's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("pulse.log")).unwrap_or_default()
    }

    fn tool(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("PULSE_SERVER", self.server())
            .env("HOME", &self.dir.0)
            .env("XDG_RUNTIME_DIR", &self.dir.0);
        cmd
    }

    /// `pactl ARGS`' output, if it succeeded.
    pub fn pactl(&self, args: &[&str]) -> Option<String> {
        let out = self.tool("pactl").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Play a sine of `freq` Hz on the default sink for `length`; the
    /// returned player stops on drop.
    pub fn play_tone(&self, freq: f64, length: Duration) -> Player {
        let path = self.dir.0.join(format!("tone-{freq}.raw"));
        std::fs::write(&path, tone(freq, length)).expect("write tone");
        self.play_file(&path)
    }

    /// Play raw s16le stereo 48 kHz samples from `path`.
    pub fn play_file(&self, path: &std::path::Path) -> Player {
        let child = self
            .tool("pacat")
            .args(RAW_FORMAT)
            .args(["--playback", "--latency-msec=10"])
            .arg(path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pacat (Debian's pulseaudio-utils)");
        Player(child)
    }

    /// Record the default sink's monitor from now on.
    pub fn record(&self) -> Recording {
        let mut child = self
            .tool("parec")
            .args(RAW_FORMAT)
            .args(["--device=out.monitor", "--latency-msec=10"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec (Debian's pulseaudio-utils)");
        let mut stdout = child.stdout.take().expect("parec stdout");
        let (tx, blocks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; BLOCK * 4];
            while stdout.read_exact(&mut buf).is_ok() {
                let mono: Vec<f64> = buf
                    .chunks_exact(4)
                    .map(|f| {
                        let l = i16::from_le_bytes([f[0], f[1]]) as f64;
                        let r = i16::from_le_bytes([f[2], f[3]]) as f64;
                        (l + r) / 2.0 / 32768.0
                    })
                    .collect();
                if tx.send((Instant::now(), mono)).is_err() {
                    return;
                }
            }
        });
        Recording { child, blocks }
    }

    /// Where the server keeps its socket and files.
    pub fn dir(&self) -> PathBuf {
        self.dir.0.clone()
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pacat`/`parec` options for our raw format.
const RAW_FORMAT: [&str; 4] = ["--raw", "--format=s16le", "--rate=48000", "--channels=2"];

/// A playing `pacat`; stopped on drop.
#[derive(Debug)]
pub struct Player(Child);

impl Drop for Player {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running recording, read block by block (20 ms, mono, -1..1).
#[derive(Debug)]
pub struct Recording {
    child: Child,
    blocks: mpsc::Receiver<(Instant, Vec<f64>)>,
}

impl Recording {
    /// Wait until a block carries a tone of `freq` Hz (see [`has_tone`]);
    /// `None` if none did within `bound`.
    pub fn wait_for_tone(&self, freq: f64, bound: Duration) -> Option<Instant> {
        let deadline = Instant::now() + bound;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let (at, block) = self.blocks.recv_timeout(left).ok()?;
            if has_tone(&block, freq) {
                return Some(at);
            }
        }
    }

    /// Whether any block of the next `window` carries a tone of `freq`.
    pub fn hears_tone_within(&self, freq: f64, window: Duration) -> bool {
        self.wait_for_tone(freq, window).is_some()
    }

    /// Drop what was recorded so far.
    pub fn skip_buffered(&self) {
        while self.blocks.try_recv().is_ok() {}
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Raw s16le stereo samples of a sine at a quarter of full scale.
pub fn tone(freq: f64, length: Duration) -> Vec<u8> {
    let n = (length.as_secs_f64() * RATE as f64) as usize;
    (0..n)
        .flat_map(|i| {
            let v = (0.25 * 32767.0 * (std::f64::consts::TAU * freq * i as f64 / RATE as f64).sin())
                as i16;
            let b = v.to_le_bytes();
            [b[0], b[1], b[0], b[1]]
        })
        .collect()
}

/// The share of a block's energy at `freq` (Goertzel), 0 to about 1.
pub fn tone_share(block: &[f64], freq: f64) -> f64 {
    let total: f64 = block.iter().map(|s| s * s).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let w = std::f64::consts::TAU * freq / RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &x in block {
        let s = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    // A pure sine of N samples gives power N^2 A^2 / 4 and energy N A^2 / 2.
    2.0 * power / (block.len() as f64 * total)
}

/// Whether a block is audible and mostly a tone of `freq`.
pub fn has_tone(block: &[f64], freq: f64) -> bool {
    let rms = (block.iter().map(|s| s * s).sum::<f64>() / block.len().max(1) as f64).sqrt();
    rms > 0.02 && tone_share(block, freq) > 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mono(freq: f64) -> Vec<f64> {
        let raw = tone(freq, Duration::from_millis(20));
        raw.chunks_exact(4)
            .map(|f| i16::from_le_bytes([f[0], f[1]]) as f64 / 32768.0)
            .collect()
    }

    #[test]
    fn finds_the_tone_it_made_and_not_another() {
        assert!(has_tone(&mono(1000.0), 1000.0));
        assert!(!has_tone(&mono(1000.0), 1500.0));
        assert!(!has_tone(&vec![0.0; BLOCK], 1000.0));
    }
}
