/// What a run reports when it starts.
#[derive(Debug, Clone)]
pub struct StartInfo {
    pub trainable_parameters: usize,
    pub head_parameters: usize,
    pub train_images: usize,
    pub test_images: usize,
    pub steps_per_epoch: usize,
    pub epochs: usize,
    /// Where the data came from, and the seconds spent reading and decoding both splits.
    pub data_source: String,
    pub data_load_seconds: f64,
    /// `(epoch, steps already taken in it)` when the run continues from a checkpoint.
    pub resumed_at: Option<(usize, usize)>,
}

/// Progress within an epoch, after each step.
#[derive(Debug, Clone)]
pub struct StepProgress {
    pub epoch: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    pub steps_per_epoch: usize,
    /// Running mean loss and accuracy (%) over the epoch so far.
    pub loss: f64,
    pub accuracy: f64,
    pub images_per_second: f64,
    /// Current margin of the margin loss; `None` for the losses without one.
    pub margin_degrees: Option<f64>,
}

/// Receives training events; the CLI draws a progress bar from them.
pub trait TrainObserver {
    fn on_start(&mut self, _info: &StartInfo) {}
    fn on_step(&mut self, _progress: &StepProgress) {}
    fn on_evaluating(&mut self, _epoch: usize) {}
    fn on_epoch(&mut self, _metrics: &super::EpochMetrics) {}
    /// Asked after every step: `true` finishes the step, writes a checkpoint and stops the
    /// run with [`super::TrainError::Interrupted`] (the CLI answers it from Ctrl-C).
    fn should_stop(&mut self) -> bool {
        false
    }
}

/// Ignores every event.
pub struct SilentObserver;

impl TrainObserver for SilentObserver {}
