//! What the world holds of IAM's Organizations access reports: the settings of the jobs
//! ([`Options`]), a generated job ([`Job`]), and every job generated so far ([`State`]).

use std::collections::BTreeMap;

use crate::draw::EPOCH;

/// Generation settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Reads of a job that answer `IN_PROGRESS` before it is finished.
    pub polls_in_progress: u32,
    /// Most `AccessDetails` one page carries, whatever `MaxItems` asks.
    pub page_size: usize,
    /// Services a report lists (at most the size of the built-in catalogue, 60).
    pub services: usize,
    /// Every n-th job generated (by sequence number, from 1) fails; 0: none.
    pub fail_every: u64,
    /// Sequence numbers (from 1) of further jobs that fail.
    pub fail_jobs: Vec<u64>,
    /// Jobs in progress an account may have before `ReportGenerationLimitExceeded`.
    pub max_jobs_in_progress: usize,
}

impl Default for Options {
    /// Two polls to complete, 45 services over pages of 20 (three pages), every fourth job
    /// failing: a demo polling every few seconds shows a completed report within its first
    /// minute, and a failed one later.
    fn default() -> Self {
        Options {
            polls_in_progress: 2,
            page_size: 20,
            services: 45,
            fail_every: 4,
            fail_jobs: Vec::new(),
            max_jobs_in_progress: 5,
        }
    }
}

/// One generated job.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// The 36-character job id.
    pub id: String,
    /// Sequence number in the world, from 1.
    pub seq: u64,
    /// The entity path it reports on.
    pub entity_path: String,
    /// The account that generated it (only it may read it).
    pub account: String,
    /// Reads so far.
    pub polls: u32,
    /// Whether it ends `FAILED`.
    pub fails: bool,
}

impl Job {
    /// Unix seconds the job was created.
    pub fn created(&self) -> f64 {
        EPOCH + self.seq as f64 * 60.0
    }

    /// Unix seconds the job finished.
    pub fn completed(&self) -> f64 {
        self.created() + 30.0
    }
}

/// Generated state and test overrides.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) jobs: BTreeMap<String, Job>,
    pub(crate) seq: u64,
    /// Test override: the next this many jobs generated fail.
    pub fail_next: u32,
}

impl State {
    /// Generates the state for an organization (no job exists before one is asked for).
    pub fn new(_opts: &Options) -> Self {
        State::default()
    }

    /// Every job generated so far, in the order generated.
    pub fn jobs(&self) -> Vec<&Job> {
        let mut v: Vec<&Job> = self.jobs.values().collect();
        v.sort_by_key(|j| j.seq);
        v
    }

    /// One job.
    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.get(id)
    }
}
