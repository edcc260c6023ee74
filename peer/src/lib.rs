//! Code shared by the host and the viewer: signaling client, WebRTC session wrapper, H.264 framing.
