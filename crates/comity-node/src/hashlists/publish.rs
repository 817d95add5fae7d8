//! Publishing a version of one of this node's own lists.

use comity_pdq::list::{EntryId, ListEntry, ListId, ListUpdate, SignedListUpdate};

use super::{apply_to_matcher, check_list_owner, now_ts, row_for};
use crate::{Node, NodeError};

impl Node {
    /// Signs the next version of `list` (the first if it is new) with this node's signing key,
    /// stores it, and indexes it. Added entries get the next free ids and today's date.
    pub(crate) async fn publish_list_update(
        &self,
        list: ListId,
        add: Vec<ListEntry>,
        revoke: Vec<EntryId>,
    ) -> Result<SignedListUpdate, NodeError> {
        let s = &self.inner;
        check_list_owner(&list, &s.me)?;
        if add.is_empty() && revoke.is_empty() {
            return Err(NodeError::BadRequest(
                "an update adds or revokes at least one entry".into(),
            ));
        }
        let sharing = &s.hash_lists;
        let _changing = sharing.changing.lock().await;
        let now = now_ts();
        let (mut update, mut next_id) = {
            let matcher = sharing.read();
            match matcher.lists().find(|l| l.id() == &list) {
                Some(current) => (current.next_update(now), current.next_entry_id()),
                None => (
                    ListUpdate {
                        list: list.clone(),
                        publisher: s.me.clone(),
                        version: 1,
                        previous: [0; 32],
                        issued_at: now,
                        added: Vec::new(),
                        revoked: Vec::new(),
                    },
                    1,
                ),
            }
        };
        for mut entry in add {
            entry.id = next_id;
            entry.added_at = now;
            next_id += 1;
            update.added.push(entry);
        }
        update.revoked = revoke;
        let signed = update.sign(s.secrets.signing_key())?;
        apply_to_matcher(&mut sharing.write(), &signed, &s.trust)?;
        let stored = s
            .store
            .append_own_list_update(&row_for(&signed, now.unix_ms()))
            .await;
        if !matches!(stored, Ok(true)) {
            sharing.reload(&s.store, &s.trust).await?;
        }
        match stored {
            Ok(true) => Ok(signed),
            Ok(false) => Err(NodeError::BadRequest(format!(
                "list {list} changed while this version was being published; try again"
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
