//! The feed tests' world: an owner with two devices, one shared with
//! `looker` (view), the other private, and a `stranger` who may see
//! neither. Used by the feed's authorization and filter tests.

use crate::{Api, Server, TestDevice};

/// Three signed-in users and two devices on a fresh server.
#[derive(Debug)]
pub struct FeedWorld {
    pub server: Server,
    pub api: Api,
    pub owner: String,
    pub looker: String,
    pub stranger: String,
    pub shared: TestDevice,
    pub private: TestDevice,
}

impl FeedWorld {
    /// Start the server and set the world up.
    pub async fn start() -> FeedWorld {
        let server = Server::start();
        let api = Api::new(&server);
        let owner = api.user("owner").await;
        let looker = api.user("looker").await;
        let stranger = api.user("stranger").await;
        let shared = TestDevice::enroll(&api, &api.code(&owner).await, "shared pc").await;
        let private = TestDevice::enroll(&api, &api.code(&owner).await, "private pc").await;
        api.share(&owner, &shared.id, "looker", "view").await;
        FeedWorld {
            server,
            api,
            owner,
            looker,
            stranger,
            shared,
            private,
        }
    }
}
