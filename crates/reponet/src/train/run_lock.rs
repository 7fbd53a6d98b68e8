//! One writer per run folder: an OS file lock on `RUN/.lock`, held for as long as a
//! training process lives. The kernel drops it when the process ends, however it ends
//! (SIGKILL and power loss included), so a lock is never stale; readers (`eval`, `embed`,
//! `plot`) never take it.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::TrainError;

/// The lock file's name inside a run folder.
pub const LOCK_FILE: &str = ".lock";

/// The exclusive lock of a run folder; released when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct RunLock {
    _file: Arc<File>,
}

impl RunLock {
    /// Take the lock of the folder `root` (which must exist), writing this process's id into
    /// the lock file. A folder locked by another process is refused with that process's id.
    pub fn acquire(root: &Path) -> Result<Self, TrainError> {
        let path = root.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| TrainError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                return Err(TrainError::Busy {
                    path: root.to_path_buf(),
                    pid: if holder.is_empty() {
                        "unknown".into()
                    } else {
                        holder.into()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(TrainError::io(&path, e)),
        }
        // Ours now: record who holds it, for the message a second writer gets.
        file.set_len(0)
            .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
            .map_err(|e| TrainError::io(&path, e))?;
        remove_stale_temporaries(root);
        Ok(Self {
            _file: Arc::new(file),
        })
    }
}

/// Temporary files of atomic writes (`.NAME.tmpPID`) that a killed writer left behind. Only
/// the lock holder calls this, so none of them can belong to a live writer.
fn remove_stale_temporaries(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    let stale: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_temporary(p))
        .collect();
    for path in stale {
        let _ = fs::remove_file(path);
    }
}

/// Whether `path` is a temporary file of [`crate::atomic_file::write_atomic`].
pub fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.contains(".tmp"))
}
