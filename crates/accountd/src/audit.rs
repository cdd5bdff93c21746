//! `accountd audit`: prints the audit log, oldest first, page by page (so a
//! year of events never sits in memory at once).

use crate::config::AuditArgs;
use crate::wiring::{fail, StartError};
use accountd_adapters::{AuditFilter, AuditRecord, Database};
use std::io::Write;

/// Rows read per query.
const PAGE: u32 = 500;

/// Prints every event `args` selects to `out`: aligned text, or with
/// `--json` one object per line.
pub(crate) async fn print(
    db: &Database,
    args: &AuditArgs,
    out: &mut impl Write,
) -> Result<(), StartError> {
    let filter = AuditFilter {
        user: args.user,
        event: args.event,
        since: args.since,
    };
    let mut after: Option<AuditRecord> = None;
    loop {
        let page = db
            .audit_events(filter.clone(), after.as_ref(), PAGE)
            .await
            .map_err(|e| fail(1, format!("cannot read the audit log: {e}")))?;
        for row in &page {
            let line = if args.json {
                json_line(row)
            } else {
                text_line(row)
            };
            writeln!(out, "{line}").map_err(|e| fail(1, format!("cannot write: {e}")))?;
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.clone()),
            _ => return Ok(()),
        }
    }
}

/// `2026-12-01T18:20:00.123Z`: RFC 3339 in UTC with milliseconds, always
/// 24 characters.
pub(crate) fn rfc3339(millis: i64) -> String {
    let nanos = i128::from(millis) * 1_000_000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.millisecond()
        ),
        // Out of range for a calendar date: the raw number says it all.
        Err(_) => format!("@{millis}ms"),
    }
}

fn json_line(row: &AuditRecord) -> String {
    serde_json::json!({
        "time": rfc3339(row.time.as_millis()),
        "event": row.event,
        "user_gid": row.user_gid,
        "client_addr": row.client_addr,
        "outcome": row.outcome,
        "details": row.details,
    })
    .to_string()
}

fn text_line(row: &AuditRecord) -> String {
    format!(
        "{}  {:<22}  {:<7}  {:<36}  {:<15}  {}",
        rfc3339(row.time.as_millis()),
        row.event,
        row.outcome,
        row.user_gid.as_deref().unwrap_or("-"),
        row.client_addr.as_deref().unwrap_or("-"),
        row.details
    )
    .trim_end()
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use accountd_domain::Timestamp;

    fn row() -> AuditRecord {
        AuditRecord {
            id: 1,
            time: Timestamp::from_millis(1_764_613_200_123),
            event: "login_failed".to_owned(),
            user_gid: None,
            client_addr: Some("203.0.113.9".to_owned()),
            outcome: "failure".to_owned(),
            details: serde_json::json!({"reason": "unknown_user"}),
        }
    }

    #[test]
    fn a_time_is_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_764_613_200_123), "2025-12-01T18:20:00.123Z");
    }

    #[test]
    fn a_json_line_has_exactly_the_spec_fields() {
        assert_eq!(
            json_line(&row()),
            r#"{"time":"2025-12-01T18:20:00.123Z","event":"login_failed","user_gid":null,"client_addr":"203.0.113.9","outcome":"failure","details":{"reason":"unknown_user"}}"#
        );
    }

    #[test]
    fn a_text_line_is_aligned() {
        assert_eq!(
            text_line(&row()),
            format!(
                "2025-12-01T18:20:00.123Z  login_failed            failure  {:<36}  203.0.113.9      {{\"reason\":\"unknown_user\"}}",
                "-"
            )
        );
    }
}
