//! Pretrained weights as PyTorch writes them (benches/pytorch/pretrained_equality.py):
//! reponet's pooled features of torchvision's ResNet-18 and ResNet-50 from `.pth`, nested
//! `.pth` and `.safetensors` equal PyTorch's in eval mode; a pickle that asks to run
//! `os.system` is refused and does not run; the wrong architecture is refused by name.
//! Skipped where python3 lacks torch, torchvision, safetensors or Pillow.

use std::path::Path;
use std::process::{Command, Output};

fn reponet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reponet"))
        .args(args)
        .output()
        .expect("run reponet")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Largest |a - b| over the largest |b|, between two .npy files (numpy reads both).
fn relative_difference(ours: &Path, theirs: &Path) -> f64 {
    let code = "import numpy as np, sys; a = np.load(sys.argv[1])['features']; b = np.load(sys.argv[2]); \
        assert a.shape == b.shape, (a.shape, b.shape); print(float(abs(a - b).max() / abs(b).max()))";
    let o = Command::new("python3")
        .args(["-c", code])
        .arg(ours)
        .arg(theirs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

#[test]
fn features_equal_pytorch_and_malicious_pickles_do_not_run() {
    let probe = Command::new("python3")
        .args(["-c", "import torch, torchvision, safetensors, PIL"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "skipped: python3 with torch, torchvision, safetensors and Pillow is not installed"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mark = dir.join("payload-ran");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../benches/pytorch/pretrained_equality.py"
    );
    let o = Command::new("python3")
        .arg(script)
        .arg(dir)
        .env("PAYLOAD_MARK", &mark)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let images = dir.join("images");
    for (model, file) in [
        ("resnet18", "resnet18.pth"),
        ("resnet18", "resnet18.safetensors"),
        ("resnet18", "resnet18-nested.pth"),
        ("resnet50", "resnet50.pth"),
        ("resnet50", "resnet50.safetensors"),
    ] {
        let out = dir.join(format!("{file}.npy"));
        let o = reponet(&[
            "embed",
            "--model",
            model,
            "--weights",
            dir.join(file).to_str().unwrap(),
            "--images",
            images.to_str().unwrap(),
            "--image-size",
            "64",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        let diff = relative_difference(&out, &dir.join(format!("{model}.features.npy")));
        eprintln!("{file}: largest difference {diff:.2e} of the largest feature");
        assert!(diff < 1e-4, "{file}: {diff}");
    }
    // The payload: refused by name before anything is read, and it did not run.
    let out = dir.join("malicious.npy");
    let o = reponet(&[
        "embed",
        "--model",
        "resnet18",
        "--weights",
        dir.join("malicious.pth").to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let said = stderr(&o);
    assert!(
        said.contains("malicious.pth")
            && said.contains("system")
            && said.contains("nothing in it was run"),
        "{said}"
    );
    assert!(!mark.exists() && !out.exists());
    // ResNet-18's weights are no ResNet-50.
    let o = reponet(&[
        "embed",
        "--model",
        "resnet50",
        "--weights",
        dir.join("resnet18.pth").to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains("these weights are not a resnet50")
            && stderr(&o).contains("missing: layer1.0.conv3.weight"),
        "{}",
        stderr(&o)
    );
}
