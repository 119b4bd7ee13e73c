//! The state machine under paused time, against a fake API.

use std::collections::HashMap;
use std::sync::Mutex;

use super::super::api::{Page, ServiceAccess};
use super::super::convert;
use super::*;

const ROOT: &str = "o-a1b2c3d4e5/r-f6g7";
const OU: &str = "o-a1b2c3d4e5/r-f6g7/ou-f6g7-h8i9j0k1";

fn settings() -> Settings {
    Settings {
        interval: Duration::from_secs(3600),
        poll_interval: Duration::from_secs(10),
    }
}

fn sdk_error(op: &'static str, code: &str) -> CollectError {
    CollectError {
        code: Some(code.to_string()),
        ..CollectError::new(
            op,
            "111111111111",
            "us-east-1",
            crate::aws::error::kind_of_code(code),
            format!("{code}: simulated"),
        )
    }
}

struct FakeJob {
    polls_left: u32,
    fails: bool,
    seq: u32,
}

/// A fake IAM: jobs finish after `polls` reads; completed reports are three pages (2, 3
/// and 1 services: fewer than MaxItems while truncated) whose values depend on the job.
#[derive(Default)]
struct Fake {
    polls: u32,
    jobs: Mutex<HashMap<String, FakeJob>>,
    seq: Mutex<u32>,
    calls: Mutex<Vec<String>>,
    fail_next_jobs: Mutex<u32>,
    generate_errors: Mutex<Vec<(String, CollectError)>>,
    page_errors: Mutex<Vec<CollectError>>,
}

impl Fake {
    fn new(polls: u32) -> Self {
        Fake {
            polls,
            ..Default::default()
        }
    }

    /// The calls since the last look.
    fn calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    /// The next generation for `path` fails with `code`.
    fn fail_generate(&self, path: &str, code: &str) {
        self.generate_errors.lock().unwrap().push((
            path.to_string(),
            sdk_error("GenerateOrganizationsAccessReport", code),
        ));
    }

    /// The next read fails with `code`.
    fn fail_page(&self, code: &str) {
        self.page_errors
            .lock()
            .unwrap()
            .push(sdk_error("GetOrganizationsAccessReport", code));
    }
}

fn service(ns: &str, seq: u32, accessed: bool) -> ServiceAccess {
    ServiceAccess {
        namespace: ns.into(),
        name: format!("Service {ns}"),
        last_authenticated: accessed.then_some(1_700_000_000.0 + seq as f64),
        authenticated_entities: accessed.then_some(seq as i64 + 1),
        region: accessed.then(|| "us-east-1".into()),
        entity_path: accessed.then(|| ROOT.into()),
    }
}

impl ReportApi for Fake {
    async fn generate(&self, entity_path: &str) -> Result<String, CollectError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("generate {entity_path}"));
        {
            let mut errs = self.generate_errors.lock().unwrap();
            if let Some(i) = errs.iter().position(|(p, _)| p == entity_path) {
                return Err(errs.remove(i).1);
            }
        }
        let mut seq = self.seq.lock().unwrap();
        *seq += 1;
        let id = format!("job-{}", *seq);
        let mut fail = self.fail_next_jobs.lock().unwrap();
        let fails = *fail > 0;
        *fail = fail.saturating_sub(1);
        self.jobs.lock().unwrap().insert(
            id.clone(),
            FakeJob {
                polls_left: self.polls,
                fails,
                seq: *seq,
            },
        );
        Ok(id)
    }

    async fn page(&self, job_id: &str, marker: Option<&str>) -> Result<Page, CollectError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("page {job_id} {}", marker.unwrap_or("-")));
        if let Some(e) = self.page_errors.lock().unwrap().pop() {
            return Err(e);
        }
        let mut jobs = self.jobs.lock().unwrap();
        let Some(job) = jobs.get_mut(job_id) else {
            return Err(sdk_error("GetOrganizationsAccessReport", "NoSuchEntity"));
        };
        let created = Some(1_700_000_000.0 + job.seq as f64 * 1000.0);
        if job.polls_left > 0 {
            job.polls_left -= 1;
            return Ok(Page {
                status: IN_PROGRESS.into(),
                created,
                ..Default::default()
            });
        }
        let completed = created.map(|c| c + 30.0);
        if job.fails {
            return Ok(Page {
                status: FAILED.into(),
                created,
                completed,
                error: Some(ErrorDetails {
                    code: "ServiceDataUnavailable".into(),
                    message: "try again later".into(),
                }),
                ..Default::default()
            });
        }
        let seq = job.seq;
        let (details, next) = match marker {
            None => (
                vec![service("ec2", seq, true), service("iam", seq, true)],
                Some("m1"),
            ),
            Some("m1") => (
                vec![
                    service("kms", seq, false),
                    service("s3", seq, true),
                    service("sqs", seq, false),
                ],
                Some("m2"),
            ),
            Some("m2") => (vec![service("zocalo", seq, false)], None),
            Some(m) => panic!("unexpected marker {m}"),
        };
        Ok(Page {
            status: COMPLETED.into(),
            created,
            completed,
            services_accessible: Some(6),
            services_not_accessed: Some(3),
            details,
            is_truncated: next.is_some(),
            marker: next.map(str::to_string),
            error: None,
        })
    }
}

