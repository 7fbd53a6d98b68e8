//! Retrieval and verification metrics on hand-built embeddings with known answers (exact:
//! every similarity here is 0 or 1 in float32, and the expected figures are fractions).

use reponet::analysis::{retrieval_metrics, FARS};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

/// Three samples on e1 labelled [0, 0, 1], three on e2 labelled [1, 1, 1] (d = 3, scaled
/// differently: cosine ignores length).
fn one_mislabelled() -> (Vec<f32>, Vec<u8>) {
    let rows: [[f32; 3]; 6] = [
        [1.0, 0.0, 0.0],
        [2.0, 0.0, 0.0],
        [0.5, 0.0, 0.0],
        [0.0, 3.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.1, 0.0],
    ];
    (rows.concat(), vec![0, 0, 1, 1, 1, 1])
}

#[test]
fn perfectly_clustered_embeddings_score_one() {
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for class in 0..3u8 {
        for scale in [1.0f32, 2.0, 5.0, 0.3] {
            let mut row = [0.0f32; 3];
            row[class as usize] = scale;
            features.extend(row);
            labels.push(class);
        }
    }
    let m = retrieval_metrics(&features, 3, &labels, 0);
    assert_eq!(m.queries, 12);
    assert!(close(m.precision_at_1, 1.0) && close(m.r_precision, 1.0) && close(m.map_at_r, 1.0));
    // 3 classes x C(4, 2) positives, all at cosine 1; 48 negatives, all at 0.
    assert_eq!((m.positive_pairs, m.negative_pairs), (18, 48));
    assert_eq!(m.tar_at_far.len(), FARS.len());
    for t in &m.tar_at_far {
        assert_eq!((t.threshold, t.tar), (0.0, 1.0), "{t:?}");
    }
}

#[test]
fn one_mislabelled_sample_by_hand() {
    let (features, labels) = one_mislabelled();
    let m = retrieval_metrics(&features, 3, &labels, 0);
    // Per query (p@1, r/R, AP@R), ties broken by index:
    // q0, q1 (class 0, R = 1): nearest is the other class-0 sample: 1, 1, 1.
    // q2 (class 1 on e1, R = 3): top 3 = 0, 1, 3: 0, 1/3, (1/3)(1/3) = 1/9.
    // q3, q4, q5 (R = 3): two class-1 at cosine 1, then index 0: 1, 2/3, (1/3)(1 + 1) = 2/3.
    assert_eq!(m.queries, 6);
    assert!(close(m.precision_at_1, 5.0 / 6.0), "{m:?}");
    assert!(close(m.r_precision, 13.0 / 18.0), "{m:?}");
    assert!(close(m.map_at_r, 37.0 / 54.0), "{m:?}");
    // Positives: (0,1), (3,4), (3,5), (4,5) at 1; (2,3), (2,4), (2,5) at 0. Negatives: (0,2)
    // and (1,2) at 1, six at 0. At FAR 1e-2 of 8 negatives none may pass: threshold 1, and
    // no positive scores above 1.
    assert_eq!((m.positive_pairs, m.negative_pairs), (7, 8));
    assert_eq!((m.tar_at_far[0].threshold, m.tar_at_far[0].tar), (1.0, 0.0));
}

#[test]
fn labels_swapped_between_classes_change_nothing() {
    // Retrieval depends only on which samples share a label, not on the label values.
    let (features, labels) = one_mislabelled();
    let swapped: Vec<u8> = labels.iter().map(|&l| 1 - l).collect();
    let (a, b) = (
        retrieval_metrics(&features, 3, &labels, 0),
        retrieval_metrics(&features, 3, &swapped, 0),
    );
    assert_eq!(
        (a.precision_at_1, a.r_precision, a.map_at_r),
        (b.precision_at_1, b.r_precision, b.map_at_r)
    );
}

#[test]
fn singleton_classes_are_not_queries() {
    let features = [1.0f32, 0.0, 0.0, 1.0, 1.0, 0.1];
    let m = retrieval_metrics(&features, 2, &[0, 1, 0], 0);
    assert_eq!(m.queries, 2);
    assert!(close(m.precision_at_1, 1.0));
}
