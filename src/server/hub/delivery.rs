//! Getting a committed round's replies and events to the sessions, and
//! what happens when a commit fails or the server stops.

use super::*;
use crate::server::outbox::not_reading_frame;

impl Hub {
    // ----- shutdown -------------------------------------------------------

    pub(super) fn shutdown(&mut self, reason: &str) {
        let frame = ServerFrame::Shutdown {
            reason: reason.to_owned(),
        }
        .to_line();
        self.leave_cluster();
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for session in ids {
            // Every session is logged out in the audit log, without the
            // presence events nobody would be there to read.
            let logged_in = self
                .sessions
                .get(&session)
                .and_then(|s| s.account.map(|a| (a, s.peer)));
            if let Some((account, peer)) = logged_in {
                let recorded = self.name_of(account).and_then(|name| {
                    self.audit(
                        Some(name.as_str()),
                        "logout",
                        Some((name.as_str(), Some(account))),
                        &peer.to_string(),
                    )
                });
                if let Err(e) = recorded {
                    tracing::error!(error = %e, "could not record a logout at shutdown");
                }
            }
            self.out.push(Effect::To(session, frame.clone()));
            self.out.push(Effect::Close(session));
        }
        self.shutting_down = true;
    }

    // ----- delivery -------------------------------------------------------

    pub(super) fn deliver(&mut self) {
        let effects = std::mem::take(&mut self.out);
        for effect in effects {
            match effect {
                Effect::To(session, frame) => self.push(session, &frame),
                // Once for everyone; each writer reads it from the feed.
                // (`seq` is kept by `Subscribe` being in the same order.)
                Effect::ToAll { frame, except, .. } => {
                    self.feed.append(&frame, except);
                    self.feed_urgent |= !is_presence(&frame);
                }
                Effect::Subscribe(session) => {
                    if let Some(entry) = self.sessions.get(&session) {
                        // Not if it logged out again later in the round.
                        if entry.account.is_some() && !entry.closing {
                            entry.link.outbox.subscribe();
                        }
                    }
                }
                Effect::ToMembers {
                    recipients,
                    frame,
                    seq,
                    except,
                } => {
                    for account in recipients.iter() {
                        self.push_to_account(*account, &frame, seq, except);
                    }
                }
                Effect::ToUser {
                    account,
                    frame,
                    seq,
                    except,
                } => self.push_to_account(account, &frame, seq, except),
                Effect::Done(reply, ok) => {
                    let _ = reply.send(ok);
                }
                Effect::Resume(resume, job) => {
                    let _ = resume.send(job);
                }
                Effect::AdminDone(reply, answer) => {
                    let _ = reply.send(answer);
                }
                Effect::UploadSettled { file_id, posted } => {
                    self.files.settled(&file_id);
                    if posted {
                        self.files.forget(&file_id);
                    }
                }
                Effect::RemoveBlobIfUnused(sha256) => {
                    let in_use = self.store.sha_in_use(&sha256).unwrap_or(true);
                    self.files.remove_if_unused(&sha256, in_use);
                }
                Effect::CloseWith(session, fatal) => {
                    if let Some(entry) = self.sessions.get_mut(&session) {
                        entry.closing = true;
                        entry.link.control.close_with(fatal);
                    }
                }
                Effect::Close(session) => {
                    if let Some(entry) = self.sessions.get(&session) {
                        entry.link.control.close_after_drain();
                    }
                }
                Effect::Remove(session) => {
                    if let Some(entry) = self.sessions.remove(&session) {
                        entry.link.outbox.unsubscribe();
                        entry.link.outbox.wake();
                    }
                }
            }
        }
        self.wake_writers();
        if self.shutting_down {
            // Dropping the links lets every writer finish its queue and close.
            self.sessions.clear();
        }
    }

    /// One wake per session that got frames this round, however many.
    pub(super) fn wake_writers(&mut self) {
        self.woken_last_round = self.touched.len();
        if self.feed.publish() {
            self.feed_unwoken = true;
        }
        let urgent = std::mem::take(&mut self.feed_urgent);
        if self.feed_unwoken
            && (urgent || self.feed_wake_due().is_some_and(|t| t <= Instant::now()))
        {
            self.woken_last_round += self.wake_feed_readers();
        }
        if self.woken_last_round >= PACE_AFTER_WAKES {
            self.fanned_out_since_tick = true;
            self.files.pacing.deliveries_busy();
        }
        for id in self.touched.drain(..) {
            if let Some(entry) = self.sessions.get_mut(&id) {
                entry.needs_wake = false;
                entry.link.outbox.wake();
            }
        }
    }

    /// Wakes every subscribed writer for the feed just published, closes
    /// those too far behind to catch up (a reader that stopped reading must
    /// never hold the feed for everyone), and forgets what all have read.
    /// How many it woke.
    fn wake_feed_readers(&mut self) -> usize {
        self.feed_unwoken = false;
        self.last_feed_wake = Some(Instant::now());
        let mut oldest = self.feed.feed().published();
        let mut woken = 0;
        for entry in self.sessions.values_mut() {
            if entry.closing {
                continue;
            }
            let Some(cursor) = entry.link.outbox.feed_cursor() else {
                continue;
            };
            if entry.link.outbox.over_budget() {
                entry.closing = true;
                tracing::warn!(peer = %entry.peer, "outgoing queue full; closing a connection that stopped reading");
                entry.link.control.close_with(not_reading_frame());
                continue;
            }
            oldest = oldest.min(cursor);
            if !entry.needs_wake {
                entry.link.outbox.wake();
                woken += 1;
            }
        }
        self.feed.forget_before(oldest);
        woken
    }

