//! The progress of many setups at once: at a terminal, a line per setup in flight under a line
//! with the count; in a log, a line per setup as it finishes.

use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::ProgressBar;

use super::{say, screen, spinning, wipe, Ui};

/// Many setups under way.
pub(crate) struct Many {
    ui: Ui,
    what: String,
    total: usize,
    done: AtomicUsize,
    /// At a terminal: the count's line, under which each setup in flight has its own.
    count: Option<ProgressBar>,
}

/// One setup under way: its line at a terminal.
pub(crate) struct Going(Option<ProgressBar>);

impl Ui {
    /// `what` for `total` setups: `Reading the setups of tidb-s3.toml`.
    pub(crate) fn many(&self, what: impl Into<String>, total: usize) -> Many {
        let what = what.into();
        super::said_more();
        let count = self.spinners.then(|| {
            let count = screen().add(ProgressBar::new_spinner());
            spinning(count, &format!("{what}: 0 of {total}"))
        });
        if count.is_none() && !self.quiet {
            say(&format!("{what} ({total}) …"));
        }
        Many {
            ui: self.clone(),
            what,
            total,
            done: AtomicUsize::new(0),
            count,
        }
    }
}

impl Many {
    /// A setup begins: its line shows while it runs.
    pub(crate) fn begin(&self, label: &str) -> Going {
        Going(self.count.as_ref().map(|count| {
            spinning(
                screen().insert_before(count, ProgressBar::new_spinner()),
                label,
            )
        }))
    }

    /// A setup is done: its line goes and the count takes it; in a log, `said` is its line.
    pub(crate) fn end(&self, going: Going, said: &str) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        match (&self.count, going.0) {
            (Some(count), Some(bar)) => {
                wipe(&bar);
                count.set_message(format!("{}: {done} of {}", self.what, self.total));
            }
            _ if !self.ui.quiet => say(&format!("  {said}")),
            _ => {}
        }
    }

    /// Every setup is done: the count's line says so.
    pub(crate) fn finish(self, outcome: &str) {
        if let Some(count) = &self.count {
            wipe(count);
        }
        self.ui
            .info(format!("{} {}: {outcome}", self.ui.green("✓"), self.what));
    }
}

/// A run that ends early (an error, a stop) takes the count's line off the screen too.
impl Drop for Many {
    fn drop(&mut self) {
        if let Some(count) = &self.count {
            wipe(count);
        }
    }
}
