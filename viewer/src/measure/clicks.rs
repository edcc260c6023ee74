//! The driver of the input-to-photon measurement: feeds decoded pictures to
//! the [`Sampler`] and sends its clicks (left button down and up at the
//! centre of the remote screen) to the session as ordinary input.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Instant;

use meshdesk_protocol::input::{InputMsg, MouseButton};
use tokio::sync::mpsc;

use super::latency::{Sampler, Step};
use crate::session::SessionCommand;
use crate::video::Picture;

/// A sampler for `wanted` samples, its pauses seeded at random.
pub fn sampler(wanted: u32) -> Sampler {
    Sampler::new(wanted, RandomState::new().hash_one(Instant::now()))
}

/// Take the sampler's samples; returns when it is done or the pictures
/// stop (the session ended). Dropping the future leaves the samples taken
/// so far in `sampler`.
pub async fn run(
    sampler: &mut Sampler,
    pictures: &mut mpsc::UnboundedReceiver<Picture>,
    commands: &mpsc::UnboundedSender<SessionCommand>,
) {
    loop {
        // Everything decoded so far first, so a click starts from the
        // newest colour.
        while let Ok(picture) = pictures.try_recv() {
            feed(sampler, picture);
        }
        let wait = match sampler.poll(Instant::now()) {
            Step::Done => return,
            Step::Click => {
                // Instants print as CLOCK_MONOTONIC (on Linux), the clock
                // other processes' timestamps can be compared with.
                tracing::debug!(at = ?Instant::now(), "latency: click");
                click(commands);
                continue;
            }
            Step::WaitUntil(at) => Some(at),
            Step::WaitForPicture => None,
        };
        let sleep = async {
            match wait {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            picture = pictures.recv() => match picture {
                Some(picture) => feed(sampler, picture),
                None => return,
            },
            _ = sleep => {}
        }
    }
}

/// Give the sampler a picture; log the one that completed a sample.
fn feed(sampler: &mut Sampler, picture: Picture) {
    let taken = sampler.samples().len();
    sampler.on_picture(picture);
    if let Some(Some(sample)) = sampler.samples().get(taken) {
        tracing::debug!(
            received = ?picture.received,
            decoded = ?picture.decoded,
            total = ?sample.total,
            "latency: change seen"
        );
    }
}

fn click(commands: &mpsc::UnboundedSender<SessionCommand>) {
    for down in [true, false] {
        let msg = InputMsg::PointerButton {
            button: MouseButton::Left,
            down,
            x: 0.5,
            y: 0.5,
        };
        // A closed channel means the session is over; the pictures stop too.
        let _ = commands.send(SessionCommand::Input(msg));
    }
}
