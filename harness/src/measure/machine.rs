//! The machine a performance run measures on, and where its load runs.
//!
//! With four or more CPUs available, the reference servers (the child
//! process) get the upper half and the load generator's threads the lower
//! half, so neither steals the other's cores and the server's figures are its
//! own. With fewer, splitting would halve both; they share the CPUs and every
//! report says that its figures include that contention.

use authbench_reports::compare::Machine;
use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

/// The fewest CPUs the generator and the server are pinned apart on.
pub const PIN_FROM: usize = 4;

/// Where the generator and the server run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Disjoint CPU sets (ids).
    Pinned {
        /// The load generator's CPUs.
        generator: Vec<usize>,
        /// The server's CPUs.
        server: Vec<usize>,
    },
    /// Both on every CPU.
    Shared(usize),
    /// The target runs outside authbench.
    External,
}

/// The CPUs this process may run on.
pub fn allowed_cpus() -> Vec<usize> {
    match sched_getaffinity(None) {
        Ok(set) => (0..CpuSet::MAX_CPU).filter(|&i| set.is_set(i)).collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

/// How `cpus` are shared out when authbench starts the server itself.
pub fn split(cpus: &[usize]) -> Placement {
    if cpus.len() < PIN_FROM {
        return Placement::Shared(cpus.len());
    }
    let half = cpus.len() / 2;
    Placement::Pinned { generator: cpus[..half].to_vec(), server: cpus[half..].to_vec() }
}

/// The placement for a run: pinned or shared for the reference servers as a
/// child process, external for a `--target`.
pub fn placement(child_server: bool) -> Placement {
    if child_server { split(&allowed_cpus()) } else { Placement::External }
}

fn set_of(cpus: &[usize]) -> CpuSet {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c);
    }
    set
}

/// Pins the calling thread to `cpus` (a generator thread); failures are
/// ignored: an unpinned thread measures as the shared case does.
pub fn pin_current_thread(cpus: &[usize]) {
    if !cpus.is_empty() {
        let _ = sched_setaffinity(None, &set_of(cpus));
    }
}

impl Placement {
    /// The generator's CPUs, when pinned.
    pub fn generator(&self) -> Option<&[usize]> {
        match self {
            Placement::Pinned { generator, .. } => Some(generator),
            _ => None,
        }
    }

    /// The server's CPUs, when pinned.
    pub fn server(&self) -> Option<&[usize]> {
        match self {
            Placement::Pinned { server, .. } => Some(server),
            _ => None,
        }
    }

    /// One sentence for the reports.
    pub fn describe(&self) -> String {
        let list = |c: &[usize]| c.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
        match self {
            Placement::Pinned { generator, server } => format!(
                "The load generator ran on CPUs {} and the reference servers on CPUs {}.",
                list(generator),
                list(server)
            ),
            Placement::Shared(n) => format!(
                "The load generator and the reference servers shared all {n} CPUs (fewer than {PIN_FROM}, too few to pin apart): the figures include their contention."
            ),
            Placement::External => {
                "The target runs outside authbench; the load generator shared this machine's CPUs with whatever else runs on it.".to_owned()
            }
        }
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// The machine, as far as Linux tells.
pub fn machine(placement: &Placement) -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    });
    Machine {
        cpus: allowed_cpus().len(),
        cpu_model,
        kernel: read("/proc/sys/kernel/osrelease"),
        governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        placement: placement.describe(),
    }
}

/// Starts `command` on `cpus`: the calling thread takes that set for the
/// moment of the spawn (a child inherits its parent thread's affinity, for
/// every thread it will start), then gets its own set back.
pub fn spawn_on(
    command: &mut std::process::Command,
    cpus: Option<&[usize]>,
) -> std::io::Result<std::process::Child> {
    let Some(cpus) = cpus.filter(|c| !c.is_empty()) else { return command.spawn() };
    let before = sched_getaffinity(None);
    let _ = sched_setaffinity(None, &set_of(cpus));
    let child = command.spawn();
    if let Ok(before) = before {
        let _ = sched_setaffinity(None, &before);
    }
    child
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_cpus_are_shared_and_said_so() {
        assert_eq!(split(&[0, 1]), Placement::Shared(2));
        assert!(split(&[0, 1]).describe().contains("include their contention"));
        assert_eq!(split(&[0, 1]).generator(), None);
    }

    #[test]
    fn four_or_more_are_split_in_halves() {
        let p = split(&[0, 1, 2, 3, 4, 5]);
        assert_eq!(p.generator(), Some(&[0, 1, 2][..]));
        assert_eq!(p.server(), Some(&[3, 4, 5][..]));
        assert!(p.describe().contains("CPUs 0,1,2"), "{}", p.describe());
    }

    #[test]
    fn the_machine_is_read() {
        let m = machine(&Placement::External);
        assert!(m.cpus >= 1);
        assert!(m.kernel.is_some(), "Linux tells its kernel release");
        assert!(m.describe().starts_with("Machine: "));
    }
}
