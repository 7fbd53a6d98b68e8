//! Recognising image files: PNG digits give the classes the IDX path gives for the same
//! pixels; the threshold follows its definition (the percentile of the training features'
//! angles to their own class, recomputed here independently, in float64), is cached, and
//! turns far features into "unknown"; other sizes and colours are accepted; a broken file is
//! an error naming it.

use reponet::analysis::embed_run;
use reponet::analysis::predict::{predict_files, unknown_threshold, Threshold};
use reponet::data::image_files;
use reponet::data::{load_dataset, DataSplit};
use reponet::device::Compute;
use reponet::geometry::PolytopeKind;
use reponet::train::{predict_labels, train, RunDir, SilentObserver, TrainConfig};

#[test]
fn image_files_are_recognised_and_far_ones_are_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let config = TrainConfig {
        dataset: "mnist-sample".into(),
        epochs: 1,
        batch_size: 64,
        limit_train: Some(1024),
        limit_test: Some(64),
        polytope: PolytopeKind::Orthoplex,
        ..TrainConfig::paper_defaults(None)
    };
    let compute = Compute::default();
    train(&config, &run, false, &compute, &mut SilentObserver).unwrap();

    // 24 test digits as PNG files, the last 8 in a subfolder (read too, in path order).
    let digits = load_dataset("mnist-sample", DataSplit::Test, None)
        .unwrap()
        .limited(Some(24));
    let folder = tmp.path().join("digits");
    std::fs::create_dir_all(folder.join("more")).unwrap();
    for i in 0..digits.len() {
        let pixels = digits.pixels[i * 784..(i + 1) * 784].to_vec();
        let image = image::GrayImage::from_raw(28, 28, pixels).unwrap();
        let name = format!("{i:02}.png");
        let path = if i < 16 {
            folder.join(name)
        } else {
            folder.join("more").join(name)
        };
        image.save(path).unwrap();
    }
    let files = image_files(std::slice::from_ref(&folder)).unwrap();
    assert_eq!(files.len(), 24);
    assert_eq!(files[16], folder.join("more/16.png"));

    // Accept everything: the same classes as the IDX path on the same pixels.
    let all = predict_files(&run, &files, Threshold::Degrees(180.0), false, &compute).unwrap();
    let device = compute.burn_device().unwrap();
    let (resolved, model) = RunDir::open(&run).unwrap().load_model(&device).unwrap();
    let expected = predict_labels(&model, &digits, resolved.normalization, &device);
    for (p, &e) in all.predictions.iter().zip(&expected) {
        assert_eq!(p.nearest_index, e as usize, "{}", p.file.display());
        assert_eq!(p.class.as_deref(), Some(p.nearest.as_str()));
        assert!((p.angle_degrees - p.cosine.acos().to_degrees()).abs() < 1e-9);
    }
    // Accept nothing.
    let none = predict_files(&run, &files, Threshold::Degrees(0.0), false, &compute).unwrap();
    assert!(none.predictions.iter().all(|p| p.class.is_none()));

    // The 90th percentile, from its definition.
    let emb = embed_run(&run, DataSplit::Train, None, &compute).unwrap();
    let w = model.head.unit_weights();
    let d = w.dims()[1];
    let w: Vec<f64> = w.into_data().iter::<f32>().map(f64::from).collect();
    let mut angles: Vec<f64> = (0..emb.len())
        .map(|i| {
            let f: Vec<f64> = emb.row(i).iter().map(|&x| f64::from(x)).collect();
            let row = &w[emb.labels[i] as usize * d..][..d];
            let norm = f.iter().map(|x| x * x).sum::<f64>().sqrt();
            let cos = f.iter().zip(row).map(|(a, b)| a * b).sum::<f64>() / norm;
            cos.clamp(-1.0, 1.0).acos().to_degrees()
        })
        .collect();
    angles.sort_by(f64::total_cmp);
    let at = 0.9 * (angles.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    let want = angles[lo] + (angles[hi] - angles[lo]) * (at - lo as f64);
    let got = unknown_threshold(&run, 90.0, &compute).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    assert!(run.join("unknown-threshold.json").exists());
    assert_eq!(unknown_threshold(&run, 90.0, &compute).unwrap(), got);
    let judged = predict_files(&run, &files, Threshold::Percentile(90.0), false, &compute).unwrap();
    assert_eq!(judged.threshold_degrees, got);
    for p in &judged.predictions {
        assert_eq!(p.class.is_none(), p.angle_degrees > got);
    }

    // A colour JPEG of another size is read (grey, resized); a broken file names itself.
    let jpeg = tmp.path().join("colour.jpg");
    image::RgbImage::from_pixel(40, 32, image::Rgb([200, 30, 30]))
        .save(&jpeg)
        .unwrap();
    assert_eq!(
        predict_files(&run, &[jpeg], Threshold::Degrees(30.0), false, &compute)
            .unwrap()
            .predictions
            .len(),
        1
    );
    let broken = tmp.path().join("broken.png");
    std::fs::write(&broken, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let err = predict_files(
        &run,
        std::slice::from_ref(&broken),
        Threshold::Degrees(30.0),
        false,
        &compute,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("broken.png: not a readable image"),
        "{err}"
    );
    // Asked to, predict leaves it out, names it, and answers for the others.
    let mut with_broken = files[..3].to_vec();
    with_broken.insert(1, broken.clone());
    let kept = predict_files(
        &run,
        &with_broken,
        Threshold::Degrees(180.0),
        true,
        &compute,
    )
    .unwrap();
    let read: Vec<_> = kept.predictions.iter().map(|p| p.file.clone()).collect();
    assert_eq!(read, files[..3]);
    assert_eq!(kept.skipped.len(), 1);
    assert_eq!(kept.skipped[0].file, broken);
    assert!(kept.skipped[0].problem.contains("not a readable image"));
    let err = predict_files(&run, &[broken], Threshold::Degrees(30.0), true, &compute).unwrap_err();
    assert!(
        err.to_string()
            .contains("none of the 1 image files decoded"),
        "{err}"
    );
}
