//! Data-parallel training under `mpirun` (the `mpi` feature, OpenMPI): two ranks train what
//! one process trains, over shared memory and over TCP between two "nodes" on loopback; a
//! rank killed mid-run ends the job, and the run resumes from its last checkpoint.
//!
//! Run with `cargo test --release -p reponet-cli --features mpi --test mpi` where `mpirun`
//! is installed (`.ci/run` installs OpenMPI).
#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// 1,000 digits of the built-in sample in batches of 63: 16 steps an epoch, the last of 55
/// rows, which two ranks share unevenly (28 and 27), for 2 epochs: 32 steps.
const ARGS: [&str; 12] = [
    "--dataset",
    "mnist-sample",
    "--limit-train",
    "1000",
    "--limit-test",
    "200",
    "--batch-size",
    "63",
    "--epochs",
    "2",
    "--seed",
    "4",
];

/// How far the weights of one process and of two ranks may be apart. The two sum each
/// batch's gradient in another order (two weighted shard means against one mean), and Adam
/// turns those rounding differences into steps of up to lr for parameters whose gradient is
/// near zero. Measured after these 32 steps: relative L2 difference 1.2e-4, median
/// |difference| 7.8e-7 (max 9.5e-4). The wrong split, each rank stepping on its half batch
/// alone (one process at batch 32), is 5.2e-2 and 5.2e-4: the bounds sit between.
const MAX_RELATIVE_L2: f64 = 1e-3;
const MAX_MEDIAN: f32 = 1e-5;

fn mpirun(np: usize, extra: &[&str], args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        // Two ranks on two cores: one thread each, unbound.
        .env("RAYON_NUM_THREADS", "1")
        .args([
            "--oversubscribe",
            "--bind-to",
            "none",
            "-np",
            &np.to_string(),
        ])
        .args(extra)
        .arg(env!("CARGO_BIN_EXE_reponet"))
        .args(args);
    cmd
}

fn train_args(out: &Path) -> Vec<&str> {
    let mut args = vec!["train"];
    args.extend(ARGS);
    args.extend(["--out", out.to_str().unwrap()]);
    args
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn weights(run: &Path) -> Vec<f32> {
    let dir = reponet::train::RunDir::open(run).unwrap();
    let (_, model) = dir
        .load_model(&reponet::device::Compute::default().burn_device().unwrap())
        .unwrap();
    model.flat_weights()
}

/// Each rank's "weights sha256" line: all must be there and equal to summary.json's.
fn ranks_agree(o: &Output, run: &Path, np: usize) {
    let out = text(o);
    let shas: Vec<&str> = out
        .lines()
        .filter(|l| l.contains(": weights sha256 "))
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(shas.len(), np, "{out}");
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    for sha in shas {
        assert!(summary.contains(sha), "a rank's weights differ:\n{out}");
    }
}

/// The relative L2 difference and the median |difference| of two runs' weights.
fn difference(a: &Path, b: &Path) -> (f64, f32) {
    let (a, b) = (weights(a), weights(b));
    assert_eq!(a.len(), b.len());
    let mut diffs: Vec<f32> = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).collect();
    let l2 = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let relative = l2(&diffs) / l2(&a);
    diffs.sort_by(f32::total_cmp);
    (relative, diffs[diffs.len() / 2])
}

/// Two runs' weights are the same training, rounding aside.
fn assert_same_training(one: &Path, other: &Path, how: &str) {
    let (relative, median) = difference(one, other);
    eprintln!("1 process vs 2 ranks ({how}): relative L2 {relative:.2e}, median {median:.2e}");
    assert!(
        relative <= MAX_RELATIVE_L2 && median <= MAX_MEDIAN,
        "{how}: {relative} {median}"
    );
}

#[test]
fn two_ranks_train_what_one_process_trains_over_shared_memory_and_tcp() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let o = Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(train_args(&one))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));

    // Shared memory, one machine.
    let two = tmp.path().join("two");
    let o = mpirun(2, &[], &train_args(&two)).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("data-parallel over 2 processes"));
    ranks_agree(&o, &two, 2);
    assert_same_training(&one, &two, "shared memory");
    // Metrics cover the whole batch: the same test accuracy after each epoch.
    let accuracies = |run: &Path| -> Vec<f64> {
        reponet::train::RunDir::open(run)
            .unwrap()
            .read_metrics()
            .unwrap()
            .iter()
            .map(|m| m.test_accuracy)
            .collect()
    };
    assert_eq!(accuracies(&one), accuracies(&two));

    // Two "nodes" on loopback, their ranks talking TCP only: the daemon of the second is
    // started by a local script instead of ssh.
    let agent = tmp.path().join("local-rsh.sh");
    std::fs::write(
        &agent,
        "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nshift\nexec sh -c \"$*\"\n",
    )
    .unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&agent, executable).unwrap();
    let tcp = tmp.path().join("tcp");
    let o = mpirun(
        2,
        &[
            "--host",
            "127.0.0.1:1,127.0.0.2:1",
            "--mca",
            "plm_rsh_agent",
            agent.to_str().unwrap(),
            "--mca",
            "btl",
            "tcp,self",
            "--mca",
            "btl_tcp_if_include",
            "lo",
            "--mca",
            "oob_tcp_if_include",
            "lo",
        ],
        &train_args(&tcp),
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    ranks_agree(&o, &tcp, 2);
    assert_same_training(&one, &tcp, "TCP, two nodes");
}

