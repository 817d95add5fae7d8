//! Hash lists shared between nodes (docs/pdq.md, "Sharing between nodes"): this node's own lists,
//! signed with its signing key; lists pulled from peers and verified update by update; one
//! in-memory matcher over both, replayed from the store at start.
//!
//! A list id starts with its publisher's node id (`dz-247/csam-baseline`), so list ids never
//! collide between publishers and a subscriber knows whose key must sign every version.

mod api;
mod federation;
mod publish;
mod puller;

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use comity_model::{NodeId, Timestamp};
use comity_pdq::PdqError;
use comity_pdq::list::{
    HashList, ListId, Matcher, SignedListUpdate, VerifyingKey, parse_signed_update_bytes,
    signed_update_bytes,
};
use comity_seal::Trust;
use comity_store::{ListUpdateRow, Store};
use tokio::sync::{Mutex, Notify};

use crate::NodeError;

pub(crate) use api::routes as api_routes;
pub(crate) use federation::routes as federation_routes;
pub(crate) use puller::run as run_puller;

/// Path of the catalogue of a node's own lists on the federation listener.
pub(crate) const FEDERATION_LISTS_PATH: &str = "/federation/v1/lists";
/// Media type of a list file (`comity_pdq::list::encode_list_file`).
pub(crate) const LIST_FILE_MEDIA_TYPE: &str = "application/vnd.comity.pdq-list";
/// Most updates served in one answer; a subscriber asks again for the rest.
const UPDATES_PER_PAGE: i64 = 64;
/// An answer stops growing once it passes this size (it always holds at least one update).
const PAGE_BYTES: usize = 16 * 1024 * 1024;
/// Largest answer a subscriber reads: a hostile peer cannot exhaust its memory.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// The node's hash-list state.
pub(crate) struct Sharing {
    matcher: RwLock<Matcher>,
    /// Held by whatever changes the lists (publish, pull, unsubscribe), so the matcher and the
    /// store move together.
    changing: Mutex<()>,
    /// Wakes the puller (a new subscription).
    pub(crate) wake: Notify,
}

impl Sharing {
    /// Replays every stored list, verifying each update again against the trust list.
    pub(crate) async fn load(store: &Store, trust: &Trust) -> Result<Sharing, NodeError> {
        Ok(Sharing {
            matcher: RwLock::new(build_matcher(store, trust).await?),
            changing: Mutex::new(()),
            wake: Notify::new(),
        })
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Matcher> {
        self.matcher.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Matcher> {
        self.matcher.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The version of `list` the matcher holds; 0 if none.
    pub(crate) fn version(&self, list: &ListId) -> u64 {
        self.read()
            .lists()
            .find(|l| l.id() == list)
            .map_or(0, HashList::version)
    }

    /// Rebuilds the matcher from the store, after the store and memory may have parted.
    async fn reload(&self, store: &Store, trust: &Trust) -> Result<(), NodeError> {
        let fresh = build_matcher(store, trust).await?;
        *self.write() = fresh;
        Ok(())
    }
}

async fn build_matcher(store: &Store, trust: &Trust) -> Result<Matcher, NodeError> {
    let mut matcher = Matcher::new();
    let rows = store.all_list_updates().await?;
    let mut broken: Option<String> = None;
    for row in rows {
        if broken.as_deref() == Some(row.list.as_str()) {
            continue;
        }
        if let Err(e) = parse_signed_update_bytes(&row.signed)
            .and_then(|u| apply_to_matcher(&mut matcher, &u, trust))
        {
            tracing::error!(list = row.list, version = row.version, error = %e,
                "stored hash-list update no longer verifies; the list is left out of matching");
            broken = Some(row.list.clone());
        }
    }
    Ok(matcher)
}

/// The publisher's keys that were valid when the update was issued (current and retired).
fn publisher_keys(trust: &Trust, update: &SignedListUpdate) -> Vec<VerifyingKey> {
    let u = &update.update;
    trust
        .signing_keys_at(&u.publisher, u.issued_at)
        .iter()
        .filter_map(|k| VerifyingKey::from_bytes(k.as_bytes()).ok())
        .collect()
}

/// Runs `step` with each of the publisher's keys until one verifies. Signature checks come
/// before any change in `HashList::apply`, so a failed try changes nothing.
fn with_publisher_keys<T>(
    trust: &Trust,
    update: &SignedListUpdate,
    mut step: impl FnMut(&VerifyingKey) -> Result<T, PdqError>,
) -> Result<T, PdqError> {
    let keys = publisher_keys(trust, update);
    let mut last = PdqError::ListField {
        field: "publisher",
        reason: format!(
            "{} is not a member of the federation trust list",
            update.update.publisher
        ),
    };
    for key in &keys {
        match step(key) {
            Err(e @ PdqError::ListSignature { .. }) => last = e,
            other => return other,
        }
    }
    Err(last)
}

/// Verifies and applies one update: the first version starts the list. Returns false for a
/// harmless redelivery of the current version.
fn apply_to_matcher(
    matcher: &mut Matcher,
    update: &SignedListUpdate,
    trust: &Trust,
) -> Result<bool, PdqError> {
    let id = &update.update.list;
    check_list_owner(id, &update.update.publisher)?;
    if matcher.lists().any(|l| l.id() == id) {
        with_publisher_keys(trust, update, |k| matcher.apply(update, k))
    } else {
        let list = with_publisher_keys(trust, update, |k| HashList::from_first(update, k))?;
        matcher.add_list(list)?;
        Ok(true)
    }
}

/// A list id must start with its publisher's node id and a `/`.
fn check_list_owner(list: &ListId, publisher: &NodeId) -> Result<(), PdqError> {
    let owned = list
        .as_str()
        .strip_prefix(publisher.as_str())
        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'));
    if owned {
        Ok(())
    } else {
        Err(PdqError::ListField {
            field: "list",
            reason: format!(
                "list {list} must be named {publisher}/NAME by its publisher {publisher}"
            ),
        })
    }
}

fn row_for(update: &SignedListUpdate, now: i64) -> ListUpdateRow {
    let u = &update.update;
    ListUpdateRow {
        list: u.list.to_string(),
        version: i64::try_from(u.version).unwrap_or(i64::MAX),
        publisher: u.publisher.to_string(),
        issued_at: u.issued_at.unix_ms(),
        stored_at: now,
        signed: signed_update_bytes(update),
    }
}

fn now_ts() -> Timestamp {
    Timestamp::from_unix_ms(crate::now_ms())
}
