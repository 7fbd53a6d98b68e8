/// What a run reports when it starts.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// Trainable parameters of the network.
    pub trainable_parameters: usize,
    /// Of those, in the head.
    pub head_parameters: usize,
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Steps in one epoch.
    pub steps_per_epoch: usize,
    /// Epochs to train.
    pub epochs: usize,
    /// Where the data came from, and the seconds spent reading and decoding both splits.
    pub data_source: String,
    /// Seconds spent reading and decoding both splits.
    pub data_load_seconds: f64,
    /// `(epoch, steps already taken in it)` when the run continues from a checkpoint.
    pub resumed_at: Option<(usize, usize)>,
}

/// Progress within an epoch, after each step.
#[derive(Debug, Clone)]
pub struct StepProgress {
    /// The epoch (1-based).
    pub epoch: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    /// Steps in one epoch.
    pub steps_per_epoch: usize,
    /// Running mean loss and accuracy (%) over the epoch so far.
    pub loss: f64,
    /// Running accuracy (%).
    pub accuracy: f64,
    /// Training throughput of the last step.
    pub images_per_second: f64,
    /// Current margin of the margin loss; `None` for the losses without one.
    pub margin_degrees: Option<f64>,
}

/// Receives training events; the CLI draws a progress bar from them.
pub trait TrainObserver {
    /// Training starts.
    fn on_start(&mut self, _info: &StartInfo) {}
    /// A step finished.
    fn on_step(&mut self, _progress: &StepProgress) {}
    /// The test pass of `epoch` starts.
    fn on_evaluating(&mut self, _epoch: usize) {}
    /// An epoch finished and was evaluated.
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
