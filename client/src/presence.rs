//! Presence as a stream of device states: the devices a user may see,
//! then every change to them, from the live feed.
//!
//! [`Tracker`] is the pure part: it keeps the last known state of each
//! device and turns a device list or a feed item into the states that
//! changed (or asks for the list again when an event does not say enough).
//! [`Client::presence`] drives it.

use std::collections::{BTreeMap, VecDeque};

use futures::Stream;
use meshdesk_protocol::rest::{Device, Event, EventKind};

use crate::feed::{Feed, FeedItem};
use crate::{Client, EventsQuery, Result};

/// The kinds that change what [`Client::presence`] reports.
const PRESENCE_KINDS: [EventKind; 7] = [
    EventKind::DeviceOnline,
    EventKind::DeviceOffline,
    EventKind::DeviceEnrolled,
    EventKind::DeviceRenamed,
    EventKind::DeviceRemoved,
    EventKind::ShareGranted,
    EventKind::ShareRevoked,
];

/// What a user knows of one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceState {
    /// The device id.
    pub id: String,
    /// Its current name.
    pub name: String,
    /// Whether it is connected to the server.
    pub online: bool,
    /// False once the user can no longer see it (removed, or its share
    /// revoked); the device's last item.
    pub visible: bool,
}

impl DeviceState {
    fn of(d: &Device) -> DeviceState {
        DeviceState {
            id: d.id.clone(),
            name: d.name.clone(),
            online: d.online,
            visible: true,
        }
    }
}

/// What the driver must do after a feed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// Report these changes.
    Report(Vec<DeviceState>),
    /// Fetch `GET /devices` and pass it to [`Tracker::listed`].
    Relist,
}

/// The last known state of every visible device.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// By device id.
    known: BTreeMap<String, DeviceState>,
}

impl Tracker {
    /// A fresh device list: the states that are new or changed, and the
    /// devices no longer listed (as not visible).
    pub(crate) fn listed(&mut self, devices: &[Device]) -> Vec<DeviceState> {
        let mut now: BTreeMap<String, DeviceState> = devices
            .iter()
            .map(|d| (d.id.clone(), DeviceState::of(d)))
            .collect();
        let mut changes: Vec<DeviceState> = now
            .values()
            .filter(|s| self.known.get(&s.id) != Some(s))
            .cloned()
            .collect();
        for (id, mut gone) in std::mem::take(&mut self.known) {
            if !now.contains_key(&id) {
                gone.visible = false;
                changes.push(gone);
            }
        }
        std::mem::swap(&mut self.known, &mut now);
        changes
    }

    /// A feed item: what changed, or a request to list again.
    pub(crate) fn on_item(&mut self, item: &FeedItem) -> Step {
        match item {
            FeedItem::Event(e) => self.on_event(e),
            // Pruned events may have changed anything.
            _ => Step::Relist,
        }
    }

    fn on_event(&mut self, e: &Event) -> Step {
        let known = e.device_id.as_ref().and_then(|id| self.known.get_mut(id));
        match (e.kind, known) {
            (EventKind::DeviceOnline | EventKind::DeviceOffline, Some(state)) => {
                let online = e.kind == EventKind::DeviceOnline;
                if state.online == online {
                    return Step::Report(Vec::new());
                }
                state.online = online;
                Step::Report(vec![state.clone()])
            }
            (EventKind::DeviceRemoved, Some(_)) => {
                let id = e.device_id.as_deref().unwrap_or_default();
                let gone = self.known.remove(id).map(|mut s| {
                    s.visible = false;
                    s
                });
                Step::Report(gone.into_iter().collect())
            }
            (kind, _) if PRESENCE_KINDS.contains(&kind) => Step::Relist,
            _ => Step::Report(Vec::new()),
        }
    }
}

impl Client {
    /// The devices this user may see, then each change, as a stream: first
    /// one [`DeviceState`] per device (from `GET /devices`), then one per
    /// change (online, offline, enrolled, renamed, removed, shared,
    /// unshared). It resumes across lost connections like
    /// [`Client::events`], and ends after a 401 or 403.
    ///
    /// ```no_run
    /// # async fn run(client: meshdesk_client::Client) -> Result<(), meshdesk_client::Error> {
    /// use futures::StreamExt;
    /// let mut presence = std::pin::pin!(client.presence());
    /// while let Some(state) = presence.next().await {
    ///     let s = state?;
    ///     println!("{} {}", s.name, if s.online { "online" } else { "offline" });
    /// }
    /// # Ok(()) }
    /// ```
    pub fn presence(&self) -> impl Stream<Item = Result<DeviceState>> + Send + 'static {
        let state = Presence {
            client: self.clone(),
            feed: None,
            tracker: Tracker::default(),
            queue: VecDeque::new(),
            done: false,
        };
        futures::stream::unfold(state, |mut p| async move {
            let item = p.next().await?;
            Some((item, p))
        })
    }
}

