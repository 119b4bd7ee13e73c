//! The overview as `/status.json`, for scripts: the same counts, items and jobs as the page, the
//! same filters and pages (documented in the README).

use std::time::SystemTime;

use serde_json::{json, Value};

use super::html::utc;
use super::model::{Item, Overview, Query};
use crate::metrics::epoch_seconds;

fn time(t: Option<SystemTime>) -> Value {
    t.map(|t| json!(epoch_seconds(t))).unwrap_or(Value::Null)
}

fn item(i: &Item) -> Value {
    json!({
        "account_id": i.account_id,
        "account_name": i.account_name,
        "region": i.region,
        "what": i.subject,
        "code": i.code,
        "message": i.message,
        "seen_unix": time(i.seen),
        "exception": i.exception,
    })
}

/// The JSON document for `q`.
pub fn render(o: &Overview, q: &Query) -> String {
    let sections: Vec<Value> = o
        .sections
        .iter()
        .map(|s| {
            let page = if q.section.as_deref() == Some(s.id) {
                q.page
            } else {
                0
            };
            let (range, pages) = Overview::page_of(s.items.len(), page);
            json!({
                "id": s.id,
                "title": s.title,
                "count": s.items.len(),
                "counted_as": s.counts,
                "page": page.min(pages - 1) + 1,
                "pages": pages,
                "items": s.items[range].iter().map(item).collect::<Vec<_>>(),
            })
        })
        .collect();
    let (range, pages) = Overview::page_of(o.matching_len(), q.page);
    let jobs: Vec<Value> = o
        .matching_page(range)
        .map(|j| {
            let r = &j.row;
            let error = r.last_error();
            json!({
                "collector": r.key.collector.name(),
                "account_id": r.key.account_id,
                "account_name": j.account_name,
                "region": r.key.region,
                "target": r.target,
                "state": j.state.as_str(),
                "error_kind": error.as_ref().map(|e| e.kind.as_str()),
                "error_message": error.as_ref().map(|e| e.message.as_str()),
                "consecutive_failures": r.consecutive_failures,
                "last_attempt_unix": time(r.last_attempt),
                "last_success_unix": time(r.last_success),
                "duration_seconds": r.last_duration.map(|d| d.as_secs_f64()),
                "aws_calls": r.last_calls,
                "series": r.series,
                "notes": r.notes.iter().take(20).collect::<Vec<_>>(),
            })
        })
        .collect();
    let discovery: Vec<Value> = o
        .listings
        .iter()
        .map(|(target, l)| {
            json!({
                "target": target,
                "listing": l.state(),
                "pages": l.pages,
                "accounts_listed": l.accounts,
                "started_unix": time(l.started),
                "finished_unix": time(l.finished),
                "error": l.error,
                "last_complete_unix": time(l.last_complete.map(|c| c.0)),
                "last_complete_accounts": l.last_complete.map(|c| c.1),
            })
        })
        .collect();
    let doc = json!({
        "generated_at": utc(o.generated_at),
        "generated_at_unix": epoch_seconds(o.generated_at),
        "accounts": o.accounts,
        "complete": o.complete,
        "discovery": discovery,
        "sections": sections,
        "exceptions": o.exceptions.iter().map(|e| json!({
            "name": e.name,
            "scope": e.scope,
            "signal": e.signal,
            "owner": e.owner,
            "reason": e.reason,
            "review": e.review,
            "overdue": e.overdue,
            "accounts": e.accounts,
            "items": e.items,
        })).collect::<Vec<_>>(),
        "jobs": {
            "total": o.jobs,
            "failing": o.jobs_failing,
            "matching": o.matching_len(),
            "page": q.page.min(pages - 1) + 1,
            "pages": pages,
            "items": jobs,
        },
    });
    let mut s = doc.to_string();
    s.push('\n');
    s
}
