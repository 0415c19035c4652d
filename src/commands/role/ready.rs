//! `role --wait-ready`: waiting out IAM's propagation before TiDB Cloud is pointed at the role.
//!
//! IAM has one control plane, in us-east-1, which carries every change to each region's data
//! plane after a delay; reading the role back proves only the control plane ("Resilience in
//! AWS IAM", IAM User Guide; "Troubleshoot IAM": changes "take time to become visible", so
//! verify that they have propagated before a workflow depends on them). AWS publishes no
//! bound, and no call can show that STS in TiDB Cloud's region sees the role. What is known:
//! a change usually arrives within seconds and at times takes up to about a minute. So "ready"
//! is a minute after this run's last write to the role; TiDB Cloud checks the role as soon as
//! its console's Next is clicked (pingcap/docs, troubleshoot-import-access-denied-error.md).

use std::time::{Duration, SystemTime};

use crate::signals::Stop;
use crate::Context;

/// How long after its last write a role can be expected to work everywhere.
pub(crate) const READY_AFTER: Duration = Duration::from_secs(60);

/// `time` in RFC 3339, to the second, in UTC.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// What was written: one role, or the roles of a file of setups (waited for from the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    Role,
    Roles,
}

impl Written {
    fn waiting(self) -> &'static str {
        match self {
            Written::Role => "a minute after the role was written, for IAM to carry it",
            Written::Roles => {
                "a minute after the last of the roles was written, for IAM to carry them"
            }
        }
    }

    /// What to tell once the run is done: when IAM can be expected to have carried what was
    /// written (nothing when nothing was written). TiDB Cloud tries the role as soon as its
    /// console's Next is clicked (pingcap/docs, troubleshoot-import-access-denied-error.md).
    pub(crate) fn advice(
        self,
        written_at: Option<&str>,
        ready_at: Option<&str>,
        waited: bool,
    ) -> Option<String> {
        let (written, carried, usable) = match self {
            Written::Role => ("The role was", "it", "it"),
            Written::Roles => ("The last role was", "the roles", "them"),
        };
        match (written_at?, ready_at, waited) {
            (at, _, true) => Some(format!(
                "{written} written at {at}, and IAM has had a minute since to carry {carried} to every region: TiDB Cloud can use {usable} now."
            )),
            (at, Some(ready), false) => Some(format!(
                "{written} written at {at}. IAM takes a moment to reach every region (usually seconds, at times a minute): if TiDB Cloud says \"Cannot assume the provided role\" before {ready}, wait and try again (--wait-ready waits it out)."
            )),
            (_, None, false) => None,
        }
    }

    fn stopped(self) -> &'static str {
        match self {
            Written::Role => "the role is made, but TiDB Cloud may not be able to assume it",
            Written::Roles => {
                "the roles are made, but TiDB Cloud may not be able to assume each of them"
            }
        }
    }
}

/// Waits until [`READY_AFTER`] has passed since `written`, with a line that says until when.
/// A stop (Ctrl-C) ends the wait, not the run: what was written is kept, and the result is
/// reported with a warning. Returns whether the wait ran its course.
pub(crate) async fn wait(ctx: &Context, written: SystemTime, what: Written) -> bool {
    let ready = written + READY_AFTER;
    let left = ready
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    if left.is_zero() {
        return true;
    }
    ctx.stop.end_changes();
    let step = ctx.ui.step(format!(
        "Waiting until {}, {} to every region (--wait-ready)",
        rfc3339(ready),
        what.waiting()
    ));
    match until(left, &ctx.stop).await {
        Ok(()) => {
            step.done("ready");
            true
        }
        Err(signal) => {
            step.fail();
            ctx.ui.warn(format!(
                "stopped waiting ({signal}): {} before {}",
                what.stopped(),
                rfc3339(ready)
            ));
            false
        }
    }
}

/// Sleeps `left`, unless a stop comes first (its signal).
async fn until(left: Duration, stop: &Stop) -> Result<(), &'static str> {
    tokio::select! {
        () = tokio::time::sleep(left) => Ok(()),
        signal = stop.wait() => Err(signal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn it_waits_the_whole_minute_and_no_more() {
        let stop = Stop::default();
        let start = tokio::time::Instant::now();
        until(READY_AFTER, &stop).await.unwrap();
        assert_eq!(start.elapsed(), READY_AFTER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_wait_at_once() {
        let stop = Stop::default();
        let start = tokio::time::Instant::now();
        let stopper = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            stopper.request("SIGINT");
        });
        assert_eq!(until(READY_AFTER, &stop).await, Err("SIGINT"));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[test]
    fn times_are_said_in_utc_to_the_second() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_000_000);
        assert_eq!(rfc3339(t), "2025-12-06T05:46:40Z");
        assert_eq!(rfc3339(t + READY_AFTER), "2025-12-06T05:47:40Z");
    }

    #[test]
    fn the_advice_says_when_what_was_written_can_be_used() {
        let (at, ready) = (Some("2026-12-07T10:00:00Z"), Some("2026-12-07T10:01:00Z"));
        assert_eq!(Written::Role.advice(None, None, false), None);
        let role = Written::Role.advice(at, ready, false).unwrap();
        assert!(
            role.starts_with("The role was written at 2026-12-07T10:00:00Z. ")
                && role.contains("before 2026-12-07T10:01:00Z, wait and try again"),
            "{role}"
        );
        let roles = Written::Roles.advice(at, ready, true).unwrap();
        assert_eq!(
            roles,
            "The last role was written at 2026-12-07T10:00:00Z, and IAM has had a minute since to carry the roles to every region: TiDB Cloud can use them now."
        );
    }
}
