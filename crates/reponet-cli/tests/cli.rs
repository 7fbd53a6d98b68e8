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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn polytope_prints_and_json() {
    let o = reponet(&["polytope", "--kind", "cube", "--classes", "47"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.contains("feature dimension d   6"), "{text}");
    assert!(text.contains("48.190 deg"), "{text}");
    assert!(text.contains("vertices              64"), "{text}");
    assert!(text.contains("unused vertices       17"), "{text}");

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
    assert!(!o.status.success());
    assert!(stderr(&o).contains("at least 2 classes"), "{}", stderr(&o));
    let o = reponet(&["polytope", "--kind", "dodecahedron"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("expected simplex, orthoplex or cube"),
        "{}",
        stderr(&o)
    );
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
    let text = stdout(&o);
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
    let table_path = tmp.path().join("table.md");
    let o = reponet(&[
        "report",
        r,
        data.to_str().unwrap(),
        "--out",
        table_path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("skipped"), "{}", stderr(&o));
    let table = std::fs::read_to_string(&table_path).unwrap();
    assert_eq!(table, stdout(&o));
    let row = table.lines().find(|l| l.contains("orthoplex (5)")).unwrap();
    assert!(
        row.contains("| orthoplex (5) | fixed | margin | 90.0 | 0 | 640 |"),
        "{row}"
    );
    assert_eq!(row.matches(" / ").count(), 1, "two epochs: {row}");

    // An existing run is not overwritten without --force.
    let o = reponet(&["train", "--data-dir", d, "--out", r, "--epochs", "1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));

    // A corrupt model file is a clear error naming the file.
    std::fs::write(out.join("model.bpk"), b"not a model").unwrap();
    let o = reponet(&["eval", r]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("model.bpk"), "{}", stderr(&o));
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
            "expected simplex, orthoplex or cube",
        ),
        (&["--head", "frozen"], "expected fixed or learnable"),
        (&["--loss", "hinge"], "expected softmax, cosine or margin"),
        (&["--dataset", "cifar10"], "only 'mnist'"),
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
        stderr(&o).contains("/no/such/dir") && stderr(&o).contains("train-images-idx3-ubyte"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());

    let o = reponet(&["eval", tmp.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a usable run directory"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn learns_real_mnist_when_present() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/mnist");
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
    for word in ["polytope", "train", "eval", "reponet train --data-dir"] {
        assert!(text.contains(word), "--help lacks {word}: {text}");
    }
    let text = stdout(&reponet(&["train", "--help"]));
    assert!(
        text.contains("--margin-warmup") && text.contains("collapses"),
        "{text}"
    );
}
