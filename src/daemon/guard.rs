//! The resource guard: keeps the sensor within a CPU and memory budget (by default 85 % of the
//! host, so that at least 15 % stays free for the domain controller). Over budget it raises the
//! shedding level ([`crate::pipeline::shed_class`]: bulk SMB data first, authentication last),
//! which `stats` and metrics report as partial analysis; under budget again it lowers it step
//! by step.

use crate::pipeline::Telemetry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The highest shedding level (authentication, class 4, is never shed).
pub const MAX_LEVEL: u8 = 3;

/// The budget, as fractions of the host.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Fraction of all cores' time (0..1].
    pub cpu: f64,
    /// Fraction of the host's memory (0..1].
    pub memory: f64,
    /// How often usage is sampled.
    pub interval: Duration,
}

/// Process CPU seconds (user + system) so far, from `/proc/self/stat`.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((utime + stime) / hz)
}

/// Resident memory of the process in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    Some(pages * page)
}

/// The host's memory in bytes (`sysinfo(2)`: works where `/proc/meminfo` is hidden, as under
/// the unit's `ProcSubset=pid`).
pub fn host_memory() -> Option<u64> {
    // SAFETY: sysinfo fills the zeroed struct we own.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return None;
    }
    Some(info.totalram as u64 * info.mem_unit.max(1) as u64)
}

/// One step of the guard: the next level given the usage fractions.
pub fn next_level(level: u8, cpu_use: f64, mem_use: f64, budget: &Budget, calm: &mut u32) -> u8 {
    if cpu_use > budget.cpu || mem_use > budget.memory {
        *calm = 0;
        return (level + 1).min(MAX_LEVEL);
    }
    // Come back one level after three calm samples well under budget.
    if cpu_use < budget.cpu * 0.8 && mem_use < budget.memory * 0.9 {
        *calm += 1;
        if *calm >= 3 && level > 0 {
            *calm = 0;
            return level - 1;
        }
    } else {
        *calm = 0;
    }
    level
}

/// Starts the guard thread; it stops when `stop` is set.
pub fn start(
    budget: Budget,
    telemetry: Arc<Telemetry>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("dcsensor-guard".into())
        .spawn(move || {
            let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
            let mem_total = host_memory().unwrap_or(u64::MAX) as f64;
            let mut last = (Instant::now(), cpu_seconds().unwrap_or(0.0));
            let mut calm = 0;
            while !stop.load(Ordering::Relaxed) {
                let wake = Instant::now() + budget.interval;
                while Instant::now() < wake && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(50).min(budget.interval));
                }
                let now = (Instant::now(), cpu_seconds().unwrap_or(last.1));
                let wall = now.0.duration_since(last.0).as_secs_f64().max(1e-3);
                let cpu_use = (now.1 - last.1).max(0.0) / wall / cores;
                let mem_use = rss_bytes().unwrap_or(0) as f64 / mem_total;
                last = now;
                let level = telemetry.shed_level.load(Ordering::Relaxed);
                let next = next_level(level, cpu_use, mem_use, &budget, &mut calm);
                if next != level {
                    if next > level {
                        tracing::warn!(
                            level = next,
                            cpu = format!("{:.0}%", cpu_use * 100.0),
                            memory = format!("{:.0}%", mem_use * 100.0),
                            "over the resource budget: shedding load, some network traffic is not analysed"
                        );
                    } else {
                        tracing::info!(level = next, "back under the resource budget: shedding less");
                    }
                    telemetry.shed_level.store(next, Ordering::Relaxed);
                }
            }
        })
        .expect("spawning the guard thread")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_rise_over_budget_and_fall_after_calm() {
        let b = Budget {
            cpu: 0.5,
            memory: 0.5,
            interval: Duration::from_millis(10),
        };
        let mut calm = 0;
        let mut l = 0;
        for _ in 0..6 {
            l = next_level(l, 0.9, 0.1, &b, &mut calm);
        }
        assert_eq!(l, MAX_LEVEL);
        for expect in [3, 3, 2, 2, 2, 1] {
            l = next_level(l, 0.1, 0.1, &b, &mut calm);
            assert_eq!(l, expect);
        }
        assert_eq!(
            next_level(2, 0.1, 0.6, &b, &mut calm),
            3,
            "memory over budget sheds too"
        );
    }

    #[test]
    fn reads_its_own_usage() {
        assert!(cpu_seconds().is_some());
        let rss = rss_bytes().unwrap();
        assert!(rss > 1024 * 1024 && rss < host_memory().unwrap());
    }
}
