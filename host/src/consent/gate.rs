//! A granted session's way through consent, between the grant and
//! `session_accept`: decide the policy, ask the person at the PC if it is
//! `prompt` (telling the server, and so the viewer, that it waits), and put
//! the session on the notice for as long as it runs.

use std::sync::Arc;
use std::time::Duration;

use meshdesk_protocol::rest::ConsentPolicy;
use meshdesk_protocol::signal::{ConsentMsg, ConsentState, HostToServer};
use tokio::sync::{mpsc, oneshot};

use super::policy::{effective, ConsentFloor};
use super::prompt::Decision;
use super::shield::Shield;
use super::x11::{ConsentUi, UiCmd};
use crate::agent::session::{Grant, SessionIn};

/// The agent's consent: its floor, its windows and their shield.
#[derive(Debug)]
pub struct Consent {
    floor: ConsentFloor,
    /// `None` when the display cannot be opened: prompts then deny.
    ui: Option<ConsentUi>,
    shield: Arc<Shield>,
}

/// What consent made of a granted session.
#[derive(Debug)]
pub enum Admission {
    /// Serve it; while the guard lives the session is on the notice.
    Go(Option<NoticeGuard>),
    /// The person at the PC said no, or did not answer.
    Declined,
    /// The session ended (server or viewer) before an answer.
    Gone,
}

impl Consent {
    /// Open the consent windows on `display` (`$DISPLAY` when `None`).
    pub fn new(floor: ConsentFloor, display: Option<&str>) -> Consent {
        let shield = Arc::new(Shield::default());
        let ui = match ConsentUi::start(display, Arc::clone(&shield)) {
            Ok(ui) => Some(ui),
            Err(e) => {
                tracing::warn!(error = %e, "no consent windows; sessions that need a prompt are declined");
                None
            }
        };
        Consent { floor, ui, shield }
    }

    /// The shield every session's input sink asks.
    pub fn shield(&self) -> Arc<Shield> {
        Arc::clone(&self.shield)
    }

    /// Run `grant` through consent. `inbox` is the session's: an end that
    /// arrives while the prompt is up takes the prompt down.
    pub async fn admit(
        self: &Arc<Self>,
        grant: &Grant,
        out: &mpsc::UnboundedSender<HostToServer>,
        inbox: &mut mpsc::Receiver<SessionIn>,
    ) -> Admission {
        let policy = effective(grant.consent, &self.floor, grant.permission);
        let name = grant.display_name.as_deref().unwrap_or(&grant.user);
        let what = if grant.permission.may_control() {
            "control"
        } else {
            "view"
        };
        tracing::info!(policy = policy.as_str(), "consent");
        if policy == ConsentPolicy::Prompt {
            let text = format!("{name} wants to {what} this PC");
            let decision = self.ask(grant, text, out, inbox).await;
            let state = match decision {
                None => return Admission::Gone,
                Some(Decision::Allowed) => ConsentState::Allowed,
                Some(Decision::Denied) => ConsentState::Denied,
                Some(Decision::TimedOut) => ConsentState::TimedOut,
            };
            tell(out, &grant.session_id, state);
            if state != ConsentState::Allowed {
                return Admission::Declined;
            }
        }
        if policy == ConsentPolicy::Unattended {
            return Admission::Go(None);
        }
        Admission::Go(self.notice(&grant.session_id, format!("{name} ({what})")))
    }

    /// Show the prompt and wait for the answer; `None` if the session
    /// ended first.
    async fn ask(
        &self,
        grant: &Grant,
        text: String,
        out: &mpsc::UnboundedSender<HostToServer>,
        inbox: &mut mpsc::Receiver<SessionIn>,
    ) -> Option<Decision> {
        let Some(ui) = &self.ui else {
            return Some(Decision::Denied);
        };
        let id = grant.session_id.clone();
        tell(out, &id, ConsentState::Waiting);
        let (reply, mut answer) = oneshot::channel();
        let timeout = Duration::from_secs(self.floor.prompt_timeout_secs);
        ui.send(UiCmd::Ask {
            id: id.clone(),
            text,
            timeout,
            reply,
        });
        loop {
            tokio::select! {
                decided = &mut answer => return Some(decided.unwrap_or(Decision::Denied)),
                msg = inbox.recv() => match msg {
                    Some(SessionIn::End) | None => {
                        ui.send(UiCmd::Cancel { id });
                        return None;
                    }
                    // Nothing else means anything before the offer.
                    Some(_) => {}
                },
            }
        }
    }

    fn notice(self: &Arc<Self>, id: &str, line: String) -> Option<NoticeGuard> {
        let ui = self.ui.as_ref()?;
        let (disconnect, clicked) = oneshot::channel();
        ui.send(UiCmd::Show {
            id: id.to_string(),
            line,
            disconnect,
        });
        Some(NoticeGuard {
            consent: Arc::clone(self),
            id: id.to_string(),
            clicked,
        })
    }
}

/// A session's line on the notice, removed when dropped.
#[derive(Debug)]
pub struct NoticeGuard {
    consent: Arc<Consent>,
    id: String,
    clicked: oneshot::Receiver<()>,
}

impl NoticeGuard {
    /// Resolves when the person at the PC clicks this session's
    /// "Disconnect".
    pub async fn disconnected(&mut self) {
        if (&mut self.clicked).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for NoticeGuard {
    fn drop(&mut self) {
        if let Some(ui) = &self.consent.ui {
            ui.send(UiCmd::Hide {
                id: self.id.clone(),
            });
        }
    }
}

/// Tell the server (and through it the viewer) a consent step.
pub fn tell(out: &mpsc::UnboundedSender<HostToServer>, session_id: &str, state: ConsentState) {
    let _ = out.send(HostToServer::Consent(ConsentMsg {
        session_id: session_id.to_string(),
        state,
    }));
}
