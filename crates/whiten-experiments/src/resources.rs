//! Memory a run will need, estimated from its parameters before any work, and the limit it
//! is checked against.
//!
//! Each kind estimates its peak resident memory ([`crate::Experiment::memory`]) from the
//! sizes in its parameters and the number of tasks that run at once (at most the worker
//! threads). The estimates are upper bounds calibrated on measured peaks (`/usr/bin/time`):
//!
//! * paper 1, dense matrices of size `(n + k)^2` per task: learning loops keep at most 3 of
//!   them (measured 2.9 at n = k = 2000, offline; 1.2 online), the integrators 16 (the stages
//!   of DOP853: measured 13.4 at n = k = 800);
//! * paper 2, doubles per image pixel per task: 12 for 1D signals (measured 11), 48 for pairs
//!   at several offsets (measured 42 at a 1024 crop).
//!
//! [`check_memory`] refuses a run whose estimate exceeds the limit: `--max-memory` when given,
//! otherwise the memory the system reports available (`MemAvailable` of `/proc/meminfo`; no
//! limit where it cannot be read).

use std::fmt;

use crate::config::Loaded;
use crate::error::ExperimentError;

/// Memory every run needs besides its data (the binary, thread stacks, figures).
pub const BASE_BYTES: f64 = 64e6;

/// An estimate of a run's peak memory and what it is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryEstimate {
    /// Peak resident bytes (a float: absurd parameters must not overflow).
    pub bytes: f64,
    /// The parameters it follows from, for the message (`n = 20000, k = 20000, 2 tasks at
    /// once, 3 matrices of (n + k)^2 doubles each`).
    pub basis: String,
}

impl MemoryEstimate {
    /// `per_task` bytes for each of `tasks_at_once` tasks, plus [`BASE_BYTES`].
    pub fn tasks(per_task: f64, tasks_at_once: usize, basis: impl Into<String>) -> Self {
        Self {
            bytes: BASE_BYTES + per_task * tasks_at_once.max(1) as f64,
            basis: basis.into(),
        }
    }

    /// `matrices` dense `f64` matrices of size `(n + k)^2` per task, for paper 1's networks.
    pub fn dense(n: usize, k: usize, matrices: f64, tasks: usize, threads: usize) -> Self {
        let side = n as f64 + k as f64;
        let at_once = tasks.min(threads).max(1);
        Self::tasks(
            matrices * side * side * 8.0,
            at_once,
            format!(
                "n = {n}, k = {k}: {matrices} matrices of (n + k)^2 doubles per task, {at_once} task(s) at once"
            ),
        )
    }

    /// `per_pixel` doubles per pixel of a `crop x crop` image per task, for paper 2.
    pub fn pixels(crop: usize, per_pixel: f64, tasks: usize, threads: usize) -> Self {
        let px = crop as f64 * crop as f64;
        let at_once = tasks.min(threads).max(1);
        Self::tasks(
            per_pixel * px * 8.0,
            at_once,
            format!(
                "crop = {crop}: {per_pixel} doubles per pixel per task, {at_once} task(s) at once"
            ),
        )
    }
}

impl fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", format_bytes(self.bytes), self.basis)
    }
}

/// Where a memory limit comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitSource {
    /// The user's `--max-memory`.
    Given,
    /// What the system reports available now.
    Available,
}

/// A memory limit in bytes and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: f64,
    /// Its origin.
    pub source: LimitSource,
}

impl MemoryLimit {
    /// `given` when set, else the available memory; `None` when neither is known.
    pub fn resolve(given: Option<f64>) -> Option<Self> {
        match given {
            Some(bytes) => Some(Self {
                bytes,
                source: LimitSource::Given,
            }),
            None => available_memory().map(|bytes| Self {
                bytes,
                source: LimitSource::Available,
            }),
        }
    }
}

impl fmt::Display for MemoryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            LimitSource::Given => {
                write!(f, "the limit {} (--max-memory)", format_bytes(self.bytes))
            }
            LimitSource::Available => write!(
                f,
                "the {} of memory available (MemAvailable; --max-memory sets another limit)",
                format_bytes(self.bytes)
            ),
        }
    }
}

/// The memory the system reports available (`MemAvailable` in `/proc/meminfo`), if known.
pub fn available_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: f64 = line
        .trim_start_matches("MemAvailable:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024.0)
}

/// Parses a size: a number of bytes with an optional unit `K`, `M`, `G`, `T` (powers of 1024,
/// with or without a trailing `B`/`iB`, any case): `512M`, `8G`, `1.5GiB`, `100000`.
pub fn parse_size(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size (examples: 512M, 8G, 1.5GiB)"))?;
    let scale = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0f64.powi(2),
        "g" | "gb" | "gib" => 1024.0f64.powi(3),
        "t" | "tb" | "tib" => 1024.0f64.powi(4),
        other => {
            return Err(format!(
                "`{text}`: unknown unit `{other}` (use K, M, G or T)"
            ));
        }
    };
    let bytes = value * scale;
    if !(bytes.is_finite() && bytes > 0.0) {
        return Err(format!("`{text}`: a memory limit must be positive"));
    }
    Ok(bytes)
}

/// `bytes` with a binary unit: `38.1 GiB`.
pub fn format_bytes(bytes: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Refuses `loaded` when its memory estimate for `threads` worker threads exceeds `limit`.
/// The error names the estimate, what it follows from, and the limit.
pub fn check_memory(
    loaded: &Loaded,
    threads: usize,
    limit: Option<MemoryLimit>,
) -> Result<Option<MemoryEstimate>, ExperimentError> {
    let estimate = loaded.experiment.memory(threads.max(1));
    if let (Some(e), Some(l)) = (&estimate, limit)
        && e.bytes > l.bytes
    {
        let source = std::fs::read_to_string(&loaded.path).unwrap_or_default();
        let (line, column) = crate::config::locate_field(&source, "params", None).unwrap_or((1, 1));
        return Err(ExperimentError::TooLarge {
            path: loaded.path.clone(),
            line,
            column,
            estimate: e.to_string(),
            limit: l.to_string(),
        });
    }
    Ok(estimate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("100000").unwrap(), 1e5);
        assert_eq!(parse_size("512M").unwrap(), 512.0 * 1024.0 * 1024.0);
        assert_eq!(parse_size("1.5GiB").unwrap(), 1.5 * 1024f64.powi(3));
        assert_eq!(parse_size("8 gb").unwrap(), 8.0 * 1024f64.powi(3));
        for bad in ["", "G", "-1G", "0", "12X", "1e400", "nan"] {
            assert!(parse_size(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bytes_format_with_binary_units() {
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_bytes(1536.0), "1.5 KiB");
        assert_eq!(format_bytes(38.1 * 1024f64.powi(3)), "38.1 GiB");
    }

    #[test]
    fn dense_estimates_grow_with_size_and_concurrency() {
        let one = MemoryEstimate::dense(2000, 2000, 3.0, 6, 1);
        // measured peak: 387 MB for one task of offline learning at n = k = 2000
        assert!(one.bytes > 387e6 && one.bytes < 3.0 * 387e6, "{one}");
        let two = MemoryEstimate::dense(2000, 2000, 3.0, 6, 2);
        assert!(two.bytes > one.bytes);
        // never more tasks at once than there are tasks
        assert_eq!(MemoryEstimate::dense(2000, 2000, 3.0, 1, 8), one);
        // no overflow on absurd sizes
        assert!(
            MemoryEstimate::dense(usize::MAX, usize::MAX, 3.0, 1, 1)
                .bytes
                .is_finite()
        );
    }
}
