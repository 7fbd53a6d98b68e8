use serde::{Deserialize, Serialize};

/// The shape of one image, and so of the network's input: channels x rows x columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageShape {
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Height in pixels.
    pub rows: usize,
    /// Width in pixels.
    pub cols: usize,
}

impl ImageShape {
    /// The MNIST family's 28 x 28 grey images (and every run saved before shapes were
    /// recorded).
    pub const MNIST: Self = Self {
        channels: 1,
        rows: 28,
        cols: 28,
    };

    /// Values per image.
    pub fn len(&self) -> usize {
        self.channels * self.rows * self.cols
    }

    /// Whether an image holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for ImageShape {
    fn default() -> Self {
        Self::MNIST
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.channels, self.rows, self.cols)
    }
}

/// Images with class labels, held as bytes (one byte a pixel and channel), or precomputed
/// features.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// `len * channels * rows * cols` values, image after image, each channel's plane
    /// after the other's (the network's layout).
    pub pixels: Vec<u8>,
    /// Label of each image.
    pub labels: Vec<u8>,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Image height in pixels.
    pub rows: usize,
    /// Image width in pixels.
    pub cols: usize,
    /// Number of classes the labels range over.
    pub classes: usize,
    /// A `features:` dataset's rows instead of pixels (`len * channels` values, rows and
    /// columns 1, `pixels` empty); empty for images.
    pub features: Vec<f32>,
}

impl ImageSet {
    /// Precomputed features (`dim` values a row) with their labels.
    pub fn of_features(features: Vec<f32>, labels: Vec<u8>, dim: usize, classes: usize) -> Self {
        Self {
            pixels: Vec::new(),
            labels,
            channels: dim,
            rows: 1,
            cols: 1,
            classes,
            features,
        }
    }

    /// Whether it holds features, not images.
    pub fn is_features(&self) -> bool {
        !self.features.is_empty()
    }

    /// The values of feature row `i`.
    pub fn feature_row(&self, i: usize) -> &[f32] {
        let s = self.image_size();
        &self.features[i * s..(i + 1) * s]
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per image (`channels * rows * cols`).
    pub fn image_size(&self) -> usize {
        self.shape().len()
    }

    /// The shape of each image.
    pub fn shape(&self) -> ImageShape {
        ImageShape {
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
        }
    }

    /// The values of image `i`, channel planes in turn, each row-major.
    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.image_size();
        &self.pixels[i * s..(i + 1) * s]
    }

    /// The first `n` images (all of them if `n` is larger).
    pub fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * self.image_size());
        self.features.truncate(n * self.image_size());
        self
    }

    /// The first `limit` images, or all of them without a limit.
    pub fn limited(self, limit: Option<usize>) -> Self {
        match limit {
            Some(n) => self.truncated(n),
            None => self,
        }
    }

    /// Images per class, indexed by class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }
}

impl ImageSet {
    /// Transpose every image in place (EMNIST stores them column-major).
    pub fn transpose_images(&mut self) {
        let (rows, cols) = (self.rows, self.cols);
        let mut buf = vec![0u8; rows * cols];
        for image in self.pixels.chunks_exact_mut(rows * cols) {
            for r in 0..rows {
                for c in 0..cols {
                    buf[c * rows + r] = image[r * cols + c];
                }
            }
            image.copy_from_slice(&buf);
        }
        (self.rows, self.cols) = (cols, rows);
    }

