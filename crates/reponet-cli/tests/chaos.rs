//! SIGKILL at random moments: a run killed again and again (in a step, in an evaluation, in
//! a checkpoint write, at start-up) and resumed each time ends exactly as one never
//! interrupted: the same weights bit for bit (their SHA-256 in summary.json) and the same
//! metrics, timings aside.
//!
//! `REPONET_CHAOS_KILLS` (default 3) kills are made, `REPONET_CHAOS_SEED` (default 1) draws
//! their moments, so a failure reproduces; `scripts/chaos.sh` runs it with 25. Two
//! networks: LeNet++ (Adam), and a ResNet-20 with batch norm, SGD with momentum, a cosine
//! schedule and random crops and flips.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const LENET: [&str; 14] = [
    "--dataset",
    "mnist-sample",
    "--limit-train",
    "512",
    "--limit-test",
    "128",
    "--batch-size",
    "32",
    "--epochs",
    "2",
    "--polytope",
    "orthoplex",
    "--checkpoint-every",
    "3steps",
];

/// `train ARGS --out DIR`, or `train --resume DIR` once the run has its config.json (what a
/// user does after a crash), with its output in `log`.
fn start(args: &[String], dir: &Path, log: &Path) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reponet"));
    if dir.join("config.json").exists() {
        cmd.arg("train").arg("--resume").arg(dir);
    } else {
        cmd.arg("train").args(args).arg("--out").arg(dir);
    }
    let out = std::fs::File::create(log).unwrap();
    cmd.stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// The run's result: the weights' SHA-256 and every per-epoch figure but the timings.
fn result(dir: &Path) -> (String, Vec<Value>) {
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let metrics = metrics
        .lines()
        .map(|l| {
            let mut m: Value = serde_json::from_str(l).unwrap();
            for timing in ["train_seconds", "images_per_second", "eval_seconds"] {
                m.as_object_mut().unwrap().remove(timing);
            }
            m
        })
        .collect();
    (
        summary["weights_sha256"].as_str().unwrap().to_string(),
        metrics,
    )
}

/// xorshift64*: a small seeded generator, so the kill moments reproduce.
struct Moments(u64);

impl Moments {
    fn next_fraction(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn sigkill_at_random_moments_then_resume_ends_bit_for_bit_as_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let args: Vec<String> = LENET.iter().map(|a| a.to_string()).collect();
    chaos(&args, tmp.path());
}

#[test]
fn a_resnet_with_batch_norm_sgd_and_flips_resumes_bit_for_bit_after_sigkills() {
    let tmp = tempfile::tempdir().unwrap();
    // The sample's digits as a folder dataset: folders may be mirrored, digits may not.
    let digits = tmp.path().join("digits");
    let status = Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(["-q", "data", "to-folder", "mnist-sample", "--out"])
        .arg(&digits)
        .status()
        .unwrap();
    assert!(status.success());
    let mut args: Vec<String> = [
        "--model",
        "resnet20",
        "--augment",
        "crop-flip",
        "--image-size",
        "16",
        "--polytope",
        "cube",
        "--limit-train",
        "256",
        "--limit-test",
        "64",
        "--batch-size",
        "32",
        "--epochs",
        "2",
        "--checkpoint-every",
        "3steps",
        "--dataset",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.push(format!("folder:{}", digits.display()));
    chaos(&args, tmp.path());
}

/// Train `args` once straight, then again and again killed at random moments and resumed
/// until the kills wanted are made; every round must end as the straight run did.
fn chaos(args: &[String], tmp: &Path) {
    let kills_wanted = env_number("REPONET_CHAOS_KILLS", 3) as usize;
    let mut moments = Moments(env_number("REPONET_CHAOS_SEED", 1).max(1));

    let straight = tmp.join("straight");
    let started = Instant::now();
    let status = start(args, &straight, &tmp.join("straight.log"))
        .wait()
        .unwrap();
    let whole = started.elapsed();
    assert!(status.success());
    let expected = result(&straight);

    // Rounds of one run each, killed until it completes; a round that completes before the
    // kills wanted are made is followed by another.
    let (mut kills, mut rounds) = (0, 0);
    while kills < kills_wanted {
        rounds += 1;
        let dir = tmp.join(format!("round{rounds}"));
        // A kill after summary.json was written leaves a complete run: nothing to resume.
        while !dir.join("summary.json").exists() {
            let log = tmp.join("last.log");
            let mut child = start(args, &dir, &log);
            // Anywhere from start-up to most of an uninterrupted run.
            let delay = whole.mul_f64(0.8 * moments.next_fraction());
            let deadline = Instant::now() + delay;
            while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(5));
            }
            if let Some(status) = child.try_wait().unwrap() {
                let text = std::fs::read_to_string(&log).unwrap();
                assert!(status.success(), "round {rounds} failed:\n{text}");
                break;
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let last = text.lines().last().unwrap_or("(no output yet)");
            eprintln!(
                "kill {kills} (round {rounds}) {:.2} s in: {last}",
                delay.as_secs_f64()
            );
        }
        assert_eq!(
            result(&dir),
            expected,
            "round {rounds}: killed and resumed, the run ended differently"
        );
        // The survivors cleaned up after the killed writers.
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    }
    eprintln!(
        "{kills} SIGKILLs over {rounds} run(s), every run resumed to the uninterrupted result"
    );
}
