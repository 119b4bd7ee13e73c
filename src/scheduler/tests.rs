//! The scheduler's unit tests: spreading, the gate's bounds, and no job running twice at once.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::aws::CallCounter;
use crate::collect::{Collected, RunFuture};

#[test]
fn a_job_runs_again_sooner_when_it_asks_and_never_later_than_its_interval() {
    let s = Duration::from_secs;
    assert_eq!(period(s(600), None), s(600));
    assert_eq!(period(s(600), Some(s(30))), s(30), "sooner, as asked");
    assert_eq!(
        period(s(4), Some(s(30))),
        s(4),
        "never later than the interval"
    );
    assert_eq!(
        period(s(4), Some(Duration::ZERO)),
        Duration::from_millis(10)
    );
}

#[test]
fn only_jobs_per_account_and_region_are_spread_and_organization_jobs_start_at_once() {
    let hour = Duration::from_secs(3600);
    let minute = Duration::from_secs(60);
    assert_eq!(
        first_delay(true, Scope::AccountRegion, hour, 0.5),
        Duration::from_secs(150),
        "half of the five-minute cap"
    );
    assert_eq!(
        first_delay(true, Scope::AccountRegion, minute, 0.5),
        Duration::from_secs(30),
        "half of a shorter interval"
    );
    assert_eq!(first_delay(true, Scope::Org, hour, 0.99), Duration::ZERO);
    assert_eq!(
        first_delay(false, Scope::AccountRegion, hour, 0.99),
        Duration::ZERO
    );
}

/// A job that takes 50 ms and counts how many of its runs are in flight at once.
struct Probe {
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    runs: Arc<AtomicUsize>,
}

impl Job for Probe {
    fn run(&mut self) -> RunFuture<'_> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.runs.fetch_add(1, Ordering::SeqCst);
            Ok(Collected::default())
        })
    }

    fn take_state(&mut self) -> Box<dyn std::any::Any + Send> {
        Box::new(self.runs.load(Ordering::SeqCst))
    }

    fn adopt(&mut self, _: Box<dyn std::any::Any + Send>) {}
}

#[tokio::test(start_paused = true)]
async fn a_job_never_runs_twice_at_once_whoever_runs_it() {
    let most = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let key = JobKey {
        collector: CollectorKind::ALL[0],
        account_id: "111111111111".into(),
        region: "us-east-1".into(),
    };
    let slot = Arc::new(Slot {
        key: key.clone(),
        target: "t".into(),
        // Shorter than a run: the loop is always due again when its run ends.
        schedule: Schedule {
            enabled: true,
            interval: Duration::from_millis(20),
            timeout: Duration::from_secs(5),
        },
        job: tokio::sync::Mutex::new(Box::new(Probe {
            in_flight: Arc::new(AtomicUsize::new(0)),
            most: most.clone(),
            runs: runs.clone(),
        })),
        gate: Some(Arc::new(Gate::new(&config(64)))),
        predecessor: Mutex::new(None),
        clients: None,
    });
    let store = Arc::new(Store::new(3, Arc::new(CallCounter::default())));
    store.register(key, "t", Duration::from_millis(20));
    let token = CancellationToken::new();
    // Every job keeps its loop's future while it exists, mostly asleep: the run is made
    // when it starts (504 bytes a loop with it inline, 360 without).
    let idle = std::mem::size_of_val(&run_job(
        slot.clone(),
        store.clone(),
        token.clone(),
        Duration::ZERO,
    ));
    assert!(idle <= 400, "a job's loop future is {idle} bytes");
    let looping = tokio::spawn(run_job(
        slot.clone(),
        store.clone(),
        token.clone(),
        Duration::ZERO,
    ));
    // `collect --once` style runs, twenty at once, beside the live loop.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..20 {
        set.spawn(run_slot(slot.clone(), store.clone()));
    }
    while let Some(r) = set.join_next().await {
        assert!(!r.expect("the run task").1, "a probe run does not fail");
    }
    token.cancel();
    looping.await.expect("the loop ends when cancelled");
    assert_eq!(
        most.load(Ordering::SeqCst),
        1,
        "two runs of one job overlapped"
    );
    let total = runs.load(Ordering::SeqCst);
    assert!(
        total > 20,
        "the loop ran too, beside the 20 others ({total} runs)"
    );
}

