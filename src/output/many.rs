//! The progress of many setups at once: at a terminal, a line per setup in flight under a line
//! with the count; in a log, a line per setup as it finishes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Ui;

/// Many setups under way.
pub(crate) struct Many {
    ui: Ui,
    what: String,
    total: usize,
    done: AtomicUsize,
    /// At a terminal: the lines, and the count's own line.
    bars: Option<(MultiProgress, ProgressBar)>,
}

/// One setup under way: its line at a terminal.
pub(crate) struct Going(Option<ProgressBar>);

fn spinner() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg}")
        .expect("a valid template")
        .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
}

impl Ui {
    /// `what` for `total` setups: `Reading the setups of tidb-s3.toml`.
    pub(crate) fn many(&self, what: impl Into<String>, total: usize) -> Many {
        let what = what.into();
        super::said_more();
        let bars = self.spinners.then(|| {
            let multi = MultiProgress::new();
            let count = multi.add(ProgressBar::new_spinner());
            count.set_style(spinner());
            count.enable_steady_tick(Duration::from_millis(80));
            count.set_message(format!("{what}: 0 of {total}"));
            (multi, count)
        });
        if bars.is_none() && !self.quiet {
            eprintln!("{what} ({total}) …");
        }
        Many {
            ui: self.clone(),
            what,
            total,
            done: AtomicUsize::new(0),
            bars,
        }
    }
}

impl Many {
    /// A setup begins: its line shows while it runs.
    pub(crate) fn begin(&self, label: &str) -> Going {
        Going(self.bars.as_ref().map(|(multi, count)| {
            let bar = multi.insert_before(count, ProgressBar::new_spinner());
            bar.set_style(spinner());
            bar.enable_steady_tick(Duration::from_millis(80));
            bar.set_message(label.to_string());
            bar
        }))
    }

    /// A setup is done: its line goes and the count takes it; in a log, `said` is its line.
    pub(crate) fn end(&self, going: Going, said: &str) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        match (&self.bars, going.0) {
            (Some((_, count)), Some(bar)) => {
                bar.finish_and_clear();
                count.set_message(format!("{}: {done} of {}", self.what, self.total));
            }
            _ if !self.ui.quiet => eprintln!("  {said}"),
            _ => {}
        }
    }

    /// Every setup is done: the count's line says so.
    pub(crate) fn finish(self, outcome: &str) {
        if let Some((_, count)) = &self.bars {
            count.finish_and_clear();
        }
        self.ui
            .info(format!("{} {}: {outcome}", self.ui.green("✓"), self.what));
    }
}
