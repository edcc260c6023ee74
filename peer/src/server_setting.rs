//! The `server` setting as host.toml and the viewer's login file keep it:
//! one URL (`server = "https://desk.example.com"`, as every file written
//! before there could be more) or a list tried in order (`server =
//! ["https://a.example.com", "https://b.example.com"]`). One URL is
//! written back as one string, so such a file reads and writes exactly as
//! before.

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::server_list::ServerList;
use crate::server_url::normalise_server;
use crate::PeerError;

/// The name of the setting, in errors.
const FIELD: &str = "server";

/// `server`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerSetting {
    /// `server = "URL"`.
    One(String),
    /// `server = ["URL", ...]`.
    Several(Vec<String>),
}

impl ServerSetting {
    /// One URL as a string, several as a list.
    pub fn from_urls(mut urls: Vec<String>) -> ServerSetting {
        match urls.len() {
            1 => ServerSetting::One(urls.remove(0)),
            _ => ServerSetting::Several(urls),
        }
    }

    /// The URLs as written, in order.
    pub fn entries(&self) -> &[String] {
        match self {
            ServerSetting::One(url) => std::slice::from_ref(url),
            ServerSetting::Several(urls) => urls,
        }
    }

    /// The URLs checked and normalised, in order. A bad one is named by
    /// its place: `server` for the one string, `server[1]` for the second
    /// of a list.
    pub fn list(&self) -> Result<ServerList, PeerError> {
        let field = |i: usize| match self {
            ServerSetting::One(_) => FIELD.to_string(),
            ServerSetting::Several(_) => format!("{FIELD}[{i}]"),
        };
        let urls = self
            .entries()
            .iter()
            .enumerate()
            .map(|(i, url)| {
                normalise_server(url).ok_or_else(|| PeerError::BadServer {
                    field: field(i),
                    reason: format!(
                        "`{url}` is not a server URL: expected http://HOST[:PORT] or https://HOST[:PORT]"
                    ),
                })
            })
            .collect::<Result<Vec<String>, PeerError>>()?;
        ServerList::new(urls).ok_or_else(|| PeerError::BadServer {
            field: FIELD.into(),
            reason: "the list is empty; give at least one URL".into(),
        })
    }
}

/// The URLs as written, joined: `http://a, http://b`.
impl std::fmt::Display for ServerSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.entries().join(", "))
    }
}

impl Serialize for ServerSetting {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ServerSetting::One(url) => serializer.serialize_str(url),
            ServerSetting::Several(urls) => urls.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ServerSetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OneOrSeveral)
    }
}

/// Reads a string or a list of strings, and says so when it is neither.
struct OneOrSeveral;

impl<'de> Visitor<'de> for OneOrSeveral {
    type Value = ServerSetting;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a server URL or a list of server URLs")
    }

    fn visit_str<E: de::Error>(self, url: &str) -> Result<ServerSetting, E> {
        Ok(ServerSetting::One(url.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ServerSetting, A::Error> {
        let mut urls = Vec::new();
        while let Some(url) = seq.next_element::<String>()? {
            urls.push(url);
        }
        Ok(ServerSetting::Several(urls))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct File {
        server: ServerSetting,
    }

    fn read(text: &str) -> Result<ServerSetting, String> {
        toml::from_str::<File>(text)
            .map(|f| f.server)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn one_url_reads_and_writes_as_a_string() {
        let text = "server = \"http://127.0.0.1:8080\"\n";
        let one = read(text).expect("one");
        assert_eq!(one, ServerSetting::One("http://127.0.0.1:8080".into()));
        let back = toml::to_string(&File { server: one }).expect("write");
        assert_eq!(back, text, "byte for byte as before");
    }

    #[test]
    fn several_read_and_write_as_a_list_in_order() {
        let several = read("server = [\"http://a:1\", \"https://b\"]").expect("several");
        assert_eq!(several.entries(), ["http://a:1", "https://b"]);
        assert_eq!(several.to_string(), "http://a:1, https://b");
        let back = toml::to_string(&File { server: several }).expect("write");
        assert_eq!(
            read(&back).expect("reads back").entries(),
            ["http://a:1", "https://b"]
        );
        assert_eq!(
            ServerSetting::from_urls(vec!["http://a".into()]),
            ServerSetting::One("http://a".into())
        );
    }

    #[test]
    fn anything_else_says_what_was_expected() {
        let e = read("server = 5").expect_err("a number");
        assert!(e.contains("a server URL or a list of server URLs"), "{e}");
        let e = read("server = [\"http://a\", 5]").expect_err("a number in the list");
        assert!(e.contains("string"), "{e}");
    }

    #[test]
    fn the_list_is_normalised_and_a_bad_entry_is_named_by_its_place() {
        let s = ServerSetting::Several(vec!["http://a:1/".into(), " https://b ".into()]);
        assert_eq!(s.list().expect("good").urls(), ["http://a:1", "https://b"]);

        let bad = ServerSetting::Several(vec!["http://a".into(), "b:8080".into()]);
        let e = bad.list().expect_err("second is bad").to_string();
        assert!(
            e.starts_with("server[1]: `b:8080` is not a server URL"),
            "{e}"
        );

        let e = ServerSetting::One("ftp://x".into())
            .list()
            .expect_err("bad");
        assert!(e.to_string().starts_with("server: `ftp://x`"), "{e}");

        let e = ServerSetting::Several(Vec::new())
            .list()
            .expect_err("empty");
        assert_eq!(
            e.to_string(),
            "server: the list is empty; give at least one URL"
        );
    }
}