/// A job whose run only waits, with its turn handed back (as a run does while it waits for
/// a token of a slowed bucket), counting how many runs are in flight at once.
struct Waiter {
    in_flight: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl Job for Waiter {
    fn run(&mut self) -> RunFuture<'_> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            crate::aws::run::away(tokio::time::sleep(Duration::from_millis(50))).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(Collected::default())
        })
    }

    fn take_state(&mut self) -> Box<dyn std::any::Any + Send> {
        Box::new(())
    }

    fn adopt(&mut self, _: Box<dyn std::any::Any + Send>) {}
}

#[tokio::test(start_paused = true)]
async fn runs_that_handed_their_turn_back_still_count_among_the_runs_in_flight() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    // 4 calls at once: 16 turns, 64 runs in flight.
    let gate = Arc::new(Gate::new(&config(4)));
    let store = Arc::new(Store::new(3, Arc::new(CallCounter::default())));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..200 {
        let job = Waiter {
            in_flight: in_flight.clone(),
            most: most.clone(),
        };
        let slot = gated_slot(i, Box::new(job), &gate, &store);
        set.spawn(run_slot(slot, store.clone()));
    }
    while let Some(r) = set.join_next().await {
        assert!(!r.expect("the run task").1);
    }
    assert_eq!(
        most.load(Ordering::SeqCst),
        64,
        "more than the 16 turns (each run waits with its turn handed back), never more than \
         the 64 places"
    );
    assert_eq!(
        gate.runs.permits.available_permits(),
        64,
        "every place given back"
    );
}

/// Job `i` of an hourly collector behind `gate`, registered in `store`.
fn gated_slot(i: usize, job: Box<dyn Job>, gate: &Arc<Gate>, store: &Store) -> Arc<Slot> {
    let key = JobKey {
        collector: CollectorKind::ALL[0],
        account_id: format!("{i:012}"),
        region: "us-east-1".into(),
    };
    store.register(key.clone(), "t", Duration::from_secs(3600));
    Arc::new(Slot {
        key,
        target: "t".into(),
        schedule: Schedule {
            enabled: true,
            interval: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
        },
        job: tokio::sync::Mutex::new(job),
        gate: Some(gate.clone()),
        predecessor: Mutex::new(None),
        clients: None,
    })
}

fn config(max_concurrent_calls: usize) -> Config {
    Config::from_yaml_str(&format!(
        "aws:\n  max_concurrent_calls: {max_concurrent_calls}\ntargets:\n  - name: management\n    regions: [us-east-1]\n"
    ))
    .expect("a valid configuration")
}

#[tokio::test(start_paused = true)]
async fn no_more_jobs_run_at_once_than_the_gate_lets_in() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    // 4 calls at once: 16 jobs running at once.
    let gate = Arc::new(Gate::new(&config(4)));
    let store = Arc::new(Store::new(3, Arc::new(CallCounter::default())));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let job = Probe {
            in_flight: in_flight.clone(),
            most: most.clone(),
            runs: runs.clone(),
        };
        let slot = gated_slot(i, Box::new(job), &gate, &store);
        set.spawn(run_slot(slot, store.clone()));
    }
    while let Some(r) = set.join_next().await {
        assert!(!r.expect("the run task").1);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 40);
    assert_eq!(
        most.load(Ordering::SeqCst),
        16,
        "at most 16 at once, and 16 did run at once"
    );

    // A reload to 2 calls at once: 16 permits become 8 (at least 16, the floor, here:
    // 2 x 4 = 8 is below it), and back up to 40 at 10 calls.
    gate.resize(&config(2));
    assert_eq!(
        gate.turns.permits.available_permits(),
        16,
        "the floor of 16 holds"
    );
    gate.resize(&config(10));
    assert_eq!(gate.turns.permits.available_permits(), 40);
    gate.resize(&config(5));
    assert_eq!(gate.turns.permits.available_permits(), 20);
    // Shrinking while runs hold permits: the excess is taken back as they end.
    let held = gate
        .turns
        .permits
        .clone()
        .acquire_many_owned(20)
        .await
        .unwrap();
    gate.resize(&config(4));
    assert_eq!(gate.turns.permits.available_permits(), 0);
    drop(held);
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(gate.turns.permits.available_permits(), 16);
}
