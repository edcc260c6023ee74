//! The `files` data channel: listing a device's shared folders, sending
//! files into its receive folder or a shared folder, and fetching files.
//!
//! Requests ([`FilesRequest`]) go from the viewer to the host and replies
//! ([`FilesReply`]) back, as JSON text; every request carries an `id` the
//! viewer chose, and every reply names it. File data goes as binary
//! messages ([`Chunk`]): the transfer's id and the offset of the data,
//! then the data. The channel is ordered and reliable.
//!
//! Flow: the side receiving data acknowledges what it has written
//! ([`FilesRequest::Ack`], [`FilesReply::Ack`]); a sender never has more
//! than [`WINDOW_BYTES`] beyond the last acknowledgement in flight, so
//! neither side holds more than that in memory, whatever the file size.
//!
//! Sending (`put`): the host answers `put_ready` with the offset to start
//! from. A transfer cut off earlier resumes there: the partial data of a
//! file is kept in a `.part` file, found again by the file's name, size and
//! modification time, until the sender's `put_end` announces the SHA-256
//! and all of the data matches it. Fetching (`get`)
//! starts at the offset the viewer names (what it already has); the host
//! ends with `get_done` and the SHA-256 of the whole file.

use serde::{Deserialize, Serialize};

use crate::codec::{decode_limited, DecodeError};

/// Data bytes in one chunk message (the last one of a file may be
/// shorter).
pub const CHUNK_BYTES: usize = 32 * 1024;
/// Bytes a sender may have sent beyond the receiver's last
/// acknowledgement.
pub const WINDOW_BYTES: u64 = 4 * 1024 * 1024;
/// How often (in bytes written) a receiver acknowledges.
pub const ACK_EVERY: u64 = 512 * 1024;
/// Largest text message on the channel (a listing of a big folder).
pub const MAX_FILES_TEXT_BYTES: usize = 4 * 1024 * 1024;
/// Longest file name accepted (most file systems allow 255 bytes).
pub const MAX_NAME_BYTES: usize = 255;
/// Entries of one folder listed at most; `truncated` says there were more.
pub const MAX_ENTRIES: usize = 10_000;
/// Bytes before the data in a chunk: the id (4) and the offset (8), both
/// big-endian.
pub const CHUNK_HEADER: usize = 12;

/// A viewer's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilesRequest {
    /// List a folder: `""` lists the shared folders themselves, each named
    /// by its last path component; `Documents/reports` a folder in one.
    List { id: u32, path: String },
    /// Send a file of `size` bytes. `folder`: a shared folder to put it in
    /// (as `list` names it; needs `control`); absent: the receive folder.
    /// `modified_ms` (the file's modification time) tells a resumed
    /// transfer of the same file from another file of the same name and
    /// size. The data follows `put_ready`, then `put_end`.
    Put {
        id: u32,
        name: String,
        size: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        folder: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        modified_ms: Option<u64>,
    },
    /// All data of `put` `id` was sent; the whole file has this SHA-256
    /// (lowercase hex). The host keeps the file only if its data matches.
    PutEnd { id: u32, sha256: String },
    /// Fetch a file of a shared folder (`Documents/report.pdf`) from
    /// `offset` on (what the viewer already has of it).
    Get {
        id: u32,
        path: String,
        #[serde(default)]
        offset: u64,
    },
    /// The viewer has written the data of `get` `id` up to `offset`.
    Ack { id: u32, offset: u64 },
    /// Stop transfer `id` (a `put` keeps its partial data to resume).
    Cancel { id: u32 },
}

impl FilesRequest {
    /// The request's id.
    pub fn id(&self) -> u32 {
        match self {
            FilesRequest::List { id, .. }
            | FilesRequest::Put { id, .. }
            | FilesRequest::PutEnd { id, .. }
            | FilesRequest::Get { id, .. }
            | FilesRequest::Ack { id, .. }
            | FilesRequest::Cancel { id } => *id,
        }
    }
}

/// What a folder entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Folder,
    File,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    /// Bytes (0 for a folder).
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_ms: Option<u64>,
}

