//! Memory a job needs against memory the machine has, checked before the work starts, so a
//! dataset or a run too large for this machine is refused with both figures instead of
//! being killed by the OOM killer half-way.

use std::fmt;

/// Environment variable that caps the memory reponet plans with, in bytes or with a unit
/// (`512MiB`, `8GiB`, `2GB`): for a job sharing a machine, and for tests.
pub const MEMORY_LIMIT_ENV: &str = "REPONET_MEMORY_LIMIT";

/// Host memory one image of a training batch needs on the CPU at 28x28 (LeNet++'s
/// activations and their gradients, the convolution kernels' scratch): measured as peak
/// RSS of `reponet bench` at batch 512 (629 MiB) less the data and the binary, rounded up.
/// It grows with the image's area.
pub const TRAIN_BYTES_PER_BATCH_IMAGE_28X28: u64 = 1_200 * 1024;

/// What there is to plan with: the smallest of the memory the kernel says is available
/// (`MemAvailable`), the cgroup's remaining limit and [`MEMORY_LIMIT_ENV`]; `None` where
/// none of them is known (the check is then skipped).
pub fn available_memory() -> Option<u64> {
    [meminfo_available(), cgroup_remaining(), env_limit()]
        .into_iter()
        .flatten()
        .min()
}

/// `Err` with both figures when `needed` bytes exceed [`available_memory`].
pub fn ensure_fits(needed: u64) -> Result<(), MemoryShortfall> {
    match available_memory() {
        Some(available) if needed > available => Err(MemoryShortfall { needed, available }),
        _ => Ok(()),
    }
}

/// More memory needed than there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryShortfall {
    /// Bytes the job needs.
    pub needed: u64,
    /// Bytes available.
    pub available: u64,
}

impl fmt::Display for MemoryShortfall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "needs about {} of memory, and {} is available{}",
            human(self.needed),
            human(self.available),
            if env_limit().is_some() {
                format!(" (${MEMORY_LIMIT_ENV} counts)")
            } else {
                String::new()
            }
        )
    }
}

/// Bytes in MiB or GiB, one decimal.
pub fn human(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.1} MiB")
    }
}

/// `1234`, `512MiB`, `8GiB`, `2GB`, `100kB` (case-insensitive).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit.trim() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some((value * factor as f64) as u64)
}

fn env_limit() -> Option<u64> {
    parse_bytes(&std::env::var(MEMORY_LIMIT_ENV).ok()?)
}

fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// cgroup v2: `memory.max` less `memory.current` of this process's group.
fn cgroup_remaining() -> Option<u64> {
    let group = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = group.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = std::path::Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let max: u64 = read("memory.max")?.trim().parse().ok()?; // "max": no limit
    let current: u64 = read("memory.current")?.trim().parse().ok()?;
    Some(max.saturating_sub(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse() {
        assert_eq!(parse_bytes("1234"), Some(1234));
        assert_eq!(parse_bytes("512MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("8 GiB"), Some(8 << 30));
        assert_eq!(parse_bytes("2GB"), Some(2_000_000_000));
        assert_eq!(parse_bytes("1.5k"), Some(1536));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("5 parsecs"), None);
        assert_eq!(human(3 << 20), "3.0 MiB");
        assert_eq!(human(5 << 30), "5.0 GiB");
    }

    #[test]
    fn this_machine_reports_its_memory() {
        // Linux always has MemAvailable; the figure must be plausible (over 16 MiB).
        if cfg!(target_os = "linux") {
            assert!(available_memory().is_some_and(|b| b > 16 << 20));
        }
    }
}
