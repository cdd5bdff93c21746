//! The audit log's contract: an event of a change set is written with the
//! set and only then, stamped with the set's `now`; `audit_events` filters
//! by user, event and time and pages oldest first; a purge removes the rows
//! at or before its cut-off.

use super::*;
use accountd_adapters::{AuditFilter, AuditRecord};
use accountd_domain::{AuditEvent, AuditEventKind, AuditOutcome, ProjectId};
use serde_json::json;

async fn all(db: &Database, filter: AuditFilter) -> Vec<AuditRecord> {
    db.audit_events(filter, None, 1000).await.unwrap()
}

fn event(kind: AuditEventKind, user: Option<UserId>) -> AuditEvent {
    AuditEvent::new(kind, user).client(Some("203.0.113.9"))
}

async fn an_audit_event_is_written_with_its_change_set_and_round_trips(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let project = ProjectId::from_random_bytes([7; 16]);
    let set = ChangeSet::new()
        .with(Change::SetPassword {
            user: ann.id,
            hash: hash("new"),
            expected_version: ann.credential_version,
        })
        .audit(
            event(AuditEventKind::PasswordChanged, Some(ann.id))
                .word("via", "account_update")
                .project(project)
                .count("failures", 3),
        )
        .audit(AuditEvent::new(AuditEventKind::LoginFailed, None).outcome(AuditOutcome::Failure));
    assert_eq!(db.apply(set, at(10)).await.unwrap(), Applied::Committed);
    let rows = all(db, AuditFilter::default()).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].time, at(10));
    assert_eq!(rows[0].event, "password_changed");
    assert_eq!(rows[0].user_gid, Some(ann.id.to_string()));
    assert_eq!(rows[0].client_addr.as_deref(), Some("203.0.113.9"));
    assert_eq!(rows[0].outcome, "success");
    assert_eq!(
        rows[0].details,
        json!({"via": "account_update", "project": project.to_string(), "failures": 3})
    );
    assert_eq!(rows[1].event, "login_failed");
    assert_eq!(rows[1].user_gid, None);
    assert_eq!(rows[1].client_addr, None);
    assert_eq!(rows[1].outcome, "failure");
    assert_eq!(rows[1].details, json!({}));
}

async fn a_refused_change_set_writes_none_of_its_audit_events(db: &Database) {
    let ann = create_user(db, 1, "ann").await;
    let set = ChangeSet::new()
        .audit(event(AuditEventKind::PasswordChanged, Some(ann.id)))
        .with(Change::SetPassword {
            user: ann.id,
            hash: hash("new"),
            // Stale: the guard fails after the event was listed.
            expected_version: ann.credential_version + 1,
        });
    assert_eq!(
        db.apply(set, at(10)).await.unwrap(),
        Applied::Refused(Conflict::UserChanged)
    );
    assert_eq!(all(db, AuditFilter::default()).await, vec![]);
}

async fn audit_events_filter_by_user_event_and_time_and_page_oldest_first(db: &Database) {
    let ann = user_id(1);
    let bob = user_id(2);
    // Written out of time order: reading sorts by time, then by id.
    for (kind, user, secs) in [
        (AuditEventKind::LoginSucceeded, Some(ann), 30),
        (AuditEventKind::LoginFailed, None, 10),
        (AuditEventKind::LoginFailed, Some(bob), 20),
        (AuditEventKind::LoginSucceeded, Some(bob), 20),
        (AuditEventKind::Signup, Some(ann), 5),
    ] {
        let set = ChangeSet::new().audit(AuditEvent::new(kind, user));
        assert_eq!(db.apply(set, at(secs)).await.unwrap(), Applied::Committed);
    }
    let summary = |rows: Vec<AuditRecord>| -> Vec<(String, Option<String>, Timestamp)> {
        rows.into_iter()
            .map(|r| (r.event, r.user_gid, r.time))
            .collect()
    };
    let s =
        |e: &str, u: Option<UserId>, secs: i64| (e.to_owned(), u.map(|u| u.to_string()), at(secs));
    assert_eq!(
        summary(all(db, AuditFilter::default()).await),
        [
            s("signup", Some(ann), 5),
            s("login_failed", None, 10),
            s("login_failed", Some(bob), 20),
            s("login_succeeded", Some(bob), 20),
            s("login_succeeded", Some(ann), 30),
        ]
    );
    let of_ann = AuditFilter {
        user: Some(ann),
        ..AuditFilter::default()
    };
    assert_eq!(
        summary(all(db, of_ann).await),
        [
            s("signup", Some(ann), 5),
            s("login_succeeded", Some(ann), 30)
        ]
    );
    let failed_since_15 = AuditFilter {
        event: Some(AuditEventKind::LoginFailed),
        since: Some(at(15)),
        ..AuditFilter::default()
    };
    assert_eq!(
        summary(all(db, failed_since_15).await),
        [s("login_failed", Some(bob), 20)]
    );
    // Pages of two, each after the last row of the one before.
    let mut seen = Vec::new();
    let mut after: Option<AuditRecord> = None;
    loop {
        let page = db
            .audit_events(AuditFilter::default(), after.as_ref(), 2)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(
        summary(seen),
        summary(all(db, AuditFilter::default()).await)
    );
}

async fn a_purge_removes_audit_rows_at_or_before_its_cut_off_only(db: &Database) {
    for secs in [0, 100, 101] {
        let set = ChangeSet::new().audit(AuditEvent::new(AuditEventKind::LoginFailed, None));
        assert_eq!(db.apply(set, at(secs)).await.unwrap(), Applied::Committed);
    }
    let purged = db
        .purge(accountd_adapters::PurgeBefore {
            audit_events: at(100),
            ..purge_before(at(100))
        })
        .await
        .unwrap();
    assert_eq!(purged.audit_events, 2);
    let left: Vec<Timestamp> = all(db, AuditFilter::default())
        .await
        .into_iter()
        .map(|r| r.time)
        .collect();
    assert_eq!(left, [at(101)]);
}

contracts!(
    an_audit_event_is_written_with_its_change_set_and_round_trips,
    a_refused_change_set_writes_none_of_its_audit_events,
    audit_events_filter_by_user_event_and_time_and_page_oldest_first,
    a_purge_removes_audit_rows_at_or_before_its_cut_off_only,
);
