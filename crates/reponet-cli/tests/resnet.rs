//! The ResNets from the command line, end to end: train, eval, plot, export and predict on
//! a CIFAR ResNet (built-in digits) and on torchvision's ResNet-18 (a colour folder
//! dataset), the help that lists them, and the settings refused before any work.

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

/// eval, plot, export and predict on a trained run: each works and says what it should.
fn every_command_on(run: &str, images: &str, tmp: &Path, classes: usize) {
    let o = reponet(&["--json", "eval", run]);
    assert_ok(&o);
    let eval: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(eval["accuracy"].as_f64().is_some(), "{eval}");

    let png = tmp.join("features.png");
    assert_ok(&reponet(&["plot", run, "--out", png.to_str().unwrap()]));
    assert!(png.metadata().unwrap().len() > 1000);

    let exported = tmp.join("model.safetensors");
    let o = reponet(&["export", run, "--out", exported.to_str().unwrap()]);
    assert_ok(&o);
    let bytes = std::fs::read(&exported).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();
    for name in [
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.conv2.weight",
        "fc.weight",
        "fc_bn.weight",
        "head.W",
    ] {
        assert!(
            header.contains(&format!("\"{name}\"")),
            "{name} not exported"
        );
    }

    let o = reponet(&["predict", run, images, "--csv"]);
    assert_ok(&o);
    let out = text(&o.stdout);
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert!(!rows.is_empty(), "{out}");
    // Every answer is one of the classes or "unknown".
    let answers = rows.len();
    assert!(answers >= classes.min(3), "{out}");
}

#[test]
fn a_cifar_resnet_on_the_builtin_digits_and_resnet18_on_colour_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();

    // resnet20 with its recipe on digits: crops without flips, said so.
    let run = path("r20");
    let o = reponet(&[
        "train",
        "--model",
        "resnet20",
        "--dataset",
        "mnist-sample",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--limit-train",
        "128",
        "--limit-test",
        "64",
        "--out",
        &run,
    ]);
    assert_ok(&o);
    let log = text(&o.stderr);
    assert!(log.contains("crop (no flips"), "{log}");
    assert!(
        log.contains(
            "recipe: sgd lr 0.1, weight decay 0.0005, cosine schedule, batch 32, augmentation crop"
        ),
        "{log}"
    );
    let config = std::fs::read_to_string(Path::new(&run).join("config.json")).unwrap();
    for field in [
        "\"model\": \"resnet20\"",
        "\"optimizer\": \"sgd\"",
        "\"lr_schedule\": \"cosine\"",
        "\"augment\": \"crop\"",
    ] {
        assert!(config.contains(field), "{field} in {config}");
    }

    // The same digits as colour PNG files in class folders, for resnet18 and for predict.
    let digits = path("digits");
    assert_ok(&reponet(&[
        "-q",
        "data",
        "to-folder",
        "mnist-sample",
        "--out",
        &digits,
    ]));
    let sevens = format!("{digits}/test/7");
    every_command_on(&run, &sevens, tmp.path(), 10);

    let r18 = path("r18");
    let o = reponet(&[
        "train",
        "--model",
        "resnet18",
        "--dataset",
        &format!("folder:{digits}"),
        "--image-size",
        "32",
        "--channels",
        "3",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--limit-train",
        "64",
        "--limit-test",
        "32",
        "--out",
        &r18,
    ]);
    assert_ok(&o);
    let log = text(&o.stderr);
    assert!(log.contains("augmentation crop-flip"), "{log}");
    assert!(log.contains("images read as 3x32x32"), "{log}");
    let tmp18 = tmp.path().join("r18-files");
    std::fs::create_dir(&tmp18).unwrap();
    every_command_on(&r18, &sevens, &tmp18, 10);
}

#[test]
fn help_lists_the_models_and_their_recipe() {
    let o = reponet(&["train", "--help"]);
    assert_ok(&o);
    let help = text(&o.stdout);
    for words in [
        "lenet++",
        "resnet20",
        "resnet110",
        "resnet18",
        "resnet50",
        "sgd",
        "cosine",
        "step:E1,E2",
        "crop-flip",
        "--nesterov",
        "--weight-decay",
        "--lr-warmup",
        "--stem",
    ] {
        assert!(help.contains(words), "{words} missing from train --help");
    }
}

#[test]
fn resnet_settings_that_cannot_work_are_refused_naming_the_option() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let out = out.to_str().unwrap();
    let base = [
        "train",
        "--dataset",
        "mnist-sample",
        "--epochs",
        "1",
        "--out",
        out,
    ];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        reponet(&args)
    };
    assert_fails_with(
        &with(&["--model", "resnet18", "--stem", "imagenet"]),
        "at least 32 x 32 pixels",
    );
    assert_fails_with(
        &with(&["--model", "resnet20", "--augment", "crop-flip"]),
        "--augment crop-flip: mnist-sample holds digits or letters",
    );
    assert_fails_with(&with(&["--nesterov"]), "--optimizer sgd");
    assert_fails_with(
        &with(&["--lr-schedule", "step:5"]),
        "epoch 5 is outside the run",
    );
    assert_fails_with(
        &with(&["--lr-schedule", "linear"]),
        "expected constant, cosine or step",
    );
    assert!(!Path::new(out).exists(), "nothing written");
}

#[test]
fn bench_measures_a_resnet_and_refuses_inputs_too_small_for_it() {
    let o = reponet(&[
        "--json",
        "bench",
        "--model",
        "resnet20",
        "--image-size",
        "8",
        "--channels",
        "3",
        "--phases",
        "train:4,infer:4",
        "--steps",
        "1",
        "--warmup",
        "0",
    ]);
    assert_ok(&o);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let phases = report["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);
    assert!(phases
        .iter()
        .all(|p| p["images_per_second"].as_f64().unwrap() > 0.0));
    assert!(
        text(&o.stderr).contains("resnet20 on 3x8x8"),
        "{}",
        text(&o.stderr)
    );
    assert_fails_with(
        &reponet(&["bench", "--model", "resnet18", "--image-size", "4"]),
        "--image-size 4: resnet18 takes images of at least 8 x 8 pixels",
    );
}

/// Errors from the first hour (issue 32): each says what is wrong once, in words a person
/// can act on, and a missing folder is an error, not a silent success.
#[test]
fn first_hour_errors_say_what_is_wrong_once() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let file = file.to_str().unwrap();
    let missing = tmp.path().join("missing");
    let missing = missing.to_str().unwrap();

    let o = reponet(&[
        "train",
        "--dataset",
        &format!("folder:{missing}"),
        "--out",
        file,
    ]);
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");

    let o = reponet(&[
        "data",
        "to-folder",
        "mnist-sample",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.matches("exists already").count(), 1, "{err}");

    assert_fails_with(
        &reponet(&[
            "train",
            "--dataset",
            "mnist-sample",
            "--epochs",
            "1",
            "--out",
            file,
        ]),
        "is a file: the run goes into a folder; choose another --out",
    );
    assert_fails_with(&reponet(&["eval", missing]), "no such folder");
    assert_fails_with(&reponet(&["eval", file]), "a file, not a run folder");
    assert_fails_with(
        &reponet(&["data", "verify", "--data-dir", missing]),
        "--data-dir",
    );
    assert_fails_with(
        &reponet(&["data", "list", "--data-dir", missing]),
        "no such folder",
    );
}
