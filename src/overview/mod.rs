//! The posture overview: what needs attention across the organization, from the snapshots the
//! store already holds (no AWS call).
//!
//! Each [`Section`] is one kind of trouble (failed member deployments, non-compliant rules, high
//! and critical findings, recorders off or failing, GuardDuty off or not covering an account,
//! protection plans disabled, collectors failing). Its count is the number of its items, and an
//! item is read from the same series `/metrics` exports (one sample, or one account and region),
//! so a count on the page is what a PromQL count over `/metrics` says at the same moment. Items
//! carry the account's name (from discovery's `aws_account_info`) and id, AWS's own error code and
//! message where AWS gave one, and when the exporter last read it.
//!
//! The configuration's exceptions are listed in a section of their own (scope, signal, owner,
//! reason, review date, overdue marked); an item an exception covers stays in its section, and
//! in its count (which stays what `/metrics` counts), marked with the exception's name.
//!
//! Everything shown is bounded whatever the organization's size: a section shows at most
//! [`PAGE`] items a page, and so does the job table, filtered by collector, account, region and
//! state. `html.rs` renders it as a page, `json.rs` as `/status.json`.

pub mod html;
pub mod json;
pub mod model;

pub use model::{
    Digest, Digests, ExceptionRow, Item, JobRow, JobState, Overview, Query, Section, PAGE,
};
