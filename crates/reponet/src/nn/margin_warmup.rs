use serde::{Deserialize, Serialize};

/// Additive angular margin ramped linearly from 0 to its target over the first steps.
///
/// The paper states no warm-up. With m > 90 degrees (the simplex) a from-scratch run
/// collapses without one (SPEC, "measured pitfall"): a random feature starts ~90 degrees
/// from its vertex, beyond the ArcFace seam at pi - m, where the margin logit is flat.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarginWarmup {
    /// Target margin, radians.
    pub target: f64,
    /// Steps over which m rises; 0 means the full margin from the first step.
    pub steps: usize,
}

impl MarginWarmup {
    /// `warmup_epochs` may be fractional; it is rounded down to whole steps.
    pub fn new(target: f64, warmup_epochs: f64, steps_per_epoch: usize) -> Self {
        Self {
            target,
            steps: (warmup_epochs * steps_per_epoch as f64) as usize,
        }
    }

    /// Margin at 0-based `step`: `target * min(1, (step + 1) / steps)`.
    pub fn at(&self, step: usize) -> f64 {
        if self.steps == 0 {
            return self.target;
        }
        self.target * ((step + 1) as f64 / self.steps as f64).min(1.0)
    }
}
