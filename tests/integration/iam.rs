//! `iam_access_report` end to end against the simulator: the job across scheduler ticks (real,
//! short time: the collector's state lives in the running scheduler loop), every page, a failed
//! job retried, regeneration while the old report is served; and the simulator's own validation
//! through the real SDK.

use std::time::{Duration, Instant};

use aws_sdk_iam::config::{BehaviorVersion, Region};
use aws_sim::iam::{ou_entity_path, report, root_entity_path, Job, Options};
use aws_sim::{Fault, FaultRule, Sim, World, WorldOptions};

use crate::common::{creds, Env, Scrape};

const STATUS: &str = "aws_iam_org_access_report_job_status";
const COMPLETION: &str = "aws_iam_org_access_report_completion_timestamp_seconds";
const ACCESSIBLE: &str = "aws_iam_org_access_report_services_accessible";
const NOT_ACCESSED: &str = "aws_iam_org_access_report_services_not_accessed";
const LAST_AUTH: &str = "aws_iam_org_access_report_service_last_authenticated_timestamp_seconds";
const ENTITIES: &str = "aws_iam_org_access_report_service_authenticated_entities";

fn world(iam: Options) -> WorldOptions {
    WorldOptions {
        members: 3,
        iam,
        ..WorldOptions::default()
    }
}

/// Every other collector off; the access report of `path` on the given timing.
fn collectors(path: &str, interval: &str, poll: &str) -> String {
    let mut s = String::new();
    // Every other collector the exporter has, so that one added later is off here too.
    for c in posture_exporter::collectors::CollectorKind::ALL
        .iter()
        .map(|k| k.name())
        .filter(|c| *c != "iam_access_report")
    {
        s.push_str(&format!("  {c}:\n    enabled: false\n"));
    }
    s.push_str(&format!(
        "  iam_access_report:\n    interval: {interval}\n    poll_interval: {poll}\n    entity_paths: [\"{path}\"]\n"
    ));
    s
}

async fn start(opts: WorldOptions, interval: &str, poll: &str) -> (Env, String) {
    let path = root_entity_path(&World::new(opts.clone()));
    let env = Env::start(opts, &collectors(&path, interval, poll)).await;
    env.wait_ready().await;
    (env, path)
}

fn status(s: &Scrape, path: &str, st: &str) -> Option<f64> {
    s.get(STATUS, &[("entity_path", path), ("status", st)])
}

