/// Greyscale images with class labels, held as bytes (one byte a pixel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// `len * rows * cols` pixels, image after image.
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
    pub rows: usize,
    pub cols: usize,
    pub classes: usize,
}

impl ImageSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_size(&self) -> usize {
        self.rows * self.cols
    }

    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.image_size();
        &self.pixels[i * s..(i + 1) * s]
    }

    /// The first `n` images (all of them if `n` is larger).
    pub fn truncated(mut self, n: usize) -> Self {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.pixels.truncate(n * self.image_size());
        self
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