/// The pids of `mpirun`'s rank processes training into `out`.
fn rank_pids(out: &Path) -> Vec<(u32, String)> {
    let o = Command::new("pgrep")
        .args(["-f", &format!("out {}", out.display())])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .filter_map(|pid: u32| {
            let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
            let env = String::from_utf8_lossy(&env).into_owned();
            let rank = env
                .split('\0')
                .find_map(|v| v.strip_prefix("OMPI_COMM_WORLD_RANK="))?
                .to_string();
            Some((pid, rank))
        })
        .collect()
}

/// A run long enough to be stopped in: 4,096 sample digits in batches of 64, 2 epochs.
fn long_run<'a>(out: &'a Path, checkpoint_every: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--dataset",
        "mnist-sample",
        "--limit-train",
        "4096",
    ];
    args.extend(["--limit-test", "200", "--batch-size", "64", "--epochs", "2"]);
    args.extend([
        "--checkpoint-every",
        checkpoint_every,
        "--out",
        out.to_str().unwrap(),
    ]);
    args
}

#[test]
fn a_killed_rank_ends_the_job_and_the_run_resumes_from_its_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let args = long_run(&out, "4steps");
    let mut job = mpirun(2, &[], &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a checkpoint, then SIGKILL rank 1.
    let started = Instant::now();
    while !out.join("checkpoint.bin").exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "no checkpoint");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ranks = rank_pids(&out);
    assert_eq!(ranks.len(), 2, "{ranks:?}");
    let (victim, _) = ranks.iter().find(|(_, r)| r == "1").unwrap();
    let killed_at = Instant::now();
    Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    // The job ends within seconds, not at the end of training, and not with success.
    let status = loop {
        if let Some(status) = job.try_wait().unwrap() {
            break status;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(30),
            "the job did not end after a rank was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let ended_in = killed_at.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(job.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    eprintln!(
        "job ended {:.2} s after rank 1 was killed",
        ended_in.as_secs_f64()
    );
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains("rank 1"),
        "the message names the rank:\n{stderr}"
    );
    // Nothing of the job is left running.
    std::thread::sleep(Duration::from_millis(200));
    assert!(rank_pids(&out).is_empty(), "ranks left running");
    assert!(!out.join("summary.json").exists());

    // The checkpoint is whole: the run goes on under mpirun.
    let o = mpirun(2, &[], &["train", "--resume", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("continuing at epoch"), "{}", text(&o));
    ranks_agree(&o, &out, 2);
}

#[test]
fn a_rank_that_fails_ends_the_job_with_its_error() {
    // Rank 0 refuses the occupied folder while rank 1 has gone on to wait for it in the
    // first all-reduce: the failing rank must end the job (MPI_Abort), not leave it hanging.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("taken");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let started = Instant::now();
    let o = mpirun(2, &[], &train_args(&out)).output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("rank 0 of 2: error: output folder") && text(&o).contains("--force"),
        "{}",
        text(&o)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(rank_pids(&out).is_empty(), "ranks left running");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn sigusr1_to_mpirun_checkpoints_every_rank_and_exits_130() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let args = long_run(&out, "epoch");
    let job = mpirun(2, &[], &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once both ranks train (their processes exist and 1.5 s have passed).
    let started = Instant::now();
    while rank_pids(&out).len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(1500));
    Command::new("kill")
        .args(["-USR1", &job.id().to_string()])
        .status()
        .unwrap();
    let o = job.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    assert!(
        text(&o).contains("resume with: reponet train --resume"),
        "{}",
        text(&o)
    );
    assert!(out.join("checkpoint.bin").exists() && !out.join("summary.json").exists());
}

/// Batch norm under two ranks: each normalises its half of the batch with that half's
/// statistics, and the running statistics are averaged after every step, so both ranks end
/// with the same model, statistics included (their SHA-256 covers them).
#[test]
fn two_ranks_train_a_resnet_and_keep_equal_batch_norm_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("r20");
    let args = [
        "train",
        "--model",
        "resnet20",
        "--dataset",
        "mnist-sample",
        "--limit-train",
        "192",
        "--limit-test",
        "64",
        "--batch-size",
        "32",
        "--epochs",
        "1",
        "--out",
        run.to_str().unwrap(),
    ];
    let o = mpirun(2, &[], &args).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    ranks_agree(&o, &run, 2);
}
