//! The one write of every use case: a domain `ChangeSet` applied in one
//! transaction, each change under its guard.

use super::conn::{lock_id, lock_id_now, lock_placeholder_row, write_tx, DbConn};
use super::seal::OutboxSeal;
use super::{audit, challenges, email_reverts, limits, outbox, projects, users, Database, DbError};
use accountd_domain::{Change, ChangeSet, Conflict, Timestamp, Username};
use accountd_ports::{Applied, Changes, RateDecision, StoreError};
use async_trait::async_trait;

#[async_trait]
impl Changes for Database {
    async fn apply(&self, changes: ChangeSet, now: Timestamp) -> Result<Applied, StoreError> {
        let queued = !changes.mails().is_empty();
        let seal = self.seal.clone();
        let gate = lock_ids(&changes);
        let result = self
            .run_write(&gate, move |c| {
                write_tx(c, |c| apply(c, &changes, now.as_millis(), seal.as_ref()))
            })
            .await;
        match result {
            Ok(()) => {
                if queued {
                    self.mail_queued.notify_one();
                }
                Ok(Applied::Committed)
            }
            Err(DbError::Conflict(conflict)) => Ok(Applied::Refused(conflict)),
            Err(e) => Err(e.into()),
        }
    }
}

/// Applies `set` inside the caller's write transaction: first every lock
/// the set needs, in one sorted order (so two sets can never wait on each
/// other's locks in opposite orders), then each change, then the mail,
/// then the audit events. A
/// guard that fails returns [`DbError::Conflict`], which rolls everything
/// back.
pub(crate) fn apply(
    conn: &mut DbConn,
    set: &ChangeSet,
    now: i64,
    seal: Option<&OutboxSeal>,
) -> Result<(), DbError> {
    let deadline = super::conn::lock_deadline();
    for id in lock_ids(set) {
        lock_id_now(conn, id, deadline)?;
    }
    // Then the rows of the placeholders the set may delete, sorted, before
    // any membership row is touched (see `conn::lock_placeholder_row`).
    let mut placeholders: Vec<String> = set
        .changes()
        .iter()
        .filter_map(|c| match c {
            Change::DeletePlaceholderIfUnused(user) => Some(user.to_string()),
            _ => None,
        })
        .collect();
    placeholders.sort_unstable();
    placeholders.dedup();
    for user in &placeholders {
        lock_placeholder_row(conn, user)?;
    }
    for change in set.changes() {
        apply_one(conn, change, now)?;
    }
    outbox::queue(conn, set.mails(), now, seal)?;
    outbox::queue_decoys(conn, set.decoy_mails(), now)?;
    audit::insert(conn, set.audits(), now)
}

