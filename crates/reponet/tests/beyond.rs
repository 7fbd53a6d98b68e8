//! Stationarity drift, the per-epoch charts, the grid's stand-in and setting checks, and
//! the head benchmark's accounting, against hand-built cases.

use std::path::PathBuf;

use reponet::analysis::plot::curves::{line_chart, LineChart, Series};
use reponet::analysis::plot::ImageFormat;
use reponet::bench::head_phase;
use reponet::nn::HeadKind;
use reponet::reproduce::{plan, same_setting, Experiment, GridOptions, FIG5_DATASET};
use reponet::train::class_mean_drift;

#[test]
fn drift_is_the_angle_each_class_mean_moved() {
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let before = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0], vec![]];
    let after = vec![vec![0.0, 1.0], vec![0.0, 1.0], vec![s, s], vec![1.0, 0.0]];
    let drift = class_mean_drift(&before, &after);
    let want = [90.0, 0.0, 45.0, 0.0]; // a class without images moves 0
    for (got, want) in drift.iter().zip(want) {
        assert!((got - want).abs() < 1e-9, "{drift:?}");
    }
}

#[test]
fn line_chart_draws_pngs_and_nothing_for_no_points() {
    let chart = LineChart {
        title: "t".into(),
        x_label: "epoch".into(),
        y_label: "y".into(),
        series: vec![
            Series {
                name: "a".into(),
                points: vec![(1.0, 97.0), (2.0, 98.5), (3.0, 98.9)],
            },
            Series {
                name: "one point".into(),
                points: vec![(1.0, 50.0)],
            },
        ],
    };
    let png = line_chart(&chart, ImageFormat::Png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = String::from_utf8(line_chart(&chart, ImageFormat::Svg).unwrap()).unwrap();
    assert!(svg.contains("one point"));
    let empty = LineChart {
        series: vec![],
        ..chart
    };
    assert!(line_chart(&empty, ImageFormat::Png).is_none());
}

fn options(fig5_dataset: &str) -> GridOptions {
    GridOptions {
        experiments: vec![Experiment::Fig5],
        epochs: 3,
        quick: false,
        data_dir: Some(PathBuf::from("/data")),
        fig5_dataset: fig5_dataset.into(),
    }
}

#[test]
fn fig5_stand_in_is_named_as_one() {
    let paper: Vec<String> = plan(&options(FIG5_DATASET))
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(
        paper,
        ["fig5-emnist-cube-fixed", "fig5-emnist-cube-learnable"]
    );
    let standin = plan(&options("fashion-mnist"));
    let names: Vec<&str> = standin.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "fig5-standin-fashion-mnist-cube-fixed",
            "fig5-standin-fashion-mnist-cube-learnable"
        ]
    );
    assert!(standin.iter().all(|r| r.config.dataset == "fashion-mnist"));
}

#[test]
fn same_setting_ignores_only_where_the_data_was_read() {
    let planned = plan(&options(FIG5_DATASET)).remove(0).config;
    let mut found = planned.clone();
    found.data_dir = Some(PathBuf::from("/elsewhere"));
    assert!(same_setting(&planned, &found));
    found.epochs = 10;
    assert!(!same_setting(&planned, &found));
}

#[test]
fn head_benchmark_accounts_parameters_and_optimizer_state() {
    let (k, d) = (40, 8);
    let fixed = head_phase(&Default::default(), k, d, HeadKind::Fixed, 16, 0, 1);
    let learnable = head_phase(&Default::default(), k, d, HeadKind::Learnable, 16, 0, 1);
    assert_eq!(fixed.trainable_parameters, 0);
    assert_eq!(fixed.optimizer_state_bytes, 0);
    assert!(fixed.vertices.starts_with("spread"), "{}", fixed.vertices);
    assert_eq!(learnable.trainable_parameters, k * d);
    assert_eq!(learnable.optimizer_state_bytes, 2 * 4 * k * d);
    assert_eq!(fixed.weight_bytes, learnable.weight_bytes);
    for r in [&fixed, &learnable] {
        assert!(r.median_step_seconds.is_finite() && r.median_step_seconds > 0.0);
    }
}