    /// The images whose index satisfies `keep`, in order.
    pub fn select(&self, keep: impl Fn(usize) -> bool) -> Self {
        let s = self.image_size();
        let (mut pixels, mut features, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for i in (0..self.len()).filter(|&i| keep(i)) {
            if self.is_features() {
                features.extend_from_slice(self.feature_row(i));
            } else {
                pixels.extend_from_slice(&self.pixels[i * s..(i + 1) * s]);
            }
            labels.push(self.labels[i]);
        }
        Self {
            pixels,
            features,
            labels,
            channels: self.channels,
            rows: self.rows,
            cols: self.cols,
            classes: self.classes,
        }
    }

    /// The images of every class but `held_out`, relabelled 0.. in class order (the classes
    /// a model trained without `held_out` knows).
    pub fn without_classes(&self, held_out: &[usize]) -> Self {
        if held_out.is_empty() {
            return self.clone();
        }
        let mut new_label = vec![None; self.classes.max(256)];
        let mut next = 0u8;
        for (class, slot) in new_label.iter_mut().enumerate().take(self.classes) {
            if !held_out.contains(&class) {
                *slot = Some(next);
                next += 1;
            }
        }
        let mut kept = self.select(|i| new_label[self.labels[i] as usize].is_some());
        for label in &mut kept.labels {
            *label = new_label[*label as usize].expect("selected");
        }
        kept.classes = next as usize;
        kept
    }

    /// The images of the classes `only`, labels unchanged.
    pub fn only_classes(&self, only: &[usize]) -> Self {
        self.select(|i| only.contains(&(self.labels[i] as usize)))
    }

    /// Pixel mean and standard deviation (pixels scaled to [0, 1]) over every channel, in
    /// float64; for colour images also each channel's own.
    /// Features are used as they are (mean 0, std 1: no change).
    pub fn normalization(&self) -> Normalization {
        if self.is_features() {
            return Normalization::uniform(0.0, 1.0);
        }
        let plane = self.rows * self.cols;
        let mut histograms = vec![[0u64; 256]; self.channels];
        for image in self.pixels.chunks_exact(self.image_size().max(1)) {
            for (c, values) in image.chunks_exact(plane).enumerate() {
                for &p in values {
                    histograms[c][p as usize] += 1;
                }
            }
        }
        let mut all = [0u64; 256];
        for h in &histograms {
            for (a, n) in all.iter_mut().zip(h) {
                *a += n;
            }
        }
        let (mean, std) = mean_std(&all);
        let per_channel = (self.channels == 3).then(|| {
            let stats: Vec<(f64, f64)> = histograms.iter().map(mean_std).collect();
            ChannelStats {
                mean: [stats[0].0, stats[1].0, stats[2].0],
                std: [stats[0].1, stats[1].1, stats[2].1],
            }
        });
        Normalization {
            mean,
            std,
            per_channel,
        }
    }
}

/// Mean and standard deviation (at least 1e-6) of the values counted in `histogram`, scaled
/// to [0, 1].
fn mean_std(histogram: &[u64; 256]) -> (f64, f64) {
    let n = histogram.iter().sum::<u64>().max(1) as f64;
    let mean = (0..256)
        .map(|v| v as f64 * histogram[v] as f64)
        .sum::<f64>()
        / n
        / 255.0;
    let var = (0..256)
        .map(|v| (v as f64 / 255.0 - mean).powi(2) * histogram[v] as f64)
        .sum::<f64>()
        / n;
    (mean, var.sqrt().max(1e-6))
}

/// Which part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum DataSplit {
    /// The training split.
    Train,
    /// The test split.
    Test,
}

impl DataSplit {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// Input standardisation: `(pixel / 255 - mean) / std`, with each channel's own mean and
/// std for colour images where they were measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    /// Mean pixel value of the training set (pixels in [0, 1]).
    pub mean: f64,
    /// Standard deviation of the pixel values.
    pub std: f64,
    /// Red, green and blue's own (runs saved before: none, every channel the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_channel: Option<ChannelStats>,
}

impl Normalization {
    /// The same mean and std for every channel.
    pub const fn uniform(mean: f64, std: f64) -> Self {
        Self {
            mean,
            std,
            per_channel: None,
        }
    }

    /// `(mean, std)` of channel `c` of images with `channels` channels.
    pub fn channel(&self, c: usize, channels: usize) -> (f64, f64) {
        match &self.per_channel {
            Some(stats) if channels == 3 => (stats.mean[c], stats.std[c]),
            _ => (self.mean, self.std),
        }
    }
}

/// Per-channel mean and standard deviation of colour images (pixels in [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChannelStats {
    /// Red, green, blue.
    pub mean: [f64; 3],
    /// Red, green, blue.
    pub std: [f64; 3],
}