/// The driver of [`Client::presence`].
struct Presence {
    /// Where devices are listed.
    client: Client,
    /// The resuming feed, once opened.
    feed: Option<Feed>,
    /// Known states.
    tracker: Tracker,
    /// States to hand out before reading the feed again.
    queue: VecDeque<DeviceState>,
    /// Set after a final error.
    done: bool,
}

impl Presence {
    async fn next(&mut self) -> Option<Result<DeviceState>> {
        loop {
            if let Some(s) = self.queue.pop_front() {
                return Some(Ok(s));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.step().await {
                self.done = e.is_auth();
                return Some(Err(e));
            }
        }
    }

    /// Opens the feed and lists devices (first call), or reads one feed
    /// item and queues what it changed.
    async fn step(&mut self) -> Result<()> {
        let Some(feed) = self.feed.as_mut() else {
            let mut query = EventsQuery::new();
            for k in PRESENCE_KINDS {
                query = query.kind(k);
            }
            // Open the stream before listing, so no change falls between.
            let conn = self.client.open_feed(&query, None).await?;
            self.feed = Some(Feed::new(self.client.clone(), query, Some(conn)));
            return self.relist().await;
        };
        match feed.next().await {
            None => {
                self.done = true;
                Ok(())
            }
            Some(Err(e)) => {
                self.done = feed.is_done();
                Err(e)
            }
            Some(Ok(item)) => match self.tracker.on_item(&item) {
                Step::Report(states) => {
                    self.queue.extend(states);
                    Ok(())
                }
                Step::Relist => self.relist().await,
            },
        }
    }

    async fn relist(&mut self) -> Result<()> {
        let devices = self.client.devices().await?;
        self.queue.extend(self.tracker.listed(&devices));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use meshdesk_protocol::rest::Permission;

    use super::*;

    fn device(id: &str, name: &str, online: bool) -> Device {
        Device {
            id: id.into(),
            name: name.into(),
            os: "Linux".into(),
            owner: "alice".into(),
            online,
            permission: Permission::Owner,
            created_at: 0,
            last_seen: None,
            consent_owner: Default::default(),
            consent_shared: Default::default(),
            public_key: String::new(),
            screens: Vec::new(),
            sound: true,
            view_may_copy: false,
        }
    }

    fn event(kind: EventKind, device: &str) -> FeedItem {
        FeedItem::Event(Event {
            id: 1,
            at: 0,
            kind,
            actor: None,
            device_id: Some(device.into()),
            device_name: Some("x".into()),
            target_user: None,
            permission: None,
            session_id: None,
            duration_ms: None,
            detail: None,
            file: None,
        })
    }

    #[test]
    fn a_list_reports_what_changed_and_what_went() {
        let mut t = Tracker::default();
        let first = t.listed(&[device("a", "office", true), device("b", "laptop", false)]);
        assert_eq!(first.len(), 2);
        assert!(t
            .listed(&[device("a", "office", true), device("b", "laptop", false)])
            .is_empty());
        let next = t.listed(&[device("a", "office-pc", true)]);
        assert_eq!(next.len(), 2, "{next:?}");
        assert_eq!(
            (next[0].name.as_str(), next[0].visible),
            ("office-pc", true)
        );
        assert_eq!((next[1].id.as_str(), next[1].visible), ("b", false));
    }

    #[test]
    fn online_and_offline_update_known_devices() {
        let mut t = Tracker::default();
        t.listed(&[device("a", "office", true)]);
        let step = t.on_item(&event(EventKind::DeviceOffline, "a"));
        match step {
            Step::Report(s) => assert_eq!((s.len(), s[0].online), (1, false)),
            other => panic!("{other:?}"),
        }
        // The same again changes nothing.
        assert_eq!(
            t.on_item(&event(EventKind::DeviceOffline, "a")),
            Step::Report(vec![])
        );
        // An unknown device, a rename, a share, a gap: list again.
        assert_eq!(
            t.on_item(&event(EventKind::DeviceOnline, "z")),
            Step::Relist
        );
        assert_eq!(
            t.on_item(&event(EventKind::DeviceRenamed, "a")),
            Step::Relist
        );
        assert_eq!(
            t.on_item(&event(EventKind::ShareRevoked, "a")),
            Step::Relist
        );
        let gap = FeedItem::Gap {
            after: 1,
            before: 5,
        };
        assert_eq!(t.on_item(&gap), Step::Relist);
        // Other kinds change nothing.
        assert_eq!(
            t.on_item(&event(EventKind::SessionStarted, "a")),
            Step::Report(vec![])
        );
    }

    #[test]
    fn a_removed_device_is_reported_gone_once() {
        let mut t = Tracker::default();
        t.listed(&[device("a", "office", true)]);
        match t.on_item(&event(EventKind::DeviceRemoved, "a")) {
            Step::Report(s) => assert!(s.len() == 1 && !s[0].visible),
            other => panic!("{other:?}"),
        }
        assert!(t.listed(&[]).is_empty());
    }
}