fn text(state: &State, paths: &[String]) -> String {
    convert::families(&convert::entries(state, paths))
        .iter()
        .map(|f| f.text())
        .collect()
}

fn status_lines(path: &str, current: &str) -> String {
    format!(
        "aws_iam_org_access_report_job_status{{entity_path=\"{path}\",status=\"{current}\"}} 1\n"
    )
}

fn completion_line(path: &str, secs: u64) -> String {
    format!(
        "aws_iam_org_access_report_completion_timestamp_seconds{{entity_path=\"{path}\"}} {secs}\n"
    )
}

/// The exported lines but the job status: the values of the report served.
fn values(t: &str) -> Vec<String> {
    t.lines()
        .filter(|l| !l.starts_with("aws_iam_org_access_report_job_status"))
        .map(str::to_string)
        .collect()
}

async fn tick(fake: &Fake, st: &mut State, paths: &[String], s: &Settings) -> Outcome {
    run(fake, st, paths, s, Instant::now()).await
}

#[tokio::test(start_paused = true)]
async fn in_progress_across_ticks_then_completed_with_three_pages() {
    let (fake, s, paths) = (Fake::new(2), settings(), vec![ROOT.to_string()]);
    let mut st = State::default();

    let o = tick(&fake, &mut st, &paths, &s).await;
    assert!(o.errors.is_empty());
    assert_eq!(o.next_run, Some(s.poll_interval));
    assert_eq!(fake.calls(), vec![format!("generate {ROOT}")]);
    assert_eq!(text(&st, &paths), status_lines(ROOT, IN_PROGRESS));

    for _ in 0..2 {
        tokio::time::advance(s.poll_interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert_eq!(o.next_run, Some(s.poll_interval));
        assert_eq!(fake.calls(), vec!["page job-1 -".to_string()]);
        assert_eq!(text(&st, &paths), status_lines(ROOT, IN_PROGRESS));
    }

    tokio::time::advance(s.poll_interval).await;
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert!(o.errors.is_empty());
    assert_eq!(
        fake.calls(),
        vec!["page job-1 -", "page job-1 m1", "page job-1 m2"]
    );
    // Regeneration is due an interval after the job started, 30 s ago.
    assert_eq!(o.next_run, Some(s.interval - 3 * s.poll_interval));
    let t = text(&st, &paths);
    assert!(t.starts_with(&status_lines(ROOT, COMPLETED)), "{t}");
    assert!(t.contains(&completion_line(ROOT, 1_700_001_030)), "{t}");
    let r = st.paths[ROOT].report.as_ref().unwrap();
    assert_eq!(r.services.len(), 6, "every page was read");
    assert_eq!((r.services_accessible, r.services_not_accessed), (6, 3));
    assert_eq!(t.matches("service_authenticated_entities{").count(), 6);
    assert_eq!(t.matches("service_last_authenticated").count(), 3);

    // Nothing to do until the report comes of age.
    tokio::time::advance(Duration::from_secs(60)).await;
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert!(fake.calls().is_empty());
    assert_eq!(o.next_run, Some(s.interval - Duration::from_secs(90)));
}

#[tokio::test(start_paused = true)]
async fn failed_job_is_exported_and_retried_at_the_next_interval() {
    let (fake, s, paths) = (Fake::new(1), settings(), vec![ROOT.to_string()]);
    *fake.fail_next_jobs.lock().unwrap() = 1;
    let mut st = State::default();
    tick(&fake, &mut st, &paths, &s).await;
    tokio::time::advance(s.poll_interval).await;
    tick(&fake, &mut st, &paths, &s).await;
    tokio::time::advance(s.poll_interval).await;
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert!(
        o.errors.is_empty(),
        "a FAILED job is a finding, not a failed run"
    );
    assert_eq!(
        o.notes,
        vec![format!(
            "{ROOT}: job job-1 FAILED: ServiceDataUnavailable: try again later"
        )]
    );
    assert_eq!(
        text(&st, &paths),
        status_lines(ROOT, FAILED),
        "no report yet: only the status"
    );
    assert_eq!(o.next_run, Some(s.interval - 2 * s.poll_interval));
    fake.calls();

    // Not before the interval...
    tokio::time::advance(s.interval - 3 * s.poll_interval).await;
    tick(&fake, &mut st, &paths, &s).await;
    assert!(fake.calls().is_empty());
    // ...then a new job, which completes.
    tokio::time::advance(s.poll_interval).await;
    tick(&fake, &mut st, &paths, &s).await;
    assert_eq!(fake.calls(), vec![format!("generate {ROOT}")]);
    for _ in 0..2 {
        tokio::time::advance(s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
    }
    let t = text(&st, &paths);
    assert!(t.starts_with(&status_lines(ROOT, COMPLETED)), "{t}");
    assert!(t.contains(&completion_line(ROOT, 1_700_002_030)), "{t}");
    assert_eq!(st.paths[ROOT].failure, None);
}

#[tokio::test(start_paused = true)]
async fn the_old_report_is_served_while_a_new_one_is_generated_or_fails() {
    let (fake, s, paths) = (Fake::new(1), settings(), vec![ROOT.to_string()]);
    let mut st = State::default();
    for _ in 0..3 {
        tick(&fake, &mut st, &paths, &s).await;
        tokio::time::advance(s.poll_interval).await;
    }
    let first = text(&st, &paths);
    assert!(first.contains(&completion_line(ROOT, 1_700_001_030)));

    // Regeneration: job 2 in progress, job 1's values still served.
    tokio::time::advance(s.interval).await;
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert_eq!(o.next_run, Some(s.poll_interval));
    assert_eq!(fake.calls().last().unwrap(), &format!("generate {ROOT}"));
    let during = text(&st, &paths);
    assert!(
        during.starts_with(&status_lines(ROOT, IN_PROGRESS)),
        "{during}"
    );
    assert_eq!(values(&during), values(&first));

    // Job 2 fails: FAILED, and still job 1's values.
    fake.jobs.lock().unwrap().get_mut("job-2").unwrap().fails = true;
    for _ in 0..2 {
        tokio::time::advance(s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
    }
    let failed = text(&st, &paths);
    assert!(failed.starts_with(&status_lines(ROOT, FAILED)), "{failed}");
    assert_eq!(values(&failed), values(&first));

    // Next interval: job 3 completes and replaces job 1's values.
    tokio::time::advance(s.interval).await;
    for _ in 0..3 {
        tick(&fake, &mut st, &paths, &s).await;
        tokio::time::advance(s.poll_interval).await;
    }
    let last = text(&st, &paths);
    assert!(last.starts_with(&status_lines(ROOT, COMPLETED)), "{last}");
    assert!(
        last.contains(&completion_line(ROOT, 1_700_003_030)),
        "{last}"
    );
    assert_ne!(values(&last), values(&first));
}

#[tokio::test(start_paused = true)]
async fn a_failed_generation_fails_the_run_and_is_retried() {
    let (fake, s, paths) = (Fake::new(0), settings(), vec![ROOT.to_string()]);
    fake.fail_generate(ROOT, "ReportGenerationLimitExceeded");
    let mut st = State::default();
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert_eq!(
        o.errors.get(ROOT).and_then(|e| e.code()),
        Some("ReportGenerationLimitExceeded")
    );
    assert_eq!(o.next_run, None);
    assert_eq!(text(&st, &paths), "");
    tokio::time::advance(s.interval).await;
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert!(o.errors.is_empty());
    assert_eq!(fake.calls().len(), 2);
    assert!(matches!(st.paths[ROOT].phase, Phase::Generating { .. }));
}

#[tokio::test(start_paused = true)]
async fn read_errors_keep_polling_until_the_third_then_give_up() {
    let (fake, s, paths) = (Fake::new(0), settings(), vec![ROOT.to_string()]);
    let mut st = State::default();
    tick(&fake, &mut st, &paths, &s).await;
    for i in 1..=3 {
        fake.fail_page("ServiceFailure");
        tokio::time::advance(s.poll_interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        if i < 3 {
            assert!(o.errors.is_empty(), "a job in progress keeps the poll hint");
            assert_eq!(o.next_run, Some(s.poll_interval));
            assert_eq!(o.notes.len(), 1);
            assert_eq!(text(&st, &paths), status_lines(ROOT, IN_PROGRESS));
        } else {
            assert_eq!(
                o.errors.get(ROOT).and_then(|e| e.code()),
                Some("ServiceFailure")
            );
            assert_eq!(st.paths[ROOT].phase, Phase::Idle);
            assert_eq!(text(&st, &paths), "", "the status is unknown");
        }
    }
    // Retried at the next interval.
    tokio::time::advance(s.interval).await;
    fake.calls();
    tick(&fake, &mut st, &paths, &s).await;
    assert_eq!(fake.calls(), vec![format!("generate {ROOT}")]);
}

#[tokio::test(start_paused = true)]
async fn a_read_error_between_two_successes_resets_the_count() {
    let (fake, s, paths) = (Fake::new(3), settings(), vec![ROOT.to_string()]);
    let mut st = State::default();
    tick(&fake, &mut st, &paths, &s).await;
    for fail in [true, true, false, true, true, false] {
        if fail {
            fake.fail_page("ServiceFailure");
        }
        tokio::time::advance(s.poll_interval).await;
        let o = tick(&fake, &mut st, &paths, &s).await;
        assert!(o.errors.is_empty());
    }
    assert!(text(&st, &paths).starts_with(&status_lines(ROOT, IN_PROGRESS)));
}

#[tokio::test(start_paused = true)]
async fn a_job_iam_forgot_is_generated_anew_in_the_same_run() {
    let (fake, s, paths) = (Fake::new(5), settings(), vec![ROOT.to_string()]);
    let mut st = State::default();
    tick(&fake, &mut st, &paths, &s).await;
    fake.jobs.lock().unwrap().clear();
    fake.calls();
    tokio::time::advance(s.poll_interval).await;
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert!(o.errors.is_empty());
    assert_eq!(o.notes.len(), 1, "{:?}", o.notes);
    assert_eq!(
        fake.calls(),
        vec!["page job-1 -".to_string(), format!("generate {ROOT}")]
    );
    assert_eq!(
        st.paths[ROOT].phase,
        Phase::Generating {
            job_id: "job-2".into(),
            started: Instant::now(),
            poll_errors: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_stuck_job_is_given_up_until_the_next_interval() {
    let (fake, s, paths) = (Fake::new(u32::MAX), settings(), vec![ROOT.to_string()]);
    let mut st = State::default();
    tick(&fake, &mut st, &paths, &s).await;
    tokio::time::advance(s.interval - s.poll_interval).await;
    tick(&fake, &mut st, &paths, &s).await;
    assert!(matches!(st.paths[ROOT].phase, Phase::Generating { .. }));
    tokio::time::advance(s.poll_interval).await;
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert_eq!(st.paths[ROOT].phase, Phase::Idle);
    assert_eq!(o.notes.len(), 1, "{:?}", o.notes);
    assert_eq!(o.next_run, None, "retried a whole interval later");
}

#[tokio::test(start_paused = true)]
async fn entity_paths_run_independently() {
    let (fake, s) = (Fake::new(1), settings());
    let paths = vec![ROOT.to_string(), OU.to_string()];
    let mut st = State::default();
    // The OU's first generation is throttled while the root's job runs.
    fake.fail_generate(OU, "Throttling");
    let o = tick(&fake, &mut st, &paths, &s).await;
    assert_eq!(
        fake.calls(),
        vec![format!("generate {ROOT}"), format!("generate {OU}")]
    );
    assert_eq!(
        o.errors.keys().collect::<Vec<_>>(),
        vec![OU],
        "the OU's part fails alone"
    );
    assert_eq!(o.errors[OU].code(), Some("Throttling"));
    assert!(o.notes.is_empty(), "{:?}", o.notes);
    assert_eq!(
        o.next_run,
        Some(s.poll_interval),
        "the root's job is polled"
    );
    tokio::time::advance(s.poll_interval).await;
    tick(&fake, &mut st, &paths, &s).await;
    assert_eq!(
        fake.calls(),
        vec!["page job-1 -".to_string(), format!("generate {OU}")]
    );
    for _ in 0..2 {
        tokio::time::advance(s.poll_interval).await;
        tick(&fake, &mut st, &paths, &s).await;
    }
    let t = text(&st, &paths);
    assert!(
        t.starts_with(&format!(
            "{}{}",
            status_lines(ROOT, COMPLETED),
            status_lines(OU, COMPLETED)
        )),
        "{t}"
    );
    assert!(t.contains(&completion_line(OU, 1_700_002_030)), "{t}");
    // A path removed from the config is forgotten.
    let only = vec![OU.to_string()];
    tick(&fake, &mut st, &only, &s).await;
    assert_eq!(st.paths.keys().collect::<Vec<_>>(), vec![OU]);
}

struct Canned(Page);

impl ReportApi for Canned {
    async fn generate(&self, _: &str) -> Result<String, CollectError> {
        Ok("job".into())
    }
    async fn page(&self, _: &str, _: Option<&str>) -> Result<Page, CollectError> {
        Ok(self.0.clone())
    }
}

#[tokio::test]
async fn paging_stops_on_a_missing_marker_and_on_endless_pages() {
    let truncated = Page {
        status: COMPLETED.into(),
        is_truncated: true,
        details: vec![service("s3", 1, true)],
        ..Default::default()
    };
    let e = read(&Canned(truncated.clone()), "job").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.message.contains("no Marker"), "{}", e.message);
    let endless = Page {
        marker: Some("again".into()),
        ..truncated
    };
    let e = read(&Canned(endless), "job").await.unwrap_err();
    assert!(e.message.contains("1000 pages"), "{}", e.message);
    // Without AWS's counts, they are counted from the pages.
    let one = Page {
        status: COMPLETED.into(),
        details: vec![service("s3", 1, true), service("sqs", 1, false)],
        ..Default::default()
    };
    match read(&Canned(one), "job").await.unwrap() {
        Progress::Completed(r) => {
            assert_eq!((r.services_accessible, r.services_not_accessed), (2, 1))
        }
        p => panic!("{p:?}"),
    }
    // A status AWS adds later is kept raw and polled on.
    let new = Page {
        status: "QUEUED".into(),
        ..Default::default()
    };
    assert_eq!(
        read(&Canned(new), "job").await.unwrap(),
        Progress::Running("QUEUED".into())
    );
}
