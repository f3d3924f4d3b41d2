//! One summary table per scenario, printed as Markdown so it can go
//! straight into docs/benchmarks.md.

use std::fmt::Write as _;
use std::time::Duration;

use crate::server_proc::ProcStats;

pub struct Report {
    pub title: String,
    rows: Vec<(String, String)>,
}

impl Report {
    pub fn new(title: impl Into<String>) -> Self {
        Report {
            title: title.into(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, metric: impl Into<String>, value: impl Into<String>) {
        self.rows.push((metric.into(), value.into()));
    }

    /// Server CPU over the measured interval and peak RSS.
    pub fn server(&mut self, before: ProcStats, after: ProcStats, wall: Duration) {
        let cpu = after.cpu.saturating_sub(before.cpu);
        self.row(
            "server CPU",
            format!(
                "{:.2} s over {:.2} s wall ({:.0} % of one core)",
                cpu.as_secs_f64(),
                wall.as_secs_f64(),
                100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9)
            ),
        );
        self.row(
            "server peak RSS",
            format!("{:.1} MiB", after.peak_rss_kib as f64 / 1024.0),
        );
    }

    /// Server CPU divided by the deliveries made: the cost that matters
    /// when the server has a core to itself.
    pub fn cpu_per_delivery(&mut self, before: ProcStats, after: ProcStats, deliveries: u64) {
        let cpu = after.cpu.saturating_sub(before.cpu);
        self.row(
            "server CPU per delivery",
            format!("{:.0} ns", cpu.as_nanos() as f64 / deliveries.max(1) as f64),
        );
    }

    /// The three cost rows of a scenario that counts deliveries: server CPU
    /// and memory, CPU per delivery, and the generator's own CPU.
    pub fn costs(
        &mut self,
        server: (ProcStats, ProcStats),
        generator_before: ProcStats,
        wall: Duration,
        deliveries: u64,
    ) {
        let (before, after) = server;
        self.server(before, after, wall);
        self.cpu_per_delivery(before, after, deliveries);
        self.generator(generator_before, crate::server_proc::own_stats(), wall);
    }

    /// Deliveries per second over the time they took to arrive.
    pub fn throughput(&mut self, deliveries: u64, active: Duration) {
        self.row(
            "throughput",
            format!(
                "{:.0} deliveries/s ({:.2} s from first send to last delivery)",
                deliveries as f64 / active.as_secs_f64().max(1e-9),
                active.as_secs_f64()
            ),
        );
    }

    /// The generator's own CPU over the same interval: on a machine shared
    /// by both, a run whose generator uses the rest of the cores measures the
    /// generator, not the server.
    pub fn generator(&mut self, before: ProcStats, after: ProcStats, wall: Duration) {
        let cpu = after.cpu.saturating_sub(before.cpu);
        self.row(
            "generator CPU",
            format!(
                "{:.2} s ({:.0} % of one core)",
                cpu.as_secs_f64(),
                100.0 * cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9)
            ),
        );
    }

    pub fn render(&self) -> String {
        let mut out = format!("### {}\n\n| metric | value |\n|---|---|\n", self.title);
        for (k, v) in &self.rows {
            let _ = writeln!(out, "| {k} | {v} |");
        }
        out
    }
}

pub fn loss(expected: u64, received: u64) -> String {
    let lost = expected.saturating_sub(received);
    format!(
        "expected {expected}, received {received}, lost {lost} ({:.3} %)",
        100.0 * lost as f64 / (expected.max(1)) as f64
    )
}
