//! Diagnostics on stderr, through `tracing`: the tool's own lines at `-v` (which AWS call, with
//! what outcome), and the AWS SDK's as well at `-vv` (retries, credential lookups, endpoint
//! resolution). Never below DEBUG: TRACE is where an SDK once printed signing keys
//! (GHSA-mjv9-vp6w-3rc9), so no verbosity reaches it. Nothing secret is passed here; the
//! SDK redacts its credentials and sensitive fields in `Debug`, and the integration tests
//! check that a new key's secret never reaches stderr at `-vv`.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The crates whose DEBUG lines `-vv` shows.
const SDK: &[&str] = &[
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_sdk_cloudformation",
    "aws_sdk_iam",
    "aws_sdk_kms",
    "aws_sdk_s3",
    "aws_sdk_sts",
];

/// What each verbosity shows: -1 for `-q` and 0 show nothing here, 1 (`-v`) the tool's own
/// lines, 2 and up (`-vv`) the SDK's as well.
pub(crate) fn targets(verbosity: i8) -> Targets {
    let mut targets = Targets::new();
    if verbosity >= 1 {
        targets = targets.with_target(env!("CARGO_CRATE_NAME"), Level::DEBUG);
    }
    if verbosity >= 2 {
        targets = targets.with_targets(SDK.iter().map(|t| (*t, Level::DEBUG)));
    }
    targets
}

/// Starts writing diagnostics to stderr at this verbosity.
pub fn init(verbosity: i8) {
    let layer = tracing_subscriber::fmt::layer()
        .event_format(Plain)
        .with_writer(std::io::stderr)
        .with_filter(targets(verbosity));
    // A second call (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// `debug: iam:GetRole r -> arn:…` for the tool's lines; the SDK's name their crate.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let level = meta.level().as_str().to_ascii_lowercase();
        match meta.target().split("::").next() {
            Some(env!("CARGO_CRATE_NAME")) => write!(writer, "{level}: ")?,
            _ => write!(writer, "{level}: {}: ", meta.target())?,
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(verbosity: i8, target: &str, level: Level) -> bool {
        targets(verbosity).would_enable(target, &level)
    }

    #[test]
    fn each_verbosity_shows_its_own_and_never_trace() {
        let ours = env!("CARGO_CRATE_NAME");
        assert!(!shown(0, ours, Level::DEBUG));
        assert!(!shown(-1, ours, Level::DEBUG));
        assert!(shown(1, &format!("{ours}::aws::iam"), Level::DEBUG));
        assert!(!shown(
            1,
            "aws_smithy_runtime::client::retries",
            Level::DEBUG
        ));
        assert!(shown(
            2,
            "aws_smithy_runtime::client::retries",
            Level::DEBUG
        ));
        assert!(shown(2, "aws_config::default_provider", Level::DEBUG));
        for target in [ours, "aws_smithy_runtime", "aws_sigv4", "hyper"] {
            assert!(!shown(9, target, Level::TRACE), "{target}");
        }
        assert!(!shown(9, "hyper", Level::DEBUG));
    }
}
