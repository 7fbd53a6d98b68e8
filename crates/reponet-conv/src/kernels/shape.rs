//! The shape of one convolution and the checks every kernel makes on its operands.

/// Shapes of one convolution: input `[n, c, h, w]`, weight `[o, c, kh, kw]`, padding
/// `(ph, pw)` on both sides, stride `(sh, sw)`. Output `[n, o, oh, ow]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub o: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Padding rows above and below.
    pub ph: usize,
    /// Padding columns left and right.
    pub pw: usize,
    /// Stride down the rows (at least 1).
    pub sh: usize,
    /// Stride along the columns (at least 1).
    pub sw: usize,
}

impl ConvShape {
    /// Output height.
    pub fn oh(&self) -> usize {
        (self.h + 2 * self.ph - self.kh) / self.sh + 1
    }
    /// Output width.
    pub fn ow(&self) -> usize {
        (self.w + 2 * self.pw - self.kw) / self.sw + 1
    }
    /// The output size after [`After::pool`] (if set): `(oh, ow)` or their halves.
    pub fn out_size(&self, pool: bool) -> (usize, usize) {
        if pool {
            (self.oh() / 2, self.ow() / 2)
        } else {
            (self.oh(), self.ow())
        }
    }
    /// Elements of one input image.
    pub(super) fn image(&self) -> usize {
        self.c * self.h * self.w
    }
    /// Elements of one output image.
    pub(super) fn out_image(&self) -> usize {
        self.o * self.oh() * self.ow()
    }
    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    pub(super) fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the im2col matrix: one per output pixel.
    pub(super) fn pixels(&self) -> usize {
        self.oh() * self.ow()
    }
    /// Whether the kernel fits in the padded input.
    pub fn is_valid(&self) -> bool {
        self.kh >= 1
            && self.kw >= 1
            && self.sh >= 1
            && self.sw >= 1
            && self.h + 2 * self.ph >= self.kh
            && self.w + 2 * self.pw >= self.kw
    }

    /// The convolution whose output is the gradient w.r.t. this one's input: the output
    /// gradient convolved with the flipped, transposed kernel, padded by k - 1 - p (stride
    /// 1). `None` if the padding exceeds k - 1 or the stride is not 1 (then the gradient is
    /// not such a convolution).
    pub fn transposed(&self) -> Option<ConvShape> {
        let unit = self.sh == 1 && self.sw == 1;
        (unit && self.ph < self.kh && self.pw < self.kw).then(|| ConvShape {
            n: self.n,
            c: self.o,
            h: self.oh(),
            w: self.ow(),
            o: self.c,
            kh: self.kh,
            kw: self.kw,
            ph: self.kh - 1 - self.ph,
            pw: self.kw - 1 - self.pw,
            sh: 1,
            sw: 1,
        })
    }
}

/// Panics unless `x` and `weight` have the lengths `s` gives them (a bug in the caller:
/// the backend extension builds `s` from the tensors themselves).
pub(super) fn check_lengths(s: &ConvShape, x: &[f32], weight: &[f32]) {
    assert!(
        s.is_valid(),
        "conv2d: kernel larger than padded input: {s:?}"
    );
    assert_eq!(x.len(), s.n * s.image(), "conv2d: input length for {s:?}");
    assert_eq!(
        weight.len(),
        s.o * s.patch(),
        "conv2d: weight length for {s:?}"
    );
}