    /// When the feed's writers must be woken for what they were not woken
    /// for yet (presence only), if anything.
    pub(super) fn feed_wake_due(&self) -> Option<Instant> {
        if !self.feed_unwoken {
            return None;
        }
        let spacing = spacing(
            PRESENCE_WAKE_PER_SESSION,
            self.sessions.len(),
            PRESENCE_WAKE_MAX,
        );
        Some(
            self.last_feed_wake
                .map_or_else(Instant::now, |t| t + spacing),
        )
    }

    /// Wakes the feed's writers for presence that waited long enough.
    pub(super) fn wake_feed_now(&mut self) {
        if self.feed_unwoken {
            self.wake_feed_readers();
        }
    }

    /// Queues `frame` for every session of `account` attached by `seq`,
    /// but `except`.
    fn push_to_account(
        &mut self,
        account: AccountId,
        frame: &Bytes,
        seq: u64,
        except: Option<SessionId>,
    ) {
        let Some(online) = self.online.get(&account) else {
            return;
        };
        for id in &online.sessions {
            if Some(*id) == except {
                continue;
            }
            if let Some(entry) = self.sessions.get_mut(id) {
                if entry.attached_seq <= seq {
                    push_to(entry, frame, *id, &mut self.touched);
                }
            }
        }
    }

    pub(super) fn push(&mut self, session: SessionId, frame: &Bytes) {
        if let Some(entry) = self.sessions.get_mut(&session) {
            push_to(entry, frame, session, &mut self.touched);
        }
    }

    /// The commit failed: nothing of the batch happened. Every request in it
    /// is answered `internal`, and sessions that logged in are closed.
    pub(super) fn fail_batch(&mut self) {
        let effects = std::mem::take(&mut self.out);
        // Users whose last session ended in this batch are offline whatever
        // the commit did; the others must still hear of it. (Sessions that
        // logged in during the batch are detached below without a word:
        // nobody was told they had come online.)
        let offline = std::mem::take(&mut self.offline_in_batch);
        // A status change answered `internal` must not stick either.
        for (account, before) in std::mem::take(&mut self.status_undo).into_iter().rev() {
            match before {
                Some(status) => {
                    self.statuses.set(account, status);
                }
                None => self.statuses.remove(account),
            }
        }
        let mut gone = Vec::new();
        for effect in effects {
            match effect {
                Effect::Done(reply, _) => {
                    let _ = reply.send(false);
                }
                // Told `internal` below; nothing to read.
                Effect::Resume(resume, _) => {
                    let _ = resume.send(None);
                }
                Effect::AdminDone(reply, _) => {
                    let _ = reply.send(AdminReply::failed_to_store());
                }
                Effect::UploadSettled { file_id, .. } => self.files.settled(&file_id),
                Effect::Remove(session) => gone.push(session),
                // Already logged out in the hub's state: closing is safer
                // than leaving them connected but logged out.
                Effect::CloseWith(session, fatal) => {
                    if let Some(entry) = self.sessions.get_mut(&session) {
                        entry.closing = true;
                        entry.link.control.close_with(fatal);
                    }
                }
                _ => {}
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for (session, id) in pending {
            let frame = ServerFrame::Error(ErrorFrame::new(
                id,
                ErrorCode::Internal,
                "the server could not store that; try again",
            ))
            .to_line();
            self.push(session, &frame);
        }
        let attached = std::mem::take(&mut self.attached_in_batch);
        for session in attached {
            let _ = self.detach(session);
            if let Some(entry) = self.sessions.get(&session) {
                entry.link.control.close_after_drain();
            }
        }
        self.out.clear();
        for (frame, except) in offline {
            self.out.push(Effect::ToAll {
                frame,
                except: Some(except),
            });
        }
        self.deliver();
        for session in gone {
            self.sessions.remove(&session);
        }
    }
}

/// Queues a frame for one session, closing it if its queue is full: a
/// reader that stopped reading must never slow anyone else.
pub(super) fn push_to(
    entry: &mut SessionEntry,
    frame: &Bytes,
    id: SessionId,
    touched: &mut Vec<SessionId>,
) {
    if entry.closing {
        return;
    }
    if !entry.needs_wake {
        entry.needs_wake = true;
        touched.push(id);
    }
    match entry.link.outbox.push_quiet(frame.clone()) {
        Ok(()) => {}
        Err(PushError::Full) => {
            entry.closing = true;
            tracing::warn!(peer = %entry.peer, "outgoing queue full; closing a connection that stopped reading");
            entry.link.control.close_with(not_reading_frame());
        }
        Err(PushError::Closed) => entry.closing = true,
    }
}

/// Whether a feed frame is a presence event, which may wait for the next
/// wake of everyone (see `PRESENCE_WAKE_PER_SESSION`). Frames from other
/// nodes arrive encoded, so this looks at the encoding: the `type` tag is
/// always written first.
fn is_presence(frame: &[u8]) -> bool {
    frame.starts_with(br#"{"type":"presence","#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Presence, Status, UserName};

    #[test]
    fn presence_is_told_from_other_frames_by_its_encoding() {
        let presence = ServerFrame::Presence(Presence {
            user: UserName::parse("bob").unwrap(),
            online: true,
            status: Status::Available,
        })
        .to_line();
        assert!(is_presence(&presence));
        let shutdown = ServerFrame::Shutdown {
            reason: "presence".into(),
        }
        .to_line();
        assert!(!is_presence(&shutdown));
    }
}
