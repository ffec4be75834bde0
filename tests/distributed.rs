//! IterativeRS and Rewarded Soups with their experts placed on ranks (threads of this process,
//! `InProcess`) end with weights bit-identical to the same run in one process, whatever the
//! number of ranks; a checkpoint written by three ranks resumes in one process; a learner
//! that shares state between experts is refused. The same code runs over MPI processes
//! (`tests/mpi.rs`, feature `mpi`).

mod common;

use burn::optim::ModuleOptimizer;
use common::{learner, max_abs_diff, params, tiny_gpt};
use multireward::device::default_device;
use multireward::distributed::{Communicator, InProcess};
use multireward::policy::Gpt;
use multireward::reward::{FnReward, Normalizer, RewardSet, Sample};
use multireward::strategy::{
    Collected, Collector, Learner, MergeWeights, PpoLearner, RunOptions, RunOutput, SelectionScore,
    StepContext, StepRecord, StepReport, Strategy, StrategyError, selection_grid_3,
};
use multireward::tasks::molecules::SmilesTokenizer;

fn count(c: char) -> impl Fn(&Sample) -> Option<f64> + Send + Sync {
    move |s: &Sample| Some(s.completion.chars().filter(|&x| x == c).count() as f64)
}

fn rewards() -> RewardSet {
    RewardSet::builder()
        .add(FnReward::new("carbon", count('C')), 1.0)
        .add(FnReward::new("nitrogen", count('N')), 2.0)
        .add(FnReward::new("oxygen", count('O')), 1.0)
        .build()
        .unwrap()
}

/// A learner that counts the steps it takes (how the work was split between ranks).
struct Counting<'a> {
    inner: PpoLearner<'a, Gpt>,
    steps: usize,
}

impl Learner<Gpt> for Counting<'_> {
    fn objectives(&self) -> usize {
        self.inner.objectives()
    }
    fn preferences(&self) -> Vec<f64> {
        self.inner.preferences()
    }
    fn optimizer(&self) -> ModuleOptimizer {
        self.inner.optimizer()
    }
    fn experts_independent(&self) -> bool {
        self.inner.experts_independent()
    }
    fn state(&self) -> serde_json::Value {
        self.inner.state()
    }
    fn step(
        &mut self,
        policy: Gpt,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
    ) -> Result<(Gpt, StepReport), StrategyError> {
        self.steps += 1;
        self.inner.step(policy, optim, weights, ctx)
    }
    fn step_shared(
        &mut self,
        policy: Gpt,
        optim: &mut ModuleOptimizer,
        weights: &[f64],
        ctx: &StepContext,
        comm: &dyn Communicator,
    ) -> Result<(Gpt, StepReport), StrategyError> {
        self.steps += 1;
        self.inner.step_shared(policy, optim, weights, ctx, comm)
    }
}

impl Collector<Gpt> for Counting<'_> {
    fn prompts(&self) -> Vec<Vec<u32>> {
        self.inner.prompts()
    }
    fn collect(
        &mut self,
        policy: &Gpt,
        rows: &[Vec<u32>],
        prompt_of: &[usize],
        seed: u64,
        vocab_limit: Option<usize>,
    ) -> Result<Collected, StrategyError> {
        self.inner
            .collect(policy, rows, prompt_of, seed, vocab_limit)
    }
}

/// Checkpoints into `dir` every `every` iterations, stopping at the first past `stop`.
type Stop = Option<(std::path::PathBuf, usize, usize)>;

