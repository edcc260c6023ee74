//! The UDP listener: STUN and TURN requests, Send indications and
//! ChannelData from clients, all on one socket.

use std::sync::Arc;

use super::core::ClientKey;
use super::Shared;

/// Serve the listening socket until aborted.
pub async fn serve(shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_536];
    let mut out = Vec::new();
    loop {
        let (n, from) = match shared.udp.recv_from(&mut buf).await {
            Ok(v) => v,
            Err(e) => {
                // ICMP errors for earlier sends can surface here; keep serving.
                tracing::debug!(error = %e, "relay UDP read failed");
                tokio::task::yield_now().await;
                continue;
            }
        };
        shared
            .core()
            .handle_client(Shared::now(), ClientKey::Udp(from), &buf[..n], &mut out);
        shared.dispatch(&mut out);
    }
}