/// The host's reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilesReply {
    /// The entries of `path`, folders first, then by name.
    Listing {
        id: u32,
        path: String,
        entries: Vec<Entry>,
        /// Whether the folder has more than [`MAX_ENTRIES`] entries.
        #[serde(default)]
        truncated: bool,
    },
    /// Send the data of `put` `id` from `offset` on.
    PutReady { id: u32, offset: u64 },
    /// The host has written the data of `put` `id` up to `offset`.
    Ack { id: u32, offset: u64 },
    /// The file is complete and its SHA-256 matches; it is stored as
    /// `name` (another name when the one sent was taken).
    PutDone { id: u32, name: String },
    /// The data of `get` `id` follows, from `offset` to `size`.
    GetReady {
        id: u32,
        name: String,
        size: u64,
        offset: u64,
    },
    /// All data of `get` `id` was sent; the whole file has this SHA-256.
    GetDone { id: u32, sha256: String },
    /// Request or transfer `id` failed (`None`: a message that named no
    /// id, or not one that could be read).
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u32>,
        message: String,
    },
}

impl FilesReply {
    /// The reply's id, if it has one.
    pub fn id(&self) -> Option<u32> {
        match self {
            FilesReply::Listing { id, .. }
            | FilesReply::PutReady { id, .. }
            | FilesReply::Ack { id, .. }
            | FilesReply::PutDone { id, .. }
            | FilesReply::GetReady { id, .. }
            | FilesReply::GetDone { id, .. } => Some(*id),
            FilesReply::Error { id, .. } => *id,
        }
    }
}

/// Decode a request from untrusted text.
pub fn decode_request(text: &str) -> Result<FilesRequest, DecodeError> {
    decode_limited(text, crate::MAX_MESSAGE_BYTES)
}

/// Decode a reply from untrusted text.
pub fn decode_reply(text: &str) -> Result<FilesReply, DecodeError> {
    decode_limited(text, MAX_FILES_TEXT_BYTES)
}

/// A binary message of file data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk<'a> {
    pub id: u32,
    pub offset: u64,
    pub data: &'a [u8],
}

/// Why a binary message is not a chunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("a chunk of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("a chunk of {len} data bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
}

impl<'a> Chunk<'a> {
    /// Read a chunk from an untrusted binary message.
    pub fn decode(message: &'a [u8]) -> Result<Self, ChunkError> {
        if message.len() < CHUNK_HEADER {
            return Err(ChunkError::Short(message.len()));
        }
        let (header, data) = message.split_at(CHUNK_HEADER);
        if data.len() > CHUNK_BYTES {
            return Err(ChunkError::TooLarge {
                len: data.len(),
                max: CHUNK_BYTES,
            });
        }
        let mut id = [0u8; 4];
        id.copy_from_slice(&header[..4]);
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&header[4..]);
        Ok(Chunk {
            id: u32::from_be_bytes(id),
            offset: u64::from_be_bytes(offset),
            data,
        })
    }

    /// The binary message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CHUNK_HEADER + self.data.len());
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.offset.to_be_bytes());
        out.extend_from_slice(self.data);
        out
    }
}

/// Whether `name` may name a file in a folder: one non-empty path
/// component, no `/`, `\`, NUL, `.` or `..`, at most [`MAX_NAME_BYTES`].
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the file name is empty".into());
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "the file name is longer than {MAX_NAME_BYTES} bytes"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("{name:?} is not a file name"));
    }
    if name.contains('/') || name.contains('\\') {
        return Err(format!("the file name {name:?} contains a path separator"));
    }
    if name.contains('\0') {
        return Err("the file name contains a NUL byte".into());
    }
    if name.chars().any(char::is_control) {
        return Err("the file name contains a control character".into());
    }
    Ok(())
}