#[test]
fn holdout_settings_parse_and_resolve() {
    use reponet::train::HoldoutSetting;
    assert_eq!(
        "3".parse::<HoldoutSetting>().unwrap(),
        HoldoutSetting::Count(3)
    );
    assert_eq!(
        "1, 4,7".parse::<HoldoutSetting>().unwrap(),
        HoldoutSetting::Classes(vec![1, 4, 7])
    );
    assert_eq!(
        "7,".parse::<HoldoutSetting>().unwrap(),
        HoldoutSetting::Classes(vec![7])
    );
    assert!("x".parse::<HoldoutSetting>().is_err());
    // Counts draw distinct, sorted classes from the seed: the same seed, the same classes.
    let a = HoldoutSetting::Count(3).resolve(10, 0).unwrap();
    assert_eq!(a.len(), 3);
    assert!(a.windows(2).all(|w| w[0] < w[1]) && a.iter().all(|&c| c < 10));
    assert_eq!(a, HoldoutSetting::Count(3).resolve(10, 0).unwrap());
    let seeds: std::collections::HashSet<Vec<usize>> = (0..8)
        .map(|s| HoldoutSetting::Count(3).resolve(10, s).unwrap())
        .collect();
    assert!(
        seeds.len() > 1,
        "different seeds hold out different classes"
    );
    assert_eq!(
        HoldoutSetting::Classes(vec![7, 1, 7])
            .resolve(10, 0)
            .unwrap(),
        [1, 7]
    );
    assert!(HoldoutSetting::Classes(vec![10]).resolve(10, 0).is_err());
    assert!(HoldoutSetting::Count(9).resolve(10, 0).is_err());
    assert!(HoldoutSetting::Count(0).resolve(10, 0).is_err());
}

#[test]
fn without_classes_relabels_and_only_classes_keeps_labels() {
    use reponet::data::ImageSet;
    let set = ImageSet {
        pixels: (0..6).collect(),
        labels: vec![0, 1, 2, 3, 1, 3],
        channels: 1,
        rows: 1,
        cols: 1,
        classes: 4,
        features: Vec::new(),
    };
    let seen = set.without_classes(&[1]);
    assert_eq!(seen.labels, [0, 1, 2, 2]); // classes 0, 2, 3 become 0, 1, 2
    assert_eq!(seen.pixels, [0, 2, 3, 5]);
    assert_eq!(seen.classes, 3);
    let unseen = set.only_classes(&[1]);
    assert_eq!((unseen.labels, unseen.pixels), (vec![1, 1], vec![1, 4]));
    assert_eq!(set.without_classes(&[]), set);
}

/// Two classes put every polytope on a line (d = 1), where a unit-length feature is +1 or
/// -1 and has no gradient: refused for the cosine and margin losses, with a way out.
#[test]
fn two_classes_on_a_line_are_refused_for_unit_features() {
    use reponet::geometry::PolytopeKind;
    use reponet::nn::LossKind;
    use reponet::train::{HoldoutSetting, TrainConfig};
    let two = TrainConfig {
        dataset: "mnist-sample".into(),
        holdout_classes: Some(HoldoutSetting::Classes((2..10).collect())),
        ..TrainConfig::paper_defaults(None)
    };
    for polytope in [
        PolytopeKind::Simplex,
        PolytopeKind::Orthoplex,
        PolytopeKind::Cube,
    ] {
        let e = TrainConfig {
            polytope,
            ..two.clone()
        }
        .resolve()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("d = 1") && e.contains("--polytope polygon"),
            "{e}"
        );
    }
    let softmax = TrainConfig {
        loss: LossKind::Softmax,
        ..two.clone()
    };
    assert_eq!(softmax.resolve().unwrap().dim, 1);
    let polygon = TrainConfig {
        polytope: PolytopeKind::Polygon,
        ..two
    };
    assert_eq!(polygon.resolve().unwrap().dim, 2);
}