fn apply_one(conn: &mut DbConn, change: &Change, now: i64) -> Result<(), DbError> {
    match change {
        Change::IssueChallenge(challenge) => challenges::issue(conn, challenge),
        Change::ConsumeChallenge(id) => guard(
            challenges::consume(conn, &id.to_string(), now)?,
            Conflict::ChallengeNotOpen,
        ),
        Change::ConsumeOpenChallenges { key, purposes } => {
            challenges::consume_open(conn, key, purposes)
        }
        Change::CreateUser(user) => unique(users::insert(conn, user), Conflict::UsernameTaken),
        Change::SetPassword {
            user,
            hash,
            expected_version,
        } => guard(
            users::set_password(conn, &user.to_string(), hash.expose(), *expected_version)?,
            Conflict::UserChanged,
        ),
        Change::UpdateUser {
            user,
            expected_version,
        } => {
            let updated = unique(
                users::update(conn, user, *expected_version),
                Conflict::UsernameTaken,
            )?;
            guard(updated, Conflict::UserChanged)
        }
        Change::CreateProject { project, owner } => {
            guard(
                users::is_active(conn, &project.owner.to_string())?,
                Conflict::UserChanged,
            )?;
            projects::insert(conn, project, owner, now)
        }
        Change::PutMembership {
            membership,
            expected,
        } => {
            if expected.is_none() {
                guard(
                    users::may_join(conn, &membership.user.to_string())?,
                    Conflict::UserChanged,
                )?;
            }
            // A placeholder purged meanwhile on PostgreSQL: the foreign key.
            let written = foreign_key(
                projects::put_membership(conn, membership, *expected),
                Conflict::UserChanged,
            );
            let written = unique(written, Conflict::MembershipChanged)?;
            guard(written, Conflict::MembershipChanged)
        }
        Change::RemoveMembership {
            project,
            user,
            expected,
        } => guard(
            projects::remove_membership(conn, &project.to_string(), &user.to_string(), *expected)?,
            Conflict::MembershipChanged,
        ),
        Change::DeleteAccount {
            user,
            expected_version,
        } => {
            let user = user.to_string();
            guard(
                users::delete_account(conn, &user, *expected_version)?,
                Conflict::UserChanged,
            )?;
            guard(
                projects::owned_by(conn, &user)?.is_empty(),
                Conflict::OwnsProjects,
            )?;
            projects::remove_memberships_of(conn, &user)?;
            // Revert tokens hold the account's old and new addresses.
            email_reverts::remove_of(conn, &user)
        }
        Change::SetPrimaryEmail {
            user,
            expected_version,
            email,
        } => guard(
            users::set_primary_email(conn, &user.to_string(), *expected_version, email)?,
            Conflict::UserChanged,
        ),
        Change::IssueEmailRevert(revert) => email_reverts::insert(conn, revert),
        Change::RevertEmail {
            user,
            token_mac,
            restore,
        } => match email_reverts::revert(
            conn,
            &user.to_string(),
            token_mac.as_bytes(),
            restore,
            now,
        )? {
            email_reverts::Reverted::Done => Ok(()),
            email_reverts::Reverted::TokenUnusable => Err(DbError::Conflict(Conflict::RevertSpent)),
            email_reverts::Reverted::UserInactive => Err(DbError::Conflict(Conflict::UserChanged)),
        },
        Change::UpdateProfile {
            user,
            expected_version,
            username,
            name,
            language,
            timezone,
        } => {
            let columns = users::ProfileColumns {
                username: username.as_ref().map(Username::as_str),
                username_key: username.as_ref().map(Username::key),
                username_fold: username.as_ref().map(Username::key),
                name: name.as_deref(),
                language: language.as_deref(),
                timezone: timezone.as_deref(),
            };
            let updated = unique(
                users::update_profile(conn, &user.to_string(), *expected_version, &columns),
                Conflict::UsernameTaken,
            )?;
            guard(updated, Conflict::UserChanged)
        }
        Change::OwnsFewerThan { user, max } => guard(
            projects::count_owned(conn, &user.to_string())? < i64::from(*max),
            Conflict::TooManyProjects,
        ),
        Change::UpdateProject {
            project,
            name,
            timezone,
            languages,
        } => guard(
            projects::update(
                conn,
                &project.to_string(),
                name.as_deref(),
                timezone.as_deref(),
                languages.as_deref(),
            )?,
            Conflict::ProjectChanged,
        ),
        Change::SetProjectStatus {
            project,
            expected,
            status,
        } => guard(
            projects::set_status(conn, &project.to_string(), *expected, *status, now)?,
            Conflict::ProjectChanged,
        ),
        Change::DeleteProjectPermanently { project } => guard(
            projects::purge(conn, &project.to_string(), None)?,
            Conflict::ProjectChanged,
        ),
        Change::TransferProject { project, from, to } => {
            match projects::transfer(
                conn,
                &project.to_string(),
                &from.to_string(),
                &to.to_string(),
            )? {
                projects::Transferred::Done => Ok(()),
                projects::Transferred::ProjectChanged => {
                    Err(DbError::Conflict(Conflict::ProjectChanged))
                }
                projects::Transferred::NotAMember => {
                    Err(DbError::Conflict(Conflict::MembershipChanged))
                }
            }
        }
        Change::CreatePlaceholder(user) => {
            for email in &user.emails {
                guard(
                    !users::address_held(conn, &email.key())?,
                    Conflict::AddressTaken,
                )?;
            }
            unique(users::insert(conn, user), Conflict::AddressTaken)
        }
        Change::InvitationSentAt {
            project,
            user,
            sent_at,
        } => guard(
            projects::invitation_sent_at(conn, &project.to_string(), &user.to_string())?
                == Some(sent_at.map(Timestamp::as_millis)),
            Conflict::MembershipChanged,
        ),
        Change::ProjectIsActive(project) => guard(
            projects::is_active(conn, &project.to_string())?,
            Conflict::ProjectChanged,
        ),
        Change::PendingInvitesAtMost { project, max } => guard(
            *max == 0 || projects::count_invited(conn, &project.to_string())? <= i64::from(*max),
            Conflict::TooManyPendingInvites,
        ),
        Change::CountHit { key, limits } => match limits::hit_locked(conn, key, limits, now)? {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited {
                retry_after_seconds,
            } => Err(DbError::Conflict(Conflict::Limited {
                retry_after_seconds,
            })),
        },
        Change::ClaimInvitations { email, user } => {
            let user = user.to_string();
            for placeholder in users::placeholders_of(conn, email)? {
                if lock_placeholder_row(conn, &placeholder)? {
                    projects::move_invitations(conn, &placeholder, &user, email.as_str(), now)?;
                    users::delete_placeholder(conn, &placeholder)?;
                }
            }
            Ok(())
        }
        Change::DeletePlaceholderIfUnused(user) => {
            users::delete_placeholder_if_unused(conn, &user.to_string()).map(|_| ())
        }
    }
}