/// Split a viewer's path (`Documents/reports/q3.pdf`) into its components,
/// each checked with [`check_name`]; `""` is no component (the top).
pub fn split_path(path: &str) -> Result<Vec<&str>, String> {
    if path.starts_with('/') {
        return Err(format!("{path:?} is an absolute path"));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    trimmed
        .split('/')
        .map(|part| check_name(part).map(|()| part))
        .collect()
}

/// `name` numbered, for a file that must not overwrite one of the same
/// name: `report.pdf` and 1 give `report (1).pdf`; the number goes before
/// the first dot that is not the first character (`archive (1).tar.gz`,
/// `.bashrc (1)`). 0 is `name` itself.
pub fn numbered(name: &str, n: u32) -> String {
    if n == 0 {
        return name.to_string();
    }
    let split = name
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '.')
        .map(|(i, _)| i);
    match split {
        Some(i) => format!("{} ({n}){}", &name[..i], &name[i..]),
        None => format!("{name} ({n})"),
    }
}

/// The SHA-256 state after the first `len` bytes of `reader`: a resumed
/// transfer hashes what one side already has instead of sending it, then
/// goes on hashing what it sends. Fails when `reader` ends before `len`.
pub fn hash_prefix(reader: impl std::io::Read, len: u64) -> std::io::Result<sha2::Sha256> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader.take(len));
    let copied = std::io::copy(&mut reader, &mut hasher)?;
    if copied < len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("{copied} of the {len} bytes already there"),
        ));
    }
    Ok(hasher)
}

/// Whether `hex` is a SHA-256 in lowercase hex.
pub fn is_sha256(hex: &str) -> bool {
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_hashes_like_the_same_bytes_hashed_directly() {
        use sha2::Digest;
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let mut resumed = hash_prefix(&data[..], 40_000).expect("prefix");
        resumed.update(&data[40_000..]);
        assert_eq!(resumed.finalize(), sha2::Sha256::digest(&data));
        let short = hash_prefix(&data[..10], 11).expect_err("too short");
        assert_eq!(short.kind(), std::io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn chunks_round_trip_and_refuse_bad_shapes() {
        let data = vec![7u8; 100];
        let chunk = Chunk {
            id: 9,
            offset: 1 << 40,
            data: &data,
        };
        let bytes = chunk.encode();
        assert_eq!(Chunk::decode(&bytes), Ok(chunk));
        assert_eq!(Chunk::decode(&bytes[..5]), Err(ChunkError::Short(5)));
        let big = vec![0u8; CHUNK_HEADER + CHUNK_BYTES + 1];
        assert!(matches!(
            Chunk::decode(&big),
            Err(ChunkError::TooLarge { .. })
        ));
    }

    #[test]
    fn names_that_could_leave_a_folder_are_refused() {
        for bad in ["", ".", "..", "a/b", "../x", "/etc", "a\\b", "a\0b", "a\nb"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(&"x".repeat(256)).is_err());
        for good in [
            "report.pdf",
            "report (1).pdf",
            ".hidden",
            "a..b",
            "ünï cødé",
        ] {
            assert_eq!(check_name(good), Ok(()), "{good:?}");
        }
    }

    #[test]
    fn paths_split_into_checked_components() {
        assert_eq!(split_path(""), Ok(vec![]));
        assert_eq!(split_path("Documents/"), Ok(vec!["Documents"]));
        assert_eq!(
            split_path("Documents/reports/q3.pdf"),
            Ok(vec!["Documents", "reports", "q3.pdf"])
        );
        for bad in ["/Documents", "Documents/../..", "Documents//x", "./x"] {
            assert!(split_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn requests_decode_and_bad_ones_are_refused() {
        let put = r#"{"type":"put","id":1,"name":"a.txt","size":3}"#;
        assert!(matches!(
            decode_request(put),
            Ok(FilesRequest::Put { folder: None, .. })
        ));
        let get = r#"{"type":"get","id":2,"path":"Documents/a.txt"}"#;
        assert_eq!(
            decode_request(get),
            Ok(FilesRequest::Get {
                id: 2,
                path: "Documents/a.txt".into(),
                offset: 0
            })
        );
        assert!(decode_request(r#"{"type":"put","id":1}"#).is_err());
        assert!(decode_request("not json").is_err());
        assert!(is_sha256(&"ab".repeat(32)));
        assert!(!is_sha256(&"AB".repeat(32)));
    }
}
