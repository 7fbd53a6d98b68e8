use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use reponet::train::{EpochMetrics, StartInfo, StepProgress, TrainObserver};
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::flag;

use crate::context::{Output, Verbosity};

/// On standard error: a progress bar on a terminal, plain log lines (every 10 s and per
/// epoch) otherwise, nothing with `-q`.
pub struct ProgressObserver {
    /// Set by Ctrl-C / SIGTERM: finish the step, checkpoint, stop.
    stop: Arc<AtomicBool>,
    bar: Option<ProgressBar>,
    interactive: bool,
    quiet: bool,
    last_line: Instant,
}

impl ProgressObserver {
    pub fn new(stop: Arc<AtomicBool>, out: &Output) -> Self {
        Self {
            stop,
            bar: None,
            interactive: out.interactive,
            quiet: out.verbosity == Verbosity::Quiet,
            last_line: Instant::now(),
        }
    }
}

impl TrainObserver for ProgressObserver {
    fn should_stop(&mut self) -> bool {
        let stop = self.stop.load(Ordering::SeqCst);
        if stop {
            if let Some(bar) = self.bar.take() {
                bar.finish_and_clear();
            }
        }
        stop
    }

    fn on_start(&mut self, info: &StartInfo) {
        if self.quiet {
            return;
        }
        if let Some((epoch, step)) = info.resumed_at {
            eprintln!("continuing at epoch {epoch} after step {step}");
        }
        eprintln!(
            "data: {} (read and decoded in {:.2} s)",
            info.data_source, info.data_load_seconds
        );
        eprintln!(
            "trainable parameters: {} (classifier head: {}); {} train / {} test images, {} steps per epoch",
            info.trainable_parameters,
            info.head_parameters,
            info.train_images,
            info.test_images,
            info.steps_per_epoch
        );
    }

    fn on_step(&mut self, p: &StepProgress) {
        if self.quiet {
            return;
        }
        let mut message = format!(
            "loss {:.4}  acc {:.2} %  {:.0} img/s",
            p.loss, p.accuracy, p.images_per_second
        );
        if let Some(m) = p.margin_degrees {
            message.push_str(&format!("  m {m:.1} deg"));
        }
        if self.interactive {
            let bar = self.bar.get_or_insert_with(|| {
                let bar = ProgressBar::new(p.steps_per_epoch as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "epoch {prefix} [{bar:30}] {pos}/{len} {msg} (eta {eta})",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(p.epoch.to_string());
                bar
            });
            bar.set_position(p.step as u64);
            bar.set_message(message);
        } else if self.last_line.elapsed() >= Duration::from_secs(10) || p.step == p.steps_per_epoch
        {
            self.last_line = Instant::now();
            eprintln!(
                "epoch {} step {}/{}  {message}",
                p.epoch, p.step, p.steps_per_epoch
            );
        }
    }

    fn on_evaluating(&mut self, epoch: usize) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("epoch {epoch}: evaluating on the test set"));
        }
    }

    fn on_epoch(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.quiet {
            return;
        }
        eprintln!(
            "epoch {}: train loss {:.4}, train acc {:.2} %, test acc {:.2} %, {:.0} img/s, {:.0} s",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            m.test_accuracy,
            m.images_per_second,
            m.train_seconds
        );
    }
}

/// The first SIGINT, SIGTERM or SIGUSR1 sets the flag (the run finishes its step,
/// checkpoints and stops); a second one exits at once with status 130. SIGUSR1 is the one
/// OpenMPI's mpirun passes on to its ranks (it ends the job on SIGINT): `kill -USR1` of
/// mpirun checkpoints and stops a data-parallel run.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM, SIGUSR1] {
        // Registered first, so it sees the flag as the earlier signal left it.
        flag::register_conditional_shutdown(signal, 130, stop.clone())?;
        flag::register(signal, stop.clone())?;
    }
    Ok(stop)
}
