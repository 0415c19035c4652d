//! Diagnostics on stderr, by verbosity. Nothing secret is ever passed here.

use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

/// -1 for `-q`, 0 by default, 1 and up for `-v`.
pub fn set_level(level: i8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// A line for `-v`: which AWS call, with what outcome.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        if $crate::log::level() >= 1 {
            eprintln!("debug: {}", format_args!($($arg)*));
        }
    };
}