/// `strategy` run (seed 3) on `ranks` threads, each with its own learner; every rank's output
/// and the number of learner steps it took itself.
fn on_ranks(
    reference: &Gpt,
    strategy: &Strategy,
    ranks: usize,
    stop: &Stop,
) -> Vec<(Result<RunOutput<Gpt>, StrategyError>, usize)> {
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let group = InProcess::group(ranks);
    std::thread::scope(|s| {
        let handles: Vec<_> = group
            .iter()
            .map(|comm| {
                let (tok, reference) = (&tok, reference.clone());
                s.spawn(move || {
                    let mut set = rewards();
                    let options = RunOptions {
                        communicator: Some(comm as &dyn Communicator),
                        checkpoint_dir: stop.as_ref().map(|s| s.0.clone()),
                        checkpoint_every: stop.as_ref().map(|s| s.1),
                        stop_after_iterations: stop.as_ref().map(|s| s.2),
                        ..Default::default()
                    };
                    let mut counting = Counting {
                        inner: learner(&reference, tok, &mut set, LR as f64),
                        steps: 0,
                    };
                    let out = strategy.run_with(&reference, &mut counting, 3, &options);
                    (out, counting.steps)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn one_process(reference: &Gpt, strategy: &Strategy) -> RunOutput<Gpt> {
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let mut set = rewards();
    strategy
        .run(
            reference,
            &mut learner(reference, &tok, &mut set, LR as f64),
            3,
        )
        .unwrap()
}

fn assert_same_run(expected: &RunOutput<Gpt>, got: &RunOutput<Gpt>, what: &str) {
    let d = max_abs_diff(&params(&expected.policy), &params(&got.policy));
    assert_eq!(d, 0.0, "{what}: merged policy differs by {d}");
    assert_eq!(expected.experts.len(), got.experts.len());
    for (i, (a, b)) in expected.experts.iter().zip(&got.experts).enumerate() {
        assert_eq!(params(a), params(b), "{what}: expert {i} differs");
    }
    assert_eq!(expected.spent, got.spent, "{what}: compute spent");
    let key = |o: &RunOutput<Gpt>| {
        let mut k: Vec<_> = o
            .log
            .iter()
            .map(|r| (r.step, r.expert, r.round, r.report.kl.to_bits()))
            .collect();
        k.sort();
        k
    };
    assert_eq!(key(expected), key(got), "{what}: log");
}

#[test]
fn experts_on_ranks_give_the_one_process_weights_bit_for_bit() {
    let device = default_device().autodiff();
    device.seed(4);
    let reference = tiny_gpt(7, 16).init(&device);
    let irs = Strategy::iterative_rs(4, 2, 3);
    let alone = one_process(&reference, &irs);
    for ranks in [3, 2] {
        let outs = on_ranks(&reference, &irs, ranks, &None);
        // 4 steps × 3 experts, expert i trained by rank i mod ranks.
        let split: Vec<usize> = outs.iter().map(|(_, steps)| *steps).collect();
        assert_eq!(
            split,
            if ranks == 3 {
                vec![4, 4, 4]
            } else {
                vec![8, 4]
            }
        );
        for (rank, (out, _)) in outs.into_iter().enumerate() {
            let out = out.unwrap();
            assert_same_run(
                &alone,
                &out,
                &format!("IterativeRS, rank {rank} of {ranks}"),
            );
            // IterativeRS's log is in one process's order already.
            let order = |o: &RunOutput<Gpt>| -> Vec<_> {
                o.log.iter().map(|r| (r.step, r.expert)).collect()
            };
            assert_eq!(order(&alone), order(&out));
        }
    }
    // M < N: each block trains 2 of the 3 experts, on whichever ranks own them.
    let irs_block = Strategy::iterative_rs(4, 2, 2);
    let alone = one_process(&reference, &irs_block);
    for (out, _) in on_ranks(&reference, &irs_block, 2, &None) {
        assert_same_run(&alone, &out.unwrap(), "IterativeRS M = 2 on 2 ranks");
    }
    // Merge weights chosen by sampling candidates: rank 0 scores them, the others take its
    // choice.
    let selected = Strategy::iterative_rs(4, 2, 3).with_merge_weights(MergeWeights::Select {
        candidates: selection_grid_3(),
        samples: 8,
        score: SelectionScore::Mean,
    });
    let alone = one_process(&reference, &selected);
    for (out, _) in on_ranks(&reference, &selected, 3, &None) {
        assert_same_run(
            &alone,
            &out.unwrap(),
            "IterativeRS with selection on 3 ranks",
        );
    }
    // Soups: one expert after the other in one process, side by side on ranks.
    let soups = Strategy::rewarded_soups(3);
    let alone = one_process(&reference, &soups);
    for (out, _) in on_ranks(&reference, &soups, 2, &None) {
        assert_same_run(&alone, &out.unwrap(), "Rewarded Soups on 2 ranks");
    }
}

/// How close data-parallel MORLHF is to one process. The ranks sum gradients and statistics
/// in another order, so gradients agree to float summation (relative 1e-6); Adam divides each
/// gradient by its running scale, so a parameter whose gradient is ~0 can take a step up to
/// the learning rate in another direction. Bound: gradient norms within 1e-6 relative; at
/// most 1 % of the weights differ by more than 1e-6; none by more than the learning rate.
const GRAD_NORM_RELATIVE: f64 = 1e-6;
const MOVED_FRACTION: f64 = 0.01;
const LR: f32 = 1e-3;

#[test]
fn morlhf_data_parallel_equals_one_process_within_summation_tolerance() {
    let device = default_device().autodiff();
    device.seed(9);
    let reference = tiny_gpt(7, 16).init(&device);
    let morlhf = Strategy::Morlhf { steps: 3 };
    let alone = one_process(&reference, &morlhf);
    for ranks in [2, 3] {
        let outs: Vec<RunOutput<Gpt>> = on_ranks(&reference, &morlhf, ranks, &None)
            .into_iter()
            .map(|(out, _)| out.unwrap())
            .collect();
        let expected = params(&alone.policy);
        let d = max_abs_diff(&expected, &params(&outs[0].policy));
        eprintln!("MORLHF on {ranks} ranks: max |Δθ| = {d:e}");
        let got = params(&outs[0].policy);
        let mean = expected
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / expected.len() as f32;
        let over = expected
            .iter()
            .zip(&got)
            .filter(|(a, b)| (*a - *b).abs() > 1e-6)
            .count();
        eprintln!(
            "mean |Δθ| {mean:e}; {over} of {} differ by > 1e-6",
            expected.len()
        );
        assert!(d <= LR, "{ranks} ranks: max |Δθ| = {d}");
        assert!(over as f64 <= MOVED_FRACTION * expected.len() as f64);
        assert!(
            d > 0.0 || ranks == 1,
            "the ranks did share the work (sums in another order)"
        );
        for out in &outs[1..] {
            assert_eq!(
                params(&out.policy),
                params(&outs[0].policy),
                "ranks agree bit for bit"
            );
        }
        for (a, b) in alone.log.iter().zip(&outs[0].log) {
            assert!(
                (a.report.kl - b.report.kl).abs() < 1e-5,
                "{} vs {}",
                a.report.kl,
                b.report.kl
            );
            assert_eq!(
                a.report.optimised, b.report.optimised,
                "the same samples and scores"
            );
            let norm = |r: &StepRecord| r.report.ppo.as_ref().unwrap().grad_norm;
            let rel = (norm(a) - norm(b)).abs() / norm(a);
            assert!(
                rel < GRAD_NORM_RELATIVE,
                "gradient norms {} vs {}",
                norm(a),
                norm(b)
            );
            assert_eq!(a.report.samples, b.report.samples);
            let (ra, rb) = (&a.report.rewards[0], &b.report.rewards[0]);
            assert_eq!(ra.count, rb.count, "pooled over the whole batch");
            assert!((ra.raw_mean.unwrap() - rb.raw_mean.unwrap()).abs() < 1e-9);
        }
    }
}

#[test]
fn a_checkpoint_of_three_ranks_resumes_in_one_process() {
    let device = default_device().autodiff();
    device.seed(5);
    let reference = tiny_gpt(7, 16).init(&device);
    let dir = std::env::temp_dir().join(format!("mr-ranks-{}", std::process::id()));
    // IterativeRS stopped mid-block, and Rewarded Soups (side by side on ranks, one after the
    // other in one process) stopped after its experts' first step: a checkpoint every 3
    // iterations, stop at the first past 3.
    for strategy in [Strategy::iterative_rs(6, 2, 3), Strategy::rewarded_soups(3)] {
        let alone = one_process(&reference, &strategy);
        let _ = std::fs::remove_dir_all(&dir);
        let stop = Some((dir.clone(), 3, 3));
        for (out, _) in on_ranks(&reference, &strategy, 3, &stop) {
            assert!(!out.unwrap().completed);
        }
        let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
        let mut set = rewards();
        let resumed = Strategy::resume(
            &dir,
            &reference,
            &mut learner(&reference, &tok, &mut set, LR as f64),
            &RunOptions::default(),
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let what = format!(
            "{} on 3 ranks stopped, resumed in one process",
            strategy.name()
        );
        assert_same_run(&alone, &resumed, &what);
    }
}

#[test]
fn running_normalisers_are_refused_over_several_ranks() {
    let device = default_device().autodiff();
    device.seed(6);
    let reference = tiny_gpt(7, 16).init(&device);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let group = InProcess::group(2);
    let mut set = RewardSet::builder()
        .add(FnReward::new("carbon", count('C')), 1.0)
        .normalizer(Normalizer::running())
        .add(FnReward::new("oxygen", count('O')), 1.0)
        .build()
        .unwrap();
    let options = RunOptions {
        communicator: Some(&group[0]),
        ..Default::default()
    };
    // Refused before any collective call, so rank 1 need not take part.
    let err = Strategy::iterative_rs(2, 1, 2)
        .run_with(
            &reference,
            &mut learner(&reference, &tok, &mut set, LR as f64),
            0,
            &options,
        )
        .err()
        .expect("refused");
    assert!(
        matches!(&err, StrategyError::BadConfig(m) if m.contains("normaliser")),
        "{err}"
    );
}

/// The same runs over MPI processes: `mpirun -np 3` (and `-np 2`) of this test binary's
/// `mpi_rank` test, each rank loading the reference this test saved, against the run in this
/// process. Open MPI is started with `--allow-run-as-root --oversubscribe` (CI runs as root on
/// 2 cores).
#[cfg(feature = "mpi")]
#[test]
fn mpi_ranks_give_the_one_process_weights_bit_for_bit() {
    use burn::module::Module;
    let device = default_device().autodiff();
    device.seed(7);
    let reference = tiny_gpt(7, 16).init(&device);
    let dir = std::env::temp_dir().join(format!("mr-mpi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    reference
        .clone()
        .save_file(dir.join("reference.bpk"))
        .unwrap();
    let alone = one_process(&reference, &mpi_strategy());
    let morlhf = one_process(&reference, &Strategy::Morlhf { steps: 3 });
    let open_mpi = std::process::Command::new("mpirun")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("Open MPI"))
        .expect("mpirun is on PATH (docs/scaling.md)");
    for ranks in [3, 2] {
        let mut cmd = std::process::Command::new("mpirun");
        if open_mpi {
            cmd.args(["--allow-run-as-root", "--oversubscribe"]);
        }
        let status = cmd
            .args(["-np", &ranks.to_string()])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "mpi_rank", "--ignored", "--test-threads=1"])
            .env("MULTIREWARD_MPI_TEST_DIR", &dir)
            .status()
            .unwrap();
        assert!(status.success(), "mpirun -np {ranks}: {status}");
        for rank in 0..ranks {
            let p = dir.join(format!("policy-{ranks}-{rank}.bpk"));
            let got = tiny_gpt(7, 16).init(&device).load_file(&p);
            let d = max_abs_diff(&params(&alone.policy), &params(&got));
            assert_eq!(
                d, 0.0,
                "rank {rank} of {ranks}: merged policy differs by {d}"
            );
        }
        // MORLHF data-parallel: within the summation bound of one process.
        let got = tiny_gpt(7, 16)
            .init(&device)
            .load_file(dir.join(format!("morlhf-{ranks}.bpk")));
        let (want, got) = (params(&morlhf.policy), params(&got));
        let d = max_abs_diff(&want, &got);
        let over = want
            .iter()
            .zip(&got)
            .filter(|(a, b)| (*a - *b).abs() > 1e-6)
            .count();
        assert!(
            d > 0.0 && d <= LR,
            "MORLHF on {ranks} MPI ranks: max |Δθ| = {d}"
        );
        assert!(over as f64 <= MOVED_FRACTION * want.len() as f64);
        let log = std::fs::read_to_string(dir.join(format!("log-{ranks}.json"))).unwrap();
        let kls: Vec<u64> = serde_json::from_str(&log).unwrap();
        let expected: Vec<u64> = alone.log.iter().map(|r| r.report.kl.to_bits()).collect();
        assert_eq!(kls, expected, "{ranks} ranks: the log differs");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// IterativeRS with 3 experts, T = 4, m = 2 (the MPI test's run).
#[cfg(feature = "mpi")]
fn mpi_strategy() -> Strategy {
    Strategy::iterative_rs(4, 2, 3)
}

/// One MPI rank of [`mpi_ranks_give_the_one_process_weights_bit_for_bit`] (started by
/// `mpirun`, which sets `MULTIREWARD_MPI_TEST_DIR`).
#[cfg(feature = "mpi")]
#[test]
#[ignore = "an MPI rank: started by mpirun from mpi_ranks_give_the_one_process_weights_bit_for_bit"]
fn mpi_rank() {
    use burn::module::Module;
    use multireward::distributed::Mpi;
    let dir = std::path::PathBuf::from(
        std::env::var_os("MULTIREWARD_MPI_TEST_DIR").expect("started by the MPI test"),
    );
    let comm = Mpi::init().unwrap();
    let device = default_device().autodiff();
    let reference = tiny_gpt(7, 16)
        .init(&device)
        .load_file(dir.join("reference.bpk"));
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let mut set = rewards();
    let options = RunOptions {
        communicator: Some(&comm),
        ..Default::default()
    };
    let out = mpi_strategy()
        .run_with(
            &reference,
            &mut learner(&reference, &tok, &mut set, LR as f64),
            3,
            &options,
        )
        .unwrap();
    let (rank, size) = (comm.rank(), comm.size());
    let mut set = rewards();
    let morlhf = Strategy::Morlhf { steps: 3 }
        .run_with(
            &reference,
            &mut learner(&reference, &tok, &mut set, LR as f64),
            3,
            &options,
        )
        .unwrap();
    if rank == 0 {
        morlhf
            .policy
            .valid()
            .save_file(dir.join(format!("morlhf-{size}.bpk")))
            .unwrap();
    }
    out.policy
        .valid()
        .save_file(dir.join(format!("policy-{size}-{rank}.bpk")))
        .unwrap();
    if rank == 0 {
        let kls: Vec<u64> = out.log.iter().map(|r| r.report.kl.to_bits()).collect();
        std::fs::write(
            dir.join(format!("log-{size}.json")),
            serde_json::to_string(&kls).unwrap(),
        )
        .unwrap();
    }
}

/// A Rewarded Soups checkpoint written by one process (experts one after the other) resumed
/// on three ranks: the owner of each expert trains it and every rank receives the records, so
/// every rank ends with the uninterrupted one-process run (weights, log and budget).
#[test]
fn a_one_process_soups_checkpoint_resumes_on_three_ranks() {
    let device = default_device().autodiff();
    device.seed(5);
    let reference = tiny_gpt(7, 16).init(&device);
    let strategy = Strategy::rewarded_soups(3);
    let alone = one_process(&reference, &strategy);
    let dir = std::env::temp_dir().join(format!("mr-soups-1to3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let tok = SmilesTokenizer::from_corpus(["C", "N", "O"]).unwrap();
    let mut set = rewards();
    // Expert 0 trained, expert 1 at its first step.
    let options = RunOptions {
        checkpoint_dir: Some(dir.clone()),
        checkpoint_every: Some(4),
        stop_after_iterations: Some(4),
        ..Default::default()
    };
    let mut one = learner(&reference, &tok, &mut set, LR as f64);
    assert!(
        !strategy
            .run_with(&reference, &mut one, 3, &options)
            .unwrap()
            .completed
    );
    let group = InProcess::group(3);
    let outputs: Vec<RunOutput<Gpt>> = std::thread::scope(|s| {
        let handles: Vec<_> = group
            .iter()
            .map(|comm| {
                let (tok, reference, dir) = (&tok, reference.clone(), &dir);
                s.spawn(move || {
                    let mut set = rewards();
                    let options = RunOptions {
                        communicator: Some(comm as &dyn Communicator),
                        ..Default::default()
                    };
                    let mut learner = learner(&reference, tok, &mut set, LR as f64);
                    Strategy::resume(dir, &reference, &mut learner, &options).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    std::fs::remove_dir_all(&dir).unwrap();
    for (rank, out) in outputs.iter().enumerate() {
        let what = format!("rank {rank} of a one-process checkpoint resumed on 3 ranks");
        assert_same_run(&alone, out, &what);
    }
}
