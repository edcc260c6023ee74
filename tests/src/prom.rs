//! Reading the Prometheus text format in tests: scrape a `/metrics` URL
//! and look series up by name and labels, rather than matching substrings.

use std::collections::BTreeMap;

/// One scrape: every sample, by name, with its labels.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// Parse the text format (comments skipped; panics on a line that is
    /// not `name{labels} value`, which would be a bug worth seeing).
    pub fn parse(text: &str) -> Scrape {
        let samples = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| parse_line(l).unwrap_or_else(|| panic!("not a sample line: {l}")))
            .collect();
        Scrape { samples }
    }

    /// The value of the series `name` whose labels include `labels`
    /// (summed over the rest); 0 when absent, as Prometheus treats a
    /// counter that has not been touched.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|(n, ls, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| ls.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    /// Whether any series is called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|(n, _, _)| n == name)
    }
}

fn parse_line(line: &str) -> Option<(String, BTreeMap<String, String>, f64)> {
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let Some((name, rest)) = series.split_once('{') else {
        return Some((series.to_string(), BTreeMap::new(), value));
    };
    let body = rest.strip_suffix('}')?;
    let mut labels = BTreeMap::new();
    // Label values here never hold `",` (they are fixed words).
    for pair in body.split("\",").filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once("=\"")?;
        labels.insert(k.to_string(), v.trim_end_matches('"').to_string());
    }
    Some((name.to_string(), labels, value))
}

/// GET `url` (with `token` as a bearer token, if any): status and body.
pub async fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("GET");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

/// Scrape `url`, which must answer 200.
pub async fn scrape(url: &str, token: Option<&str>) -> Scrape {
    let (status, body) = get(url, token).await;
    assert_eq!(status, 200, "scrape {url}: {body}");
    Scrape::parse(&body)
}

/// The address in a log line `... MESSAGE addr=ADDR` (ANSI colours
/// removed), from the last such line.
pub fn logged_addr(log: &str, message: &str) -> Option<String> {
    let plain = strip_ansi(log);
    let line = plain.lines().rev().find(|l| l.contains(message))?;
    let (_, rest) = line.split_once("addr=")?;
    Some(rest.split_whitespace().next()?.to_string())
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        for e in chars.by_ref() {
            if e.is_ascii_alphabetic() {
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_labels_and_values() {
        let s = Scrape::parse(
            "# HELP x y\n# TYPE x counter\nmeshdesk_a 3\nmeshdesk_b{class=\"2xx\",k=\"v\"} 4\nmeshdesk_b{class=\"4xx\",k=\"v\"} 1\nmeshdesk_h_bucket{le=\"+Inf\"} 2\n",
        );
        assert_eq!(s.value("meshdesk_a", &[]), 3.0);
        assert_eq!(s.value("meshdesk_b", &[("class", "2xx")]), 4.0);
        assert_eq!(s.value("meshdesk_b", &[]), 5.0);
        assert_eq!(s.value("meshdesk_h_bucket", &[("le", "+Inf")]), 2.0);
        assert_eq!(s.value("meshdesk_missing", &[]), 0.0);
        assert!(s.has("meshdesk_a") && !s.has("meshdesk_missing"));
    }

    #[test]
    fn finds_a_logged_address_through_colours() {
        let log = "\u{1b}[2mt\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m serving metrics \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:4242\n";
        assert_eq!(
            logged_addr(log, "serving metrics").as_deref(),
            Some("127.0.0.1:4242")
        );
        assert_eq!(logged_addr(log, "something else"), None);
    }
}