/// The advisory locks a set takes, as sorted lock ids without repeats:
/// the keys of every issued challenge (what issuing supersedes) and of
/// every consumption of open challenges (so an issue racing it is seen),
/// the user of
/// a password change, update, address change or revert, and the project of a project or membership
/// change (so sets writing several rows of one project never take their
/// row locks in opposite orders); the owner of a new project and the user
/// of an account deletion (so the two serialise).
fn lock_ids(set: &ChangeSet) -> Vec<i64> {
    let mut keys = Vec::new();
    for change in set.changes() {
        match change {
            Change::IssueChallenge(c) => keys.extend(
                c.subject()
                    .keys()
                    .into_iter()
                    .map(|k| format!("challenge:{}:{k}", c.purpose().as_str())),
            ),
            Change::SetPassword { user, .. } => keys.push(format!("user:{user}")),
            Change::UpdateUser { user, .. } => keys.push(format!("user:{}", user.id)),
            Change::CreateProject { project, .. } => {
                keys.push(format!("project:{}", project.id));
                // The owner's too: an account being deleted cannot gain a
                // project meanwhile.
                keys.push(format!("user:{}", project.owner));
            }
            Change::PutMembership {
                membership,
                expected,
            } => {
                keys.push(format!("project:{}", membership.project));
                // A new row's user: an account deletion (which takes it
                // too) either removes the row or runs before the check
                // that its user may join.
                if expected.is_none() {
                    keys.push(format!("user:{}", membership.user));
                }
            }
            Change::RemoveMembership { project, .. } => keys.push(format!("project:{project}")),
            Change::DeleteAccount { user, .. } => keys.push(format!("user:{user}")),
            Change::SetPrimaryEmail { user, .. } | Change::RevertEmail { user, .. } => {
                keys.push(format!("user:{user}"));
            }
            Change::IssueEmailRevert(r) => keys.push(format!("user:{}", r.user())),
            Change::UpdateProfile { user, .. } => keys.push(format!("user:{user}")),
            // The owner's lock, which a create of theirs takes too: the
            // count and the insert happen with no other create in between.
            Change::OwnsFewerThan { user, .. } => keys.push(format!("user:{user}")),
            Change::UpdateProject { project, .. }
            | Change::SetProjectStatus { project, .. }
            | Change::DeleteProjectPermanently { project } => {
                keys.push(format!("project:{project}"));
            }
            // Both owners' too: an account deletion (which takes them)
            // never runs beside a transfer making its account the owner.
            Change::TransferProject { project, from, to } => {
                keys.push(format!("project:{project}"));
                keys.push(format!("user:{from}"));
                keys.push(format!("user:{to}"));
            }
            // The keys an issue of these purposes locks: a challenge issued
            // in parallel is then either consumed here or issued after,
            // never left open beside a consumption that missed it.
            Change::ConsumeOpenChallenges { key, purposes } => keys.extend(
                purposes
                    .iter()
                    .map(|p| format!("challenge:{}:{key}", p.as_str())),
            ),
            // One placeholder per address, and a sign-up claiming it,
            // serialise on the address.
            Change::CreatePlaceholder(user) => {
                keys.extend(user.emails.iter().map(|e| format!("address:{}", e.key())))
            }
            Change::ClaimInvitations { email, .. } => {
                keys.push(format!("address:{}", email.key()));
            }
            Change::ProjectIsActive(project)
            | Change::PendingInvitesAtMost { project, .. }
            | Change::InvitationSentAt { project, .. } => {
                keys.push(format!("project:{project}"));
            }
            Change::CountHit { key, .. } => keys.push(limits::hit_lock_key(key)),
            Change::ConsumeChallenge(_)
            | Change::CreateUser(_)
            | Change::DeletePlaceholderIfUnused(_) => {}
        }
    }
    let mut ids: Vec<i64> = keys.iter().map(|k| lock_id(k)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn guard(held: bool, conflict: Conflict) -> Result<(), DbError> {
    if held {
        Ok(())
    } else {
        Err(DbError::Conflict(conflict))
    }
}

/// A foreign-key violation is the guard's conflict (a referenced row went
/// meanwhile; the transaction is rolled back).
fn foreign_key<T>(result: Result<T, DbError>, conflict: Conflict) -> Result<T, DbError> {
    match result {
        Err(e) if e.is_foreign_key_violation() => Err(DbError::Conflict(conflict)),
        other => other,
    }
}

/// A unique-index violation is the guard's conflict (the transaction is
/// rolled back either way).
fn unique<T>(result: Result<T, DbError>, conflict: Conflict) -> Result<T, DbError> {
    match result {
        Err(e) if e.is_unique_violation() => Err(DbError::Conflict(conflict)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::{
        Challenge, ChallengeId, ChallengePolicy, CodeFormat, Email, Purpose, Subject, Timestamp,
        UserId,
    };

    fn issue(purpose: Purpose, subject: Subject) -> ChangeSet {
        let code = CodeFormat::Crockford6
            .code_from_draws(&[1, 2, 3, 4, 5, 6])
            .unwrap();
        let c = Challenge::issue(
            ChallengeId::from_random_bytes([9; 16]),
            purpose,
            subject,
            &code,
            &accountd_testkit::key(),
            ChallengePolicy::unicat(900, 5),
            Timestamp::from_millis(0),
        );
        ChangeSet::new().with(Change::IssueChallenge(c))
    }

    fn consume(user: UserId, purposes: Vec<Purpose>) -> ChangeSet {
        ChangeSet::new().with(Change::ConsumeOpenChallenges {
            key: Subject::user_key(&user),
            purposes,
        })
    }

    fn share_a_lock(a: &ChangeSet, b: &ChangeSet) -> bool {
        let b = lock_ids(b);
        lock_ids(a).iter().any(|id| b.contains(id))
    }

    #[test]
    fn consuming_open_codes_waits_for_an_issue_of_those_codes_and_no_other() {
        let ann = UserId::from_random_bytes([1; 16]);
        let bob = UserId::from_random_bytes([2; 16]);
        let all = vec![
            Purpose::ForgotPassword,
            Purpose::ResetPassword,
            Purpose::ChangeEmail,
        ];
        let by_name = issue(Purpose::ResetPassword, Subject::Account { user: ann });
        let by_email = issue(
            Purpose::ResetPassword,
            Subject::Accounts {
                email: Email::parse("ann@example.com").unwrap(),
                users: vec![bob, ann],
            },
        );
        let change = issue(
            Purpose::ChangeEmail,
            Subject::EmailChange {
                user: ann,
                new_email: Email::parse("new@example.com").unwrap(),
            },
        );
        for issued in [&by_name, &by_email, &change] {
            assert!(share_a_lock(&consume(ann, all.clone()), issued));
        }
        // Another purpose, or another account: no common lock.
        assert!(!share_a_lock(
            &consume(ann, vec![Purpose::ForgotPassword]),
            &change
        ));
        assert!(!share_a_lock(&consume(bob, all), &change));
    }
}
