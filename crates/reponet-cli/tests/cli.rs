//! The `reponet` binary as a user meets it: outputs, files, exit codes and error messages.

use std::path::Path;
use std::process::{Command, Output};

use reponet::data::write_synthetic_mnist;
use serde_json::Value;

fn reponet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(args)
        .output()
        .expect("run reponet")
}

/// `reponet train` of one epoch, batch 32, on the first `train` / `test` images of the
/// built-in sample, into `out`, with `extra` options.
fn train_on_sample(out: &Path, train: &str, test: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--dataset",
        "mnist-sample",
        "--epochs",
        "1",
        "--batch-size",
        "32",
        "--limit-train",
        train,
        "--limit-test",
        test,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    reponet(&args)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The command failed, and its error message says `text`.
fn assert_fails_with(o: &Output, text: &str) {
    assert!(!o.status.success(), "succeeded: {}", stdout(o));
    assert!(stderr(o).contains(text), "{}", stderr(o));
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn polytope_prints_and_json() {
    let o = reponet(&["polytope", "--kind", "cube", "--classes", "47"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("feature dimension d    6"), "{text}");
    assert!(text.contains("48.190 deg"), "{text}");
    assert!(text.contains("vertices               64"), "{text}");
    assert!(text.contains("unused vertices        17"), "{text}");
    // 64 points in d = 6: more than 2d, so the bound is not tight.
    assert!(text.contains("an upper bound"), "{text}");

    let o = reponet(&["polytope", "--kind", "simplex", "--classes", "10", "--json"]);
    assert!(o.status.success());
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["dim"], 9);
    assert_eq!(v["vertices"], 10);
    assert!((v["phi_degrees"].as_f64().unwrap() - 96.379).abs() < 1e-3);
    assert!((v["min_pairwise_angle_degrees"].as_f64().unwrap() - 96.379).abs() < 1e-3);
    assert_eq!(v["vertex_matrix"].as_array().unwrap().len(), 10);

    let o = reponet(&[
        "polytope",
        "--kind",
        "orthoplex",
        "--classes",
        "3",
        "--vertices",
    ]);
    assert!(
        stdout(&o).contains("unused  +0.000000 -1.000000"),
        "{}",
        stdout(&o)
    );

    let o = reponet(&["polytope", "--classes", "1"]);
    assert_fails_with(&o, "at least 2 classes");
    let o = reponet(&["polytope", "--kind", "dodecahedron"]);
    // clap lists the values (aliases such as d-cube and hypercube are accepted too).
    assert_fails_with(
        &o,
        "[possible values: simplex, orthoplex, cube, hadamard, polygon, spread]",
    );
}

#[test]
fn polytope_beyond_the_paper() {
    let tmp = tempfile::tempdir().unwrap();
    let spread = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_reponet"))
            .args(args)
            .env("REPONET_CACHE", tmp.path())
            .output()
            .unwrap()
    };
    // The octahedron: 6 points in 3 dimensions, optimal, and cached once computed.
    let args = [
        "polytope",
        "--kind",
        "spread",
        "--classes",
        "6",
        "--dim",
        "3",
        "--json",
    ];
    let o = spread(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        (v["phi_degrees"].as_f64().unwrap() - 90.0).abs() < 0.01,
        "{v}"
    );
    assert!((v["bound_degrees"].as_f64().unwrap() - 90.0).abs() < 1e-9);
    assert_eq!(v["bound_is_optimum"], true);
    assert_eq!(
        std::fs::read_dir(tmp.path().join("polytopes"))
            .unwrap()
            .count(),
        1
    );
    let again: Value = serde_json::from_str(&stdout(&spread(&args))).unwrap();
    assert_eq!(again["vertex_matrix"], v["vertex_matrix"]);

    let o = reponet(&["polytope", "--kind", "polygon", "--classes", "8"]);
    assert!(
        stdout(&o).contains("phi (= default margin) 45.000 deg"),
        "{}",
        stdout(&o)
    );
    let o = reponet(&["polytope", "--kind", "hadamard", "--classes", "10"]);
    assert!(
        stdout(&o).contains("feature dimension d    16"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("90.000 deg"), "{}", stdout(&o));
    let o = reponet(&[
        "polytope",
        "--kind",
        "hadamard",
        "--classes",
        "10",
        "--dim",
        "8",
    ]);
    assert_fails_with(&o, "classes 0 and 8 the same vector");
    let o = reponet(&["polytope", "--kind", "spread", "--classes", "10"]);
    assert_fails_with(&o, "give --dim D");
    let o = reponet(&[
        "polytope",
        "--kind",
        "cube",
        "--classes",
        "10",
        "--dim",
        "7",
    ]);
    assert_fails_with(&o, "has d = 4");
}

#[test]
fn bench_measures_and_refuses_bad_phases() {
    let tmp = tempfile::tempdir().unwrap();
    let json_path = tmp.path().join("bench.json");
    // One timed step of each phase, no warm-up, the JSON written to json_path.
    let bench = |extra: &[&str]| {
        let mut args = vec!["bench", "--steps", "1", "--warmup", "0", "--out"];
        args.push(json_path.to_str().unwrap());
        args.extend(extra);
        reponet(&args)
    };
    let o = bench(&["--phases", "train:8,infer:16"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&json_path);
    let phases = v["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 2);
    assert_eq!(
        (phases[0]["phase"].as_str(), phases[0]["batch"].as_u64()),
        (Some("train"), Some(8))
    );
    for p in phases {
        let ips = p["images_per_second"].as_f64().unwrap();
        assert!(ips.is_finite() && ips > 0.0, "{p}");
    }
    assert_eq!(v["conv_kernels"], "reponet");
    // The same on Burn's convolutions, as the JSON says.
    let o = bench(&["--conv", "burn", "--phases", "infer:4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&json_path)["conv_kernels"], "burn");
    // The head benchmark says what it is timing before each (slow) phase.
    let o = bench(&[
        "--heads",
        "--classes",
        "12",
        "--dims",
        "4",
        "--head-batch",
        "8",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("K = 12, d = 4: timing the fixed head (spreading its vertices"),
        "{}",
        stderr(&o)
    );
    let o = reponet(&["bench", "--conv", "cudnn"]);
    assert_fails_with(&o, "[possible values: reponet, burn]");
    let o = reponet(&["bench", "--phases", "fly:512"]);
    assert_fails_with(&o, "expected train or infer");
    let o = reponet(&["bench", "--phases", "train:0"]);
    assert_fails_with(&o, "positive integer");
}

#[test]
fn train_then_eval_on_a_small_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_synthetic_mnist(&data, 640, 200, 1).unwrap();
    let out = tmp.path().join("run");
    let d = data.to_str().unwrap();
    let r = out.to_str().unwrap();
    let o = reponet(&[
        "train",
        "--data-dir",
        d,
        "--out",
        r,
        "--polytope",
        "orthoplex",
        "--epochs",
        "2",
        "--batch-size",
        "64",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    // Progress goes to standard error; the result line alone to standard output.
    assert!(stdout(&o).starts_with("done in "), "{}", stdout(&o));
    let text = stderr(&o);
    // The trainable parameter count is printed, and the fixed head adds none.
    assert!(
        text.contains("trainable parameters: ") && text.contains("(classifier head: 0)"),
        "{text}"
    );
    assert!(text.contains("epoch 2: train loss"), "{text}");

    let config = json(&out.join("config.json"));
    assert_eq!(config["dim"], 5);
    assert_eq!(config["num_outputs"], 10);
    assert_eq!(config["margin_degrees"], 90.0);
    assert_eq!(config["warmup_epochs"], 0.0);
    assert_eq!(config["request"]["batch_size"], 64);
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (i, m) in lines.iter().enumerate() {
        assert_eq!(m["epoch"], i as u64 + 1);
        assert!(m["images_per_second"].as_f64().unwrap() > 0.0);
        assert!(m["train_loss"].as_f64().unwrap().is_finite());
    }
    let summary = json(&out.join("summary.json"));
    let final_acc = summary["final_test_accuracy"].as_f64().unwrap();
    assert_eq!(summary["head_parameters"], 0);
    // The synthetic classes are trivially separable: 20 steps reach near-perfect accuracy.
    assert!(final_acc > 90.0, "synthetic accuracy {final_acc}");
    assert!(out.join("model.bpk").is_file());
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty());

    // eval reloads the saved model and gets the same accuracy.
    let o = reponet(&["eval", r, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let eval: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(eval["accuracy"].as_f64().unwrap(), final_acc);
    assert_eq!(eval["images"], 200);
    assert_eq!(eval["per_class"].as_array().unwrap().len(), 10);
    assert_eq!(json(&out.join("eval.json"))["accuracy"], eval["accuracy"]);
    // A fixed orthoplex head trained to >90 %: class means are far apart.
    assert!(
        eval["geometry"]["min_angle_between_class_means"]
            .as_f64()
            .unwrap()
            > 45.0,
        "{eval}"
    );
    let o = reponet(&["eval", r]);
    assert!(stdout(&o).contains("test accuracy"), "{}", stdout(&o));

    // report: one Markdown row per run, with the per-epoch curve.
    let o = reponet(&["report", r, data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped"), "{}", stderr(&o));
    let table = stdout(&o);
    let row = table.lines().find(|l| l.contains("orthoplex (5)")).unwrap();
    assert!(
        row.contains("| orthoplex (5) | fixed | margin | 90.0 | 0 | 640 |"),
        "{row}"
    );
    assert_eq!(row.matches(" / ").count(), 1, "two epochs: {row}");

    // An existing run is not overwritten without --force.
    let o = reponet(&["train", "--data-dir", d, "--out", r, "--epochs", "1"]);
    assert_fails_with(&o, "--force");

    // A corrupt model file is a clear error naming the file.
    std::fs::write(out.join("model.bpk"), b"not a model").unwrap();
    let o = reponet(&["eval", r]);
    assert_fails_with(&o, "model.bpk");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));

    // --force replaces the earlier run's files (the stale eval.json goes) and keeps others.
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    let o = reponet(&[
        "train",
        "--data-dir",
        d,
        "--out",
        r,
        "--force",
        "--epochs",
        "1",
        "--batch-size",
        "64",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("eval.json").exists());
    assert!(out.join("notes.txt").exists());
    assert!(reponet(&["eval", r]).status.success());

    // Data moved since training: an error naming where it was looked for, then --data-dir.
    let moved = tmp.path().join("moved");
    std::fs::rename(&data, &moved).unwrap();
    let png = tmp.path().join("f.png");
    let png = png.to_str().unwrap();
    assert_fails_with(&reponet(&["plot", r, "--out", png]), d);
    let m = moved.to_str().unwrap();
    let o = reponet(&["plot", r, "--data-dir", m, "--out", png]);
    assert!(o.status.success(), "{}", stderr(&o));
    let npy = tmp.path().join("f.npy");
    let o = reponet(&["embed", r, "--data-dir", m, "--out", npy.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("200 test features of dimension 9"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn impossible_options_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_synthetic_mnist(&data, 20, 10, 1).unwrap();
    let d = data.to_str().unwrap();
    let out = tmp.path().join("never");
    let r = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--margin", "200"], "strictly between 0 and 180"),
        (&["--margin", "0"], "strictly between 0 and 180"),
        (&["--margin", "wide"], "expected 'auto' or an angle"),
        (&["--margin-warmup", "-1"], "number of epochs >= 0"),
        (&["--scale", "0"], "--scale 0: must be a positive number"),
        (&["--batch-size", "0"], "--batch-size 0"),
        (&["--lr", "-0.1"], "--lr -0.1: must be a positive number"),
        (&["--epochs", "0"], "--epochs 0"),
        (
            &["--polytope", "sphere"],
            "[possible values: simplex, orthoplex, cube, hadamard, polygon, spread]",
        ),
        (&["--head", "frozen"], "[possible values: fixed, learnable]"),
        (&["--polytope", "spread"], "give --dim D"),
        (&["--polytope", "simplex", "--dim", "4"], "has d = 9"),
        (&["--holdout-classes", "9"], "keep at least 2 of the 10"),
        (&["--holdout-classes", "3,10"], "class 10 does not exist"),
        (
            &["--loss", "hinge"],
            "[possible values: softmax, cosine, margin]",
        ),
        (
            &["--dataset", "imagenet"],
            "unknown dataset 'imagenet': known datasets are mnist",
        ),
        // MNIST's files are not CIFAR's.
        (&["--dataset", "cifar10"], "dataset cifar10 not found"),
        (
            &["--cifar100-labels", "coarse"],
            "--cifar100-labels coarse: applies to --dataset cifar100, not mnist",
        ),
        (
            &["--device", "tpu"],
            "[possible values: cpu, wgpu, cuda, libtorch, libtorch-cuda]",
        ),
        #[cfg(not(feature = "cuda"))]
        (&["--device", "cuda"], "--features cuda"),
        #[cfg(not(feature = "wgpu"))]
        (&["--device", "wgpu"], "--features wgpu"),
        #[cfg(not(feature = "tch"))]
        (&["--device", "libtorch"], "--features tch"),
    ];
    for (extra, expected) in cases {
        let mut args = vec!["train", "--data-dir", d, "--out", r];
        args.extend_from_slice(extra);
        let o = reponet(&args);
        assert!(!o.status.success(), "{extra:?} was accepted");
        assert!(stderr(&o).contains(expected), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists(), "{extra:?} created the output folder");
    }
    let o = reponet(&["train", "--data-dir", "/no/such/dir", "--out", r]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/no/such/dir")
            && stderr(&o).contains("reponet data fetch mnist --data-dir /no/such/dir"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());

    let o = reponet(&["eval", tmp.path().to_str().unwrap()]);
    assert_fails_with(&o, "not a usable run directory");
}

#[test]
fn learns_real_mnist_when_present() {
    let data = test_data_root().join("mnist");
    if !data.exists() {
        eprintln!("skipped: {} not found", data.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = reponet(&[
        "train",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--polytope",
        "orthoplex",
        "--limit-train",
        "3000",
        "--limit-test",
        "1000",
        "--batch-size",
        "64",
        "--epochs",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Measured here: 67 % after these 47 steps (chance is 10 %).
    let acc = json(&out.join("summary.json"))["final_test_accuracy"]
        .as_f64()
        .unwrap();
    assert!(acc > 50.0, "test accuracy {acc} after 3000 MNIST images");
}

#[test]
fn help_teaches() {
    let o = reponet(&["--help"]);
    let text = stdout(&o);
    for word in [
        "polytope",
        "train",
        "eval",
        "reponet data fetch mnist",
        "--dataset mnist-sample",
    ] {
        assert!(text.contains(word), "--help lacks {word}: {text}");
    }
    // Each command's summary is whole: no line of a lone word left by a hard line break.
    let commands = text.split("Commands:").nth(1).unwrap_or("");
    let commands = commands.split("\n\n").next().unwrap_or("");
    for line in commands.lines() {
        assert!(
            line.split_whitespace().count() != 1 || line.trim().starts_with('-'),
            "a broken sentence in --help: {line:?}"
        );
    }
    let text = stdout(&reponet(&["train", "--help"]));
    assert!(
        text.contains("--margin-warmup") && text.contains("collapses"),
        "{text}"
    );
    // The global options under their own heading, after the command's own; the device in a
    // few lines, not a list of every backend in each command's help.
    let (own, global) = text
        .split_once("Global options:")
        .expect("a Global options heading");
    assert!(!own.contains("--json") && global.contains("--json") && global.contains("--device"));
    assert!(
        !text.contains("Possible values:\n          - cpu"),
        "{text}"
    );
    // Every option of `data` says what it is.
    for command in ["verify", "to-folder", "list"] {
        let text = stdout(&reponet(&["data", command, "--help"]));
        let after = text.split("--data-dir <DATA_DIR>").nth(1).unwrap_or("");
        let description = after.lines().nth(1).unwrap_or("").trim();
        assert!(
            !description.is_empty(),
            "data {command} --data-dir has no description: {text}"
        );
    }
}

/// `reponet` with no data folder and no way to one: `$HOME` and the cache are empty.
fn reponet_without_data(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("REPONET_DATA")
        .output()
        .expect("run reponet")
}

#[test]
fn trains_on_the_builtin_sample_without_any_data() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let r = out.to_str().unwrap();
    let o = reponet_without_data(tmp.path(), &["train", "--out", r, "--epochs", "1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("reponet data fetch mnist") && stderr(&o).contains("mnist-sample"),
        "{}",
        stderr(&o)
    );
    let o = reponet_without_data(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "mnist-sample",
            "--out",
            r,
            "--epochs",
            "1",
            "--limit-train",
            "3000",
            "--batch-size",
            "64",
            "--polytope",
            "orthoplex",
            "--loss",
            "softmax",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = json(&out.join("summary.json"));
    // 47 steps of real MNIST digits with the softmax loss, which starts fastest: measured
    // 87.35 % (the margin loss: 29 to 38 % after so few steps; chance is 10 %).
    let acc = summary["final_test_accuracy"].as_f64().unwrap();
    assert!(acc > 70.0, "test accuracy {acc}");
    let config = json(&out.join("config.json"));
    assert_eq!(config["data_source"], "built in");
    assert_eq!(json(&out.join("metrics.jsonl"))["test_images"], 2000);
    let o = reponet_without_data(tmp.path(), &["eval", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("of 2000 images"), "{}", stdout(&o));
    assert!(stdout(&o).contains("precision@1"), "{}", stdout(&o));
    let eval = json(&out.join("eval.json"));
    assert_eq!(eval["retrieval"]["queries"], 2000);

    // Embeddings in the three formats.
    for ext in ["npy", "csv", "safetensors"] {
        let file = tmp.path().join(format!("emb.{ext}"));
        let o = reponet_without_data(
            tmp.path(),
            &[
                "embed",
                r,
                "--split",
                "test",
                "--normalize",
                "--out",
                file.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let npy = std::fs::read(tmp.path().join("emb.npy")).unwrap();
    assert_eq!(&npy[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    assert!(header.contains("('features', '<f4', (5,))") && header.contains("'shape': (2000,)"));
    assert_eq!(npy.len(), 10 + header_len + 2000 * (4 * 5 + 1));
    let csv = std::fs::read_to_string(tmp.path().join("emb.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2001);
    assert!(csv.starts_with("label,class,f0,f1,f2,f3,f4\n"));
    // numpy, where installed, reads the .npy as it is.
    let check = "import numpy as np, sys; a = np.load(sys.argv[1]); \
        assert a.shape == (2000,) and a['features'].shape == (2000, 5); \
        assert abs(np.linalg.norm(a['features'], axis=1) - 1).max() < 1e-5; \
        assert a['label'].max() == 9";
    match Command::new("python3")
        .args(["-c", check])
        .arg(tmp.path().join("emb.npy"))
        .output()
    {
        Ok(o) if !String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            assert!(o.status.success(), "{}", stderr(&o))
        }
        _ => eprintln!("numpy not available: .npy checked by its bytes only"),
    }
    let o = reponet_without_data(tmp.path(), &["embed", r, "--out", "emb.parquet"]);
    assert!(stderr(&o).contains("unknown format"), "{}", stderr(&o));

    // Figures.
    let png = tmp.path().join("fig.png");
    let o = reponet_without_data(tmp.path(), &["plot", r, "--out", png.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG\r\n"));
    let svg = tmp.path().join("fig.svg");
    let o = reponet_without_data(
        tmp.path(),
        &[
            "plot",
            r,
            "--normalize",
            "--split",
            "train",
            "--project",
            "pca:3",
            "--out",
        ]
        .into_iter()
        .chain([svg.to_str().unwrap()])
        .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains(">PC3</text>") && text.contains("L2-normalised"));
    let o = reponet_without_data(tmp.path(), &["plot", r, "--dims", "0,7", "--out", "x.png"]);
    assert!(
        stderr(&o).contains("coordinate 7 does not exist"),
        "{}",
        stderr(&o)
    );
    let o = reponet_without_data(tmp.path(), &["plot", r, "--out", "x.gif"]);
    assert!(
        stderr(&o).contains("name the figure .png or .svg"),
        "{}",
        stderr(&o)
    );

    // The report: Markdown with the figure linked, HTML with it embedded.
    let report = tmp.path().join("report");
    let o = reponet_without_data(
        tmp.path(),
        &["report", r, "--out", report.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    assert!(
        md.contains("| run | precision@1 |") && md.contains("![run](run.png)"),
        "{md}"
    );
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(html.contains(
        "<img alt=\"scatter-plot matrix of run\" src=\"data:image/png;base64,iVBORw0KGgo"
    ));
}

#[test]
fn data_list_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let o = reponet_without_data(tmp.path(), &["data", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for line in ["emnist-balanced       47   112800   18800", "mnist-sample"] {
        assert!(text.contains(line), "{text}");
    }
    assert!(
        text.contains("not present (reponet data fetch mnist)"),
        "{text}"
    );

    // A corrupt copy of a dataset: verify names the file and fails.
    let root = tmp.path().join("root");
    let dir = root.join("mnist");
    write_synthetic_mnist(&dir, 20, 10, 3).unwrap();
    let d = root.to_str().unwrap();
    let o = reponet_without_data(tmp.path(), &["data", "verify", "mnist", "--data-dir", d]);
    assert!(!o.status.success());
    let text = stdout(&o);
    assert!(
        text.contains("train-images-idx3-ubyte.gz: BAD: 20 items, expected 60000"),
        "{text}"
    );
    assert!(
        stderr(&o).contains("4 file(s) missing or failed"),
        "{}",
        stderr(&o)
    );

    let shared = test_data_root();
    if shared.join("mnist").exists() {
        let o = reponet(&[
            "data",
            "verify",
            "mnist",
            "--data-dir",
            shared.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            stdout(&o).matches(": checksum good").count(),
            4,
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn trains_on_fashion_mnist_when_installed() {
    let dir = Path::new("/usr/share/datasets/fashion-mnist");
    if !dir.exists() {
        eprintln!(
            "skipped: {} not installed (apt-get install dataset-fashion-mnist)",
            dir.display()
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = reponet_without_data(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "fashion-mnist",
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "1",
            "--limit-train",
            "2000",
            "--limit-test",
            "1000",
            "--batch-size",
            "64",
            "--polytope",
            "cube",
            "--loss",
            "softmax",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let config = json(&out.join("config.json"));
    assert_eq!(config["data_source"], dir.to_str().unwrap());
    assert_eq!(config["normalization"]["mean"], 0.286);
    let acc = json(&out.join("summary.json"))["final_test_accuracy"]
        .as_f64()
        .unwrap();
    assert!(
        acc > 30.0,
        "Fashion-MNIST test accuracy {acc} (chance 10 %)"
    );
}

/// Serve the files of `dir` over HTTP on 127.0.0.1 (whole files, one request at a time).
fn serve_dir(dir: &Path) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let reply = match std::fs::read(dir.join(path.trim_start_matches('/'))) {
                Ok(body) => [
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes(),
                    body,
                ]
                .concat(),
                Err(_) => {
                    b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_vec()
                }
            };
            let _ = stream.write_all(&reply);
        }
    });
    url
}

#[test]
fn data_fetch_gets_and_verifies_real_mnist_over_loopback() {
    let shared = test_data_root().join("mnist");
    if !shared.exists() {
        eprintln!("skipped: {} not found", shared.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mirror = serve_dir(&shared);
    let root = tmp.path().join("root");
    let r = root.to_str().unwrap();
    let o = reponet(&[
        "data",
        "fetch",
        "mnist",
        "--data-dir",
        r,
        "--mirror",
        &mirror,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).matches("downloaded, checksum good").count(),
        4,
        "{}",
        stdout(&o)
    );
    for name in ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        assert_eq!(
            std::fs::read(root.join("mnist").join(name)).unwrap(),
            std::fs::read(shared.join(name)).unwrap()
        );
    }
    // Fetched data is found without --data-dir once $REPONET_DATA points at the root.
    let o = Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(["data", "verify", "mnist"])
        .env("REPONET_DATA", &root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // A mirror without the files: a clear error naming the URL, nothing left behind.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let mirror = serve_dir(&empty);
    let o = reponet(&[
        "data",
        "fetch",
        "kmnist",
        "--data-dir",
        r,
        "--mirror",
        &mirror,
    ]);
    assert_fails_with(&o, "HTTP 404");
    assert!(!root.join("kmnist/train-images-idx3-ubyte.gz.part").exists());
}

/// Start `reponet train` on `images` sample digits (`images / batch` steps an epoch) and
/// return `wait_ms` after it starts training (its signal handlers are in place by then).
/// A training run started in the background, once it has begun its first step.
struct Training {
    child: std::process::Child,
    /// Its standard error, collected by a thread (the progress is read there).
    log: std::thread::JoinHandle<String>,
}

impl Training {
    /// Wait for the end: the exit status and everything it printed on standard error.
    fn finish(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.log.join().unwrap())
    }
}

fn start_training(out: &Path, images: &str, batch: &str, wait_ms: u64) -> Training {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(["train", "--dataset", "mnist-sample", "--out"])
        .arg(out)
        .args([
            "--epochs",
            "2",
            "--limit-train",
            images,
            "--limit-test",
            "100",
        ])
        .args(["--batch-size", batch, "--polytope", "cube"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (started, begun) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    // Keep draining standard error so the child never blocks on a full pipe.
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        for line in stderr.lines() {
            let line = line.unwrap();
            if line.starts_with("trainable parameters") {
                let _ = started.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let _ = begun.recv();
    std::thread::sleep(std::time::Duration::from_millis(wait_ms));
    Training { child, log }
}

/// Send SIGINT `times` times, 0.3 s apart (the kernel merges signals sent closer together).
fn signal(training: &Training, times: usize) {
    let kill = format!("kill -INT {}", training.child.id());
    let script = vec![kill; times].join("; sleep 0.3; ");
    assert!(Command::new("sh")
        .args(["-c", &script])
        .status()
        .unwrap()
        .success());
}

#[test]
fn ctrl_c_checkpoints_and_resume_completes_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let r = out.to_str().unwrap();
    // Into epoch 1 (a step of 32 takes well under 0.25 s here).
    let training = start_training(&out, "640", "32", 1500);
    signal(&training, 1);
    let (status, log) = training.finish();
    assert_eq!(status.code(), Some(130), "{log}");
    assert!(
        log.contains(&format!("resume with: reponet train --resume {r}")),
        "{log}"
    );
    assert!(out.join("checkpoint.bin").exists() && !out.join("model.bpk").exists());
    // A report marks it unfinished, rather than showing it as a finished run.
    let o = reponet(&["report", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("(unfinished: "), "{}", stdout(&o));

    // Training options cannot be changed on resume; a new run cannot take its folder.
    let o = reponet(&["train", "--resume", r, "--epochs", "5"]);
    assert_fails_with(&o, "cannot be used with");
    let o = reponet(&["train", "--dataset", "mnist-sample", "--out", r]);
    assert_fails_with(&o, &format!("--resume {r}"));

    let o = reponet(&["train", "--resume", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("continuing at epoch 1 after step"),
        "{}",
        stderr(&o)
    );
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    assert!(out.join("summary.json").exists() && !out.join("checkpoint.bin").exists());
    let o = reponet(&["train", "--resume", r]);
    assert!(
        stderr(&o).contains("this run is complete"),
        "{}",
        stderr(&o)
    );
    assert!(reponet(&["eval", r]).status.success());
    let own = json(&out.join("eval.json"));
    assert_eq!(own["dataset"], "mnist-sample");

    // On another dataset of the same classes (the sample's test digits as PNG files): its
    // own file, recording the dataset; the run's own evaluation stays as it was.
    let folder = tmp.path().join("png");
    let o = reponet(&[
        "data",
        "to-folder",
        "mnist-sample",
        "--out",
        folder.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let other = format!("folder:{}", folder.display());
    let o = reponet(&["eval", r, "--dataset", &other]);
    assert!(o.status.success(), "{}", stderr(&o));
    let file = out.join(reponet::train::RunDir::eval_file("mnist-sample", &other));
    assert!(
        stderr(&o).contains(&file.display().to_string()),
        "{}",
        stderr(&o)
    );
    assert_eq!(json(&file)["dataset"], other.as_str());
    assert_eq!(json(&out.join("eval.json")), own);

    // Evaluating on a dataset with other classes is refused before any work.
    let o = reponet(&["eval", r, "--dataset", "emnist-letters"]);
    assert_fails_with(
        &o,
        "trained on a dataset of 10 classes, but emnist-letters has 26",
    );
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    // Both signals, 0.3 s apart, from the start of the first step, which has 1,600
    // images (about 3 s on 2 cores): both come in the middle of it. (Steps of 320, signalled
    // 1.5 s in, raced the signals once the kernels got faster.)
    let training = start_training(&out, "1600", "1600", 0);
    signal(&training, 2);
    let (status, log) = training.finish();
    assert_eq!(status.code(), Some(130), "{log}");
    // It did not wait to finish the step and write a checkpoint.
    assert!(!log.contains("checkpoint saved"), "{log}");
    assert!(!out.join("checkpoint.bin").exists());
    // Stopped before its first checkpoint: --resume starts it from the beginning.
    let o = reponet(&["train", "--resume", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no checkpoint yet"), "{}", stderr(&o));
    assert!(out.join("summary.json").exists());
}

#[test]
fn shell_completions_and_the_manual_page() {
    for (shell, marker) in [
        ("bash", "_reponet()"),
        ("zsh", "#compdef reponet"),
        ("fish", "complete -c reponet"),
    ] {
        let o = reponet(&["completions", shell]);
        assert!(o.status.success(), "{}", stderr(&o));
        let script = stdout(&o);
        assert!(script.contains(marker), "{shell}: {script}");
        // Subcommands and their options are there, not only the top level.
        assert!(
            script.contains("checkpoint-every") && script.contains("reproduce"),
            "{shell}"
        );
    }
    let o = reponet(&["completions", "man"]);
    assert!(stdout(&o).starts_with(".ie") && stdout(&o).contains(".TH reponet 1"));
    // Every command's page, subcommands' included.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    let o = reponet(&["completions", "man", "--out-dir", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for page in [
        "reponet.1",
        "reponet-train.1",
        "reponet-data-fetch.1",
        "reponet-predict.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} missing or empty");
    }
    assert_fails_with(
        &reponet(&["completions", "bash", "--out-dir", dir.to_str().unwrap()]),
        "--out-dir is for `completions man` only",
    );
    assert_fails_with(
        &reponet(&["completions", "tcsh"]),
        "possible values: bash, zsh",
    );
}

#[test]
fn a_run_too_large_for_the_memory_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let run = |limit: &str, images: &str| {
        Command::new(env!("CARGO_BIN_EXE_reponet"))
            .env("REPONET_MEMORY_LIMIT", limit)
            .args([
                "train",
                "--dataset",
                "mnist-sample",
                "--limit-train",
                images,
            ])
            .args(["--epochs", "1", "--out", out.to_str().unwrap()])
            .output()
            .unwrap()
    };
    // The sample's 10,000 digits (7.5 MiB) do not fit in 4 MiB: refused as its header is read.
    let o = run("4MiB", "64");
    assert_fails_with(
        &o,
        "needs about 7.5 MiB of memory, and 4.0 MiB is available",
    );
    // The data fits in 64 MiB, but 512 images of working memory at 1.2 MiB each do not.
    let o = run("64MiB", "4096");
    assert_fails_with(&o, "batches of 512) needs about");
    assert_fails_with(&o, "64.0 MiB is available ($REPONET_MEMORY_LIMIT counts)");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn corrupt_model_files_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let r = out.to_str().unwrap();
    let o = train_on_sample(&out, "64", "32", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = out.join("model.bpk");
    let bytes = std::fs::read(&model).unwrap();
    for broken in [&bytes[..bytes.len() / 2], &b"garbage"[..], &[][..]] {
        std::fs::write(&model, broken).unwrap();
        let o = reponet(&["eval", r]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let msg = stderr(&o);
        assert!(
            msg.contains("model.bpk") && !msg.contains("panicked"),
            "{msg}"
        );
    }
}

#[test]
fn reproduce_quick_runs_the_grid_and_continues_where_it_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    // EMNIST balanced in its own format, written here: 47 classes, 200 / 100 images.
    let emnist = tmp.path().join("data/emnist-balanced");
    std::fs::create_dir_all(&emnist).unwrap();
    for (split, n) in [("train", 200usize), ("test", 100)] {
        let pixels: Vec<u8> = (0..n * 784).map(|i| ((i * 37) % 251) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 47) as u8).collect();
        let stem = emnist.join(format!("emnist-balanced-{split}"));
        reponet::data::write_idx(
            &stem.with_file_name(format!("emnist-balanced-{split}-images-idx3-ubyte.gz")),
            &[n, 28, 28],
            &pixels,
        )
        .unwrap();
        reponet::data::write_idx(
            &stem.with_file_name(format!("emnist-balanced-{split}-labels-idx1-ubyte.gz")),
            &[n],
            &labels,
        )
        .unwrap();
    }
    let out = tmp.path().join("grid");
    let data = tmp.path().join("data");
    let args = [
        "reproduce",
        "--quick",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = reponet_without_data(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report/report.md")).unwrap();
    assert!(md.contains("QUICK MODE: not the paper's setting"), "{md}");
    for run in [
        "fig2-softmax-simplex-fixed",
        "fig2-softmax-cube-fixed",
        "fig4-margin-orthoplex-fixed",
        "fig4-margin-cube-learnable",
        "fig4-margin-simplex-fixed-no-warmup",
        "fig5-emnist-cube-fixed",
        "fig5-emnist-cube-learnable",
    ] {
        assert!(md.contains(&format!("| {run} |")), "{run} missing: {md}");
        assert!(
            out.join("report").join(format!("{run}.png")).exists(),
            "{run}.png"
        );
    }
    assert!(out
        .join("report/fig6-fig5-emnist-cube-fixed-train.png")
        .exists());
    // Quick runs are not the paper's setting: its numbers stand beside none of them.
    for paper in ["| 99.45 |", "| 99.47 |", "| 88.31 |", "| 88.39 |"] {
        assert!(!md.contains(paper), "{paper} beside a quick run: {md}");
    }

    // Again: nothing is retrained.
    let o = reponet_without_data(tmp.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("finished already").count(),
        12,
        "{}",
        stdout(&o)
    );

    // Another setting in the same folder is refused before any training.
    let mut other = args.to_vec();
    other.extend(["--epochs", "2"]);
    let o = reponet_without_data(tmp.path(), &other);
    assert_fails_with(&o, "have another setting than this grid");

    // Without EMNIST, its runs are skipped (or run on Fashion-MNIST as a labelled stand-in
    // where that is installed), saying how to fetch it.
    let out2 = tmp.path().join("grid2");
    let o = reponet_without_data(
        tmp.path(),
        &[
            "reproduce",
            "--quick",
            "--experiments",
            "fig5",
            "--out",
            out2.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("reponet data fetch emnist-balanced"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn holdout_classes_are_evaluated_as_unseen() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let o = train_on_sample(
        &run,
        "300",
        "200",
        &["--polytope", "orthoplex", "--holdout-classes", "2,5,9"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("held out of training: classes 2, 5, 9"));
    let config = json(&run.join("config.json"));
    // 7 classes trained on: the 4-orthoplex (d = ceil(7 / 2)).
    assert_eq!(
        (config["classes"].as_u64(), config["dim"].as_u64()),
        (Some(7), Some(4))
    );
    let o = reponet(&["eval", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("unseen classes 2, 5, 9"),
        "{}",
        stdout(&o)
    );
    let eval = json(&run.join("eval.json"));
    assert_eq!(eval["per_class"].as_array().unwrap().len(), 7);
    assert_eq!(eval["per_class"][2]["name"], "3"); // class 3 is the third one trained on
    let unseen = &eval["held_out_retrieval"];
    let queries = unseen["queries"].as_u64().unwrap();
    // Classes 2, 5 and 9 among the first 200 test images of the sample.
    assert!(queries > 30 && queries < 100, "{unseen}");
    let p1 = unseen["precision_at_1"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p1));
    assert_eq!(
        eval["images"].as_u64().unwrap() + queries,
        200,
        "seen and unseen images partition the test set"
    );

    // A second seed draws its own 3 classes; the report averages the two runs.
    let run2 = tmp.path().join("run2");
    let extra = [
        "--polytope",
        "orthoplex",
        "--holdout-classes",
        "3",
        "--seed",
        "4",
    ];
    let o = train_on_sample(&run2, "300", "200", &extra);
    assert!(o.status.success(), "{}", stderr(&o));
    let held2: Vec<String> = json(&run2.join("config.json"))["held_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let report = tmp.path().join("report");
    let o = reponet(&[
        "report",
        run.to_str().unwrap(),
        run2.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(report.join("report.md")).unwrap();
    let row = format!(
        "| mnist-sample | orthoplex (d = 4) | fixed | 2 | 2,5,9; {} |",
        held2.join(",")
    );
    assert!(md.contains("## Unseen classes over seeds"), "{md}");
    assert!(md.contains(&row), "{row} not in\n{md}");
}

/// A data root holding real datasets (`mnist/`, ...) for the tests that use them:
/// `$REPONET_TEST_DATA`, else `shared/data` beside the checkout (docs/contributing.md, "Tests"); the
/// tests skip when it is absent.
fn test_data_root() -> std::path::PathBuf {
    std::env::var_os("REPONET_TEST_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        std::path::PathBuf::from,
    )
}

#[test]
fn results_on_stdout_as_json_progress_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let r = run.to_str().unwrap();
    // -q: nothing on standard error; --json: the summary alone on standard output.
    let o = train_on_sample(&run, "96", "64", &["-q", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let summary: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(summary["train_images"], 96);
    assert!(summary["final_test_accuracy"].as_f64().is_some());

    // Without -q the progress is on standard error, and standard output is still JSON.
    let o = reponet(&["--json", "eval", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    let eval: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(eval["images"], 64);

    // export: the listing as text or JSON; the file itself is checked in reponet's tests.
    let model = tmp.path().join("model.safetensors");
    let m = model.to_str().unwrap();
    let o = reponet(&["export", r, "--out", m]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("fc.weight        [9, 1152]"),
        "{}",
        stdout(&o)
    );
    let o = reponet(&["--json", "export", r, "--out", m]);
    let listing: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(listing["tensors"].as_array().unwrap().len(), 21);
    assert!(model.exists());

    // predict: what is not an image is refused by name (recognition itself is tested in
    // reponet's tests/predict.rs, on PNG files).
    let o = reponet(&["predict", r, "/no/such.png"]);
    assert_fails_with(&o, "/no/such.png: no such file or folder");
    std::fs::write(tmp.path().join("fake.png"), "not a png").unwrap();
    let fake = tmp.path().join("fake.png");
    let o = reponet(&["predict", r, fake.to_str().unwrap()]);
    assert_fails_with(&o, "fake.png: not a readable image");
    let o = reponet(&[
        "predict",
        r,
        run.join("config.json").to_str().unwrap(),
        "--threshold",
        "200",
    ]);
    assert_fails_with(&o, "--threshold 200: degrees from 0 to 180");

    let o = reponet(&["report", r, "--json"]);
    let runs: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(runs[0]["name"], "run");
    assert_eq!(runs[0]["epochs"].as_array().unwrap().len(), 1);

    let o = reponet_without_data(tmp.path(), &["data", "list", "--json"]);
    let list: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let sample = list["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "mnist-sample")
        .unwrap();
    assert_eq!(sample["built_in"], true);
    let o = reponet_without_data(tmp.path(), &["data", "verify", "mnist-sample", "--json"]);
    let verify: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(verify[0]["built_in"], true);

    // -v says how it computes; -q and -v together are refused.
    let o = reponet(&["-v", "polytope", "--classes", "3"]);
    assert!(stderr(&o).contains("computing on burn 0.22.1 flex (CPU), reponet conv kernels"));
    assert_fails_with(&reponet(&["-q", "-v", "polytope"]), "cannot be used with");
    let o = Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(["polytope", "--classes", "3"])
        .env("REPONET_CONV", "cudnn")
        .output()
        .unwrap();
    assert_fails_with(&o, "REPONET_CONV=cudnn: expected reponet or burn");

    // --help lists every option's values.
    // -h lists them; --help explains each. (Joined into one line: help text is wrapped to
    // the terminal's width.)
    let long = stdout(&reponet(&["train", "--help"]));
    assert!(long.contains("- orthoplex: d = ceil(K / 2)"), "{long}");
    let help = stdout(&reponet(&["train", "-h"]));
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for values in [
        "[possible values: simplex, orthoplex, cube, hadamard, polygon, spread]",
        "[possible values: fixed, learnable]",
        "[possible values: softmax, cosine, margin]",
        "cpu (the default), wgpu, cuda, libtorch, libtorch-cuda",
    ] {
        assert!(help.contains(values), "{values} missing:\n{help}");
    }
}
