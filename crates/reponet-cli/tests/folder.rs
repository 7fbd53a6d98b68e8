//! Folder datasets from the command line: `data to-folder`, `data check`, `train --dataset
//! folder:PATH` with its options, bad files, and `embed --images`.

use std::path::Path;
use std::process::{Command, Output};

fn reponet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(args)
        .output()
        .expect("run reponet")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn assert_fails_with(o: &Output, words: &str) {
    assert!(!o.status.success(), "succeeded: {}", text(&o.stdout));
    assert!(text(&o.stderr).contains(words), "{}", text(&o.stderr));
}

fn train_args<'a>(dataset: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--dataset",
        dataset,
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--limit-train",
        "256",
        "--limit-test",
        "64",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_folder_dataset_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let (digits, run) = (path("digits"), path("run"));
    let dataset = format!("folder:{digits}");

    let o = reponet(&[
        "--json",
        "data",
        "to-folder",
        "mnist-sample",
        "--out",
        &digits,
    ]);
    assert_ok(&o);
    let written: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (written["train"].as_u64(), written["test"].as_u64()),
        (Some(8000), Some(2000))
    );
    let sevens_written = Path::new(&digits)
        .join("train/7")
        .read_dir()
        .unwrap()
        .count();
    assert_eq!(sevens_written, 822);
    assert_fails_with(
        &reponet(&["data", "to-folder", "mnist-sample", "--out", &digits]),
        "exists",
    );

    let o = reponet(&["--json", "data", "check", &dataset]);
    assert_ok(&o);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["classes"].as_array().unwrap().len(), 10);
    assert_eq!(report["sizes"][0]["images"], 10000);
    assert_eq!(report["shape"]["channels"], 1);
    let o = reponet(&["data", "check", &dataset]);
    assert!(text(&o.stdout).contains("10 classes (train/ and test/), read as 1x28x28"));

    let o = reponet(&train_args(&dataset, &run, &[]));
    assert_ok(&o);
    assert!(
        text(&o.stderr).contains("images read as 1x28x28"),
        "{}",
        text(&o.stderr)
    );

    // Images of your own, embedded: one row per file, with its name.
    let sevens = format!("{digits}/test/7");
    let csv = path("sevens.csv");
    assert_ok(&reponet(&[
        "embed", &run, "--images", &sevens, "--out", &csv,
    ]));
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert!(rows.starts_with("file,label,class,f0,"), "{rows:.80}");
    assert_eq!(rows.lines().count(), 1 + 206);

    // Impossible options, refused before any work.
    let nowhere = path("nowhere");
    for (extra, words) in [
        (vec!["--image-size", "3x3"], "3x3"),
        (vec!["--channels", "2"], "2 channels"),
        (vec!["--image-size", "big"], "ROWSxCOLS"),
    ] {
        assert_fails_with(&reponet(&train_args(&dataset, &nowhere, &extra)), words);
    }
    assert_fails_with(
        &reponet(&train_args("mnist-sample", &nowhere, &["--channels", "3"])),
        "folder datasets",
    );
    assert!(!Path::new(&nowhere).exists());
    assert_fails_with(
        &reponet(&["train", "--resume", &run, "--channels", "3"]),
        "cannot be used with",
    );

    // A broken file: named by check and by train; skipped and counted on request.
    let broken = format!("{digits}/train/3/broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\n not really").unwrap();
    assert_fails_with(&reponet(&["data", "check", &dataset]), "do not decode");
    assert!(text(&reponet(&["data", "check", &dataset]).stdout).contains("broken.png"));
    assert_fails_with(&reponet(&train_args(&dataset, &nowhere, &[])), "broken.png");
    assert!(!Path::new(&nowhere).exists());
    let skipped = path("skipped");
    assert_ok(&reponet(&train_args(
        &dataset,
        &skipped,
        &["--skip-bad-images"],
    )));
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{skipped}/config.json")).unwrap())
            .unwrap();
    assert_eq!(config["bad_images_skipped"], 1);
}
