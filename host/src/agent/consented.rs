//! A session task with consent around it: the grant goes through
//! [`Consent::admit`] first (nothing is captured or offered before), and a
//! session on the notice ends when the person at the PC clicks its
//! "Disconnect". Between the two the session itself runs unchanged.

use std::sync::Arc;

use meshdesk_protocol::signal::{ConsentState, EndReason, HostToServer};
use tokio::sync::mpsc;

use super::session::{self, Finished, Grant, SessionEnv, SessionIn};
use crate::consent::gate::tell;
use crate::consent::{Admission, Consent, NoticeGuard};

/// Run a granted session through consent and then to its end.
pub async fn run(
    grant: Grant,
    consent: Arc<Consent>,
    env: SessionEnv,
    mut inbox: mpsc::Receiver<SessionIn>,
) -> Finished {
    let out = env.out.clone();
    let session_id = grant.session_id.clone();
    let notice = match consent.admit(&grant, &out, &mut inbox).await {
        Admission::Go(notice) => notice,
        Admission::Declined => {
            return Finished {
                session_id,
                reason: Some(EndReason::Declined),
            }
        }
        Admission::Gone => {
            return Finished {
                session_id,
                reason: None,
            }
        }
    };
    let shield = consent.shield();
    let Some(notice) = notice else {
        return session::run(grant, env, inbox, shield).await;
    };
    let (tx, rx) = mpsc::channel(64);
    let session = session::run(grant, env, rx, shield);
    until_disconnected(session, notice, inbox, tx, &out, &session_id).await
}

/// Pass the agent's messages on to the session until it ends; a click on
/// "Disconnect" ends it as the remote user's doing.
async fn until_disconnected(
    session: impl std::future::Future<Output = Finished>,
    mut notice: NoticeGuard,
    mut inbox: mpsc::Receiver<SessionIn>,
    tx: mpsc::Sender<SessionIn>,
    out: &mpsc::UnboundedSender<HostToServer>,
    session_id: &str,
) -> Finished {
    tokio::pin!(session);
    let mut ended_here = false;
    let mut inbox_open = true;
    loop {
        tokio::select! {
            finished = &mut session => {
                if !ended_here {
                    return finished;
                }
                return Finished { reason: Some(EndReason::RemoteUserEnded), ..finished };
            }
            msg = inbox.recv(), if inbox_open => {
                inbox_open = msg.is_some();
                let _ = tx.try_send(msg.unwrap_or(SessionIn::End));
            }
            () = notice.disconnected(), if !ended_here => {
                tracing::info!("disconnected by the remote user");
                ended_here = true;
                tell(out, session_id, ConsentState::Disconnected);
                let _ = tx.try_send(SessionIn::End);
            }
        }
    }
}