/// Scrapes every 50 ms until `f` holds (at most 20 s), handing every scrape to `each`.
async fn until(env: &Env, mut each: impl FnMut(&Scrape), f: impl Fn(&Scrape) -> bool) -> Scrape {
    let t = Instant::now();
    loop {
        let s = env.scrape().await;
        each(&s);
        if f(&s) {
            return s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "condition not met within 20 s; last scrape:\n{}",
            s.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn jobs(env: &Env) -> Vec<Job> {
    env.sim
        .world(|w| w.iam.jobs().into_iter().cloned().collect())
}

/// Asserts that the scrape carries exactly the simulator's report of `job`.
fn assert_report(env: &Env, s: &Scrape, path: &str, job: &Job) {
    let rows = env.sim.world(|w| report(w, job));
    let p = [("entity_path", path)];
    let never = rows
        .iter()
        .filter(|r| r.last_authenticated.is_none())
        .count();
    assert!(never > 0 && never < rows.len(), "{never} of {}", rows.len());
    assert_eq!(s.get(ACCESSIBLE, &p), Some(rows.len() as f64));
    assert_eq!(s.get(NOT_ACCESSED, &p), Some(never as f64));
    assert_eq!(s.get(COMPLETION, &p), Some(job.completed()));
    for r in &rows {
        let l = [
            ("entity_path", path),
            ("service_namespace", r.namespace.as_str()),
        ];
        assert_eq!(
            s.get(LAST_AUTH, &l),
            r.last_authenticated,
            "{}",
            r.namespace
        );
        assert_eq!(
            s.get(ENTITIES, &l),
            Some(r.entities.unwrap_or(0) as f64),
            "{}",
            r.namespace
        );
    }
    assert_eq!(s.matching(ENTITIES, &p).len(), rows.len());
    assert_eq!(s.matching(LAST_AUTH, &p).len(), rows.len() - never);
}

#[test]
fn the_simulators_entity_paths_pass_the_exporters_validation() {
    // The demo and these tests configure the paths the simulator hands out.
    let w = World::new(WorldOptions::default());
    for p in [root_entity_path(&w), ou_entity_path(&w, 3)] {
        assert!(posture_exporter::config::valid_entity_path(&p), "{p}");
    }
}

#[tokio::test]
async fn a_report_completes_across_polls_and_every_page_is_exported() {
    let opts = Options {
        polls_in_progress: 2,
        page_size: 20,
        services: 45,
        fail_every: 0,
        ..Options::default()
    };
    let (env, path) = start(world(opts), "1h", "1s").await;
    let mut saw_in_progress = false;
    let s = until(
        &env,
        |s| saw_in_progress |= status(s, &path, "IN_PROGRESS") == Some(1.0),
        |s| status(s, &path, "COMPLETED") == Some(1.0),
    )
    .await;
    assert!(saw_in_progress, "the job was seen in progress first");
    assert_eq!(status(&s, &path, "IN_PROGRESS"), None);
    assert_eq!(status(&s, &path, "FAILED"), None);
    let all = jobs(&env);
    assert_eq!(all.len(), 1);
    assert_report(&env, &s, &path, &all[0]);
    // One generation; two reads in progress, then three pages (45 services, 20 a page
    // whatever MaxItems asks).
    assert_eq!(env.sim.calls("GenerateOrganizationsAccessReport"), 1);
    assert_eq!(env.sim.calls("GetOrganizationsAccessReport"), 5);
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert_eq!(s.up("iam_access_report", &mgmt, "us-east-1"), Some(1.0));
    // Nothing more is called until the report is an interval old.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(env.sim.calls("GetOrganizationsAccessReport"), 5);
    env.stop().await;
}

#[tokio::test]
async fn a_failed_job_is_exported_and_retried_at_the_next_interval() {
    let opts = Options {
        polls_in_progress: 1,
        fail_every: 0,
        fail_jobs: vec![1],
        ..Options::default()
    };
    let (env, path) = start(world(opts), "3s", "1s").await;
    let p = [("entity_path", path.as_str())];
    let s = until(&env, |_| {}, |s| status(s, &path, "FAILED") == Some(1.0)).await;
    assert_eq!(s.get(ACCESSIBLE, &p), None, "no report completed yet");
    assert_eq!(env.sim.calls("GenerateOrganizationsAccessReport"), 1);
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert_eq!(
        s.up("iam_access_report", &mgmt, "us-east-1"),
        Some(1.0),
        "a failed job is a finding, not a failed collection"
    );
    let s = until(&env, |_| {}, |s| status(s, &path, "COMPLETED") == Some(1.0)).await;
    let all = jobs(&env);
    assert_eq!(all.len(), 2, "retried once");
    assert!(all[0].fails && !all[1].fails);
    assert_report(&env, &s, &path, &all[1]);
    env.stop().await;
}

#[tokio::test]
async fn a_new_report_is_generated_while_the_old_one_is_served() {
    let opts = Options {
        polls_in_progress: 2,
        fail_every: 0,
        ..Options::default()
    };
    let (env, path) = start(world(opts), "4s", "1s").await;
    let p = [("entity_path", path.as_str())];
    let first = until(&env, |_| {}, |s| status(s, &path, "COMPLETED") == Some(1.0)).await;
    let job1 = jobs(&env)[0].clone();
    assert_report(&env, &first, &path, &job1);
    // Until the second report completes, every scrape serves the first one, also while the
    // second job is in progress.
    let mut saw_old_while_new_runs = false;
    let last = until(
        &env,
        |s| {
            let completion = s.get(COMPLETION, &p);
            if completion == Some(job1.completed()) {
                assert_eq!(s.get(ACCESSIBLE, &p), first.get(ACCESSIBLE, &p));
                saw_old_while_new_runs |= status(s, &path, "IN_PROGRESS") == Some(1.0);
            } else {
                assert!(completion.is_some(), "the report blanked:\n{}", s.text);
            }
        },
        |s| s.get(COMPLETION, &p).is_some_and(|c| c != job1.completed()),
    )
    .await;
    assert!(saw_old_while_new_runs);
    let all = jobs(&env);
    assert_eq!(all.len(), 2);
    assert_eq!(status(&last, &path, "COMPLETED"), Some(1.0));
    assert_report(&env, &last, &path, &all[1]);
    assert_ne!(
        last.matching(LAST_AUTH, &p),
        first.matching(LAST_AUTH, &p),
        "the new report's values replaced the old"
    );
    env.stop().await;
}

#[tokio::test]
async fn access_denied_on_generation_fails_the_collection() {
    let opts = world(Options::default());
    let path = root_entity_path(&World::new(opts.clone()));
    let sim = Sim::start(opts).await.unwrap();
    sim.add_fault(
        FaultRule::always(Fault::AccessDenied).operation("GenerateOrganizationsAccessReport"),
    );
    let yaml = crate::common::yaml_for(&sim, &collectors(&path, "1h", "1s"), "");
    let cfg = posture_exporter::config::Config::from_yaml_str(&yaml).unwrap();
    let env = Env::start_config(sim, cfg).await;
    env.wait_ready().await;
    let s = env.scrape().await;
    let mgmt = env.sim.world(|w| w.management().id.clone());
    assert_eq!(s.up("iam_access_report", &mgmt, "us-east-1"), Some(0.0));
    assert!(s.matching(STATUS, &[]).is_empty());
    let row = env
        .app
        .store
        .status()
        .into_iter()
        .find(|r| r.key.account_id == mgmt)
        .unwrap();
    assert_eq!(row.last_error().unwrap().kind.as_str(), "access_denied");
    env.stop().await;
}

fn iam_client(sim: &Sim) -> aws_sdk_iam::Client {
    let conf = aws_sdk_iam::Config::builder()
        // Probes send what AWS refuses on purpose: the request check leaves them out.
        .app_name(aws_sdk_iam::config::AppName::new(aws_sim::record::PROBE).unwrap())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(sim.url())
        .credentials_provider(creds())
        .build();
    aws_sdk_iam::Client::from_conf(conf)
}

fn code<E, R>(e: &aws_sdk_iam::error::SdkError<E, R>) -> String
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e {
        aws_sdk_iam::error::SdkError::ServiceError(s) => s.err().code().unwrap_or("").to_string(),
        other => format!("not a service error: {other:?}"),
    }
}

#[tokio::test]
async fn the_simulator_validates_and_pages_like_iam() {
    let opts = world(Options {
        polls_in_progress: 0,
        fail_every: 0,
        max_jobs_in_progress: 2,
        ..Options::default()
    });
    let path = root_entity_path(&World::new(opts.clone()));
    let sim = Sim::start(opts).await.unwrap();
    let iam = iam_client(&sim);
    let gen = |p: &str| {
        iam.generate_organizations_access_report()
            .entity_path(p)
            .send()
    };

    for bad in ["o-short/r-ab", "o-ABCDEFGHIJ/r-abcd", "o-a1b2c3d4e5/x-abcd"] {
        assert_eq!(
            code(&gen(bad).await.unwrap_err()),
            "ValidationError",
            "{bad}"
        );
    }
    for foreign in [
        "o-a1b2c3d4e5/r-abcd".to_string(),
        format!("{path}/999999999999"),
        format!("{path}/ou-zzzz-12345678"),
    ] {
        assert_eq!(
            code(&gen(&foreign).await.unwrap_err()),
            "InvalidInput",
            "{foreign}"
        );
    }

    let job = gen(&path).await.unwrap().job_id.unwrap();
    assert_eq!(job.len(), 36);
    let get = |max: Option<i32>, marker: Option<String>| {
        iam.get_organizations_access_report()
            .job_id(&job)
            .set_max_items(max)
            .set_marker(marker)
            .send()
    };
    for max in [0, 1001] {
        assert_eq!(
            code(&get(Some(max), None).await.unwrap_err()),
            "ValidationError"
        );
    }
    assert_eq!(
        code(&get(None, Some("forged".into())).await.unwrap_err()),
        "InvalidInput"
    );
    let unknown = iam
        .get_organizations_access_report()
        .job_id("00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&unknown), "NoSuchEntity");
    assert_eq!(unknown.raw_response().unwrap().status().as_u16(), 404);

    // MaxItems 1000 still gets at most 20 a page; MaxItems 7 gets 7; every page is followed.
    let first = get(Some(1000), None).await.unwrap();
    assert_eq!(first.job_status().as_str(), "COMPLETED");
    assert_eq!(first.access_details().len(), 20);
    assert!(first.is_truncated());
    let (mut seen, mut marker, mut pages) = (Vec::new(), None, 0);
    loop {
        let p = get(Some(7), marker).await.unwrap();
        pages += 1;
        assert!(p.access_details().len() <= 7);
        seen.extend(p.access_details().iter().cloned());
        if !p.is_truncated() {
            break;
        }
        marker = p.marker().map(str::to_string);
    }
    assert_eq!(pages, 7);
    let j = sim.world(|w| w.iam.job(&job).cloned()).unwrap();
    let rows = sim.world(|w| report(w, &j));
    assert_eq!(seen.len(), rows.len());
    for (d, r) in seen.iter().zip(&rows) {
        assert_eq!(d.service_namespace(), r.namespace);
        assert_eq!(
            d.last_authenticated_time().map(|t| t.as_secs_f64()),
            r.last_authenticated
        );
        assert_eq!(d.total_authenticated_entities().map(i64::from), r.entities);
    }
    assert_eq!(first.job_creation_date().as_secs_f64(), j.created());

    // Jobs not yet read count against the limit of jobs in progress per account.
    let limited = Options {
        polls_in_progress: 5,
        max_jobs_in_progress: 2,
        ..Options::default()
    };
    sim.world(|w| w.opts.iam = limited);
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(match gen(&path).await {
            Ok(_) => "ok".to_string(),
            Err(e) => {
                assert_eq!(e.raw_response().unwrap().status().as_u16(), 409);
                code(&e)
            }
        });
    }
    assert_eq!(codes, ["ok", "ok", "ReportGenerationLimitExceeded"]);
}
