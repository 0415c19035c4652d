//! Waiting for a CloudFormation stack: poll at once, then from 200 ms backing off to every 2 s,
//! stream new events, stop at a final state or at the deadline. The decisions are pure
//! ([`Watch`]) and unit-tested over scripted sequences, since moto completes stacks at once and
//! never rolls back.

use std::collections::HashSet;
use std::time::Duration;

use crate::aws::cloudformation::StackEvent;
use crate::error::AwsError;
use crate::signals::Stop;

/// The default `--timeout` for a stack.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What the wait is for: the final state that counts as success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Goal {
    Create,
    Update,
    Delete,
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ended {
    Succeeded {
        status: String,
    },
    Failed {
        status: String,
        first_failure: Option<StackEvent>,
    },
    TimedOut {
        status: String,
    },
    /// Ctrl-C or SIGTERM while waiting.
    Interrupted {
        status: String,
        signal: &'static str,
    },
}

impl Ended {
    /// One line for the user on a failure: the first failed resource, its reason, and a hint.
    pub(crate) fn explain(&self, stack: &str) -> String {
        match self {
            Ended::Succeeded { status } => format!("stack {stack}: {status}"),
            Ended::Failed {
                status,
                first_failure,
            } => {
                let cause = match first_failure {
                    Some(e) => {
                        let reason = e.reason.as_deref().unwrap_or("no reason given");
                        format!("{} ({}): {reason}{}", e.logical_id, e.resource_type, hint(reason))
                    }
                    None => "no failed resource was reported".into(),
                };
                format!("stack {stack} ended in {status}. First failure: {cause}")
            }
            Ended::Interrupted { status, signal } => {
                format!("interrupted by {signal} while stack {stack} was {status}")
            }
            Ended::TimedOut { status } => format!(
                "stack {stack} is still {status}; it goes on in AWS. Watch it with `aws cloudformation describe-stack-events --stack-name {stack}` and run this command again once it settles, or remove it with `aws cloudformation delete-stack --stack-name {stack}`"
            ),
        }
    }
}

/// A fix for the failures users hit most.
fn hint(reason: &str) -> &'static str {
    if reason.contains("Invalid principal") {
        " → check --tidb-account-id against the TiDB Cloud console"
    } else if reason.contains("already exists") {
        " → a resource of that name exists outside this stack: choose another --role-name"
    } else if reason.contains("not authorized") || reason.contains("AccessDenied") {
        " → the credentials in use lack that permission"
    } else {
        ""
    }
}

/// The state of one wait: which events were shown, and the first failure.
#[derive(Debug)]
pub(crate) struct Watch {
    goal: Goal,
    /// Events at or before this moment belong to earlier operations.
    since_ms: i64,
    seen: HashSet<String>,
    /// The statuses of the stack's own events shown (`AWS::CloudFormation::Stack`).
    stack_statuses: HashSet<String>,
    first_failure: Option<StackEvent>,
}

impl Watch {
    pub(crate) fn new(goal: Goal, since_ms: i64) -> Watch {
        Watch {
            goal,
            since_ms,
            seen: HashSet::new(),
            stack_statuses: HashSet::new(),
            first_failure: None,
        }
    }

    /// Takes a page of events (newest first, as CloudFormation returns them) and returns the
    /// ones not shown yet, oldest first. Remembers the first failure.
    pub(crate) fn new_events(&mut self, page: Vec<StackEvent>) -> Vec<StackEvent> {
        let mut fresh: Vec<StackEvent> = page
            .into_iter()
            .rev()
            .filter(|e| e.timestamp >= self.since_ms && !self.seen.contains(&e.id))
            .collect();
        // Stable: events with the same timestamp keep CloudFormation's order.
        fresh.sort_by_key(|e| e.timestamp);
        for e in &fresh {
            self.seen.insert(e.id.clone());
            if e.resource_type == "AWS::CloudFormation::Stack" {
                self.stack_statuses.insert(e.status.clone());
            }
            if self.first_failure.is_none()
                && e.status.ends_with("_FAILED")
                && e.reason
                    .as_deref()
                    .is_some_and(|r| !r.contains("cancelled"))
            {
                self.first_failure = Some(e.clone());
            }
        }
        fresh
    }

    /// Whether the events shown reach the stack's own event for `status`: the page read beside
    /// a final status can be older than it (the two requests go out together), and the events
    /// it lacks are the last ones, a failure's reason among them.
    pub(crate) fn has_seen(&self, status: &str) -> bool {
        self.stack_statuses.contains(status)
    }

    /// Whether the stack's status ends the wait, and how.
    pub(crate) fn verdict(&self, status: &str) -> Option<Ended> {
        if status.ends_with("_IN_PROGRESS") {
            return None;
        }
        let success = match self.goal {
            Goal::Create => status == "CREATE_COMPLETE",
            Goal::Update => status == "UPDATE_COMPLETE",
            Goal::Delete => status == "DELETE_COMPLETE",
        };
        Some(if success {
            Ended::Succeeded {
                status: status.to_string(),
            }
        } else {
            Ended::Failed {
                status: status.to_string(),
                first_failure: self.first_failure.clone(),
            }
        })
    }
}

/// Where a wait reads the stack from: CloudFormation, or a script in tests.
#[allow(async_fn_in_trait)]
pub(crate) trait StackSource {
    /// The stack's status (`DELETE_COMPLETE` once it is gone) and a page of its events.
    async fn poll(&mut self) -> Result<(String, Vec<StackEvent>), AwsError>;
}

/// Polls until a final state or `timeout`, reporting each new event through `on_event`.
pub(crate) async fn wait(
    source: &mut impl StackSource,
    goal: Goal,
    since_ms: i64,
    timeout: Duration,
    stop: &Stop,
    mut on_event: impl FnMut(&StackEvent),
) -> Result<Ended, AwsError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut watch = Watch::new(goal, since_ms);
    // The first poll goes at once, the next 200 ms later, then each twice as late up to 2 s:
    // a stack that settles fast is seen fast, and a slow one is asked every 2 s.
    let mut delay = Duration::from_millis(200);
    loop {
        let (status, events) = source.poll().await?;
        for e in watch.new_events(events) {
            on_event(&e);
        }
        if let Some(ended) = watch.verdict(&status) {
            // A deleted stack's events are not read by its name any more.
            if watch.has_seen(&status) || status == "DELETE_COMPLETE" {
                return Ok(ended);
            }
            // Once more, for the events the page lacked; a source that never sends the
            // stack's own event is not asked again.
            let (status, events) = source.poll().await?;
            for e in watch.new_events(events) {
                on_event(&e);
            }
            return Ok(watch.verdict(&status).unwrap_or(ended));
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Ok(Ended::TimedOut { status });
        }
        tokio::select! {
            _ = tokio::time::sleep(delay.min(deadline - now)) => {}
            signal = stop.wait() => return Ok(Ended::Interrupted { status, signal }),
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Polls CloudFormation itself, keeping the last description (with its outputs).
pub(crate) struct Live<'a> {
    pub(crate) client: &'a aws_sdk_cloudformation::Client,
    pub(crate) stack: String,
    pub(crate) last: Option<crate::facts::StackInfo>,
}

impl StackSource for Live<'_> {
    async fn poll(&mut self) -> Result<(String, Vec<StackEvent>), AwsError> {
        use crate::aws::cloudformation as cfn;
        let (stack, events) = tokio::join!(
            cfn::describe_stack(self.client, &self.stack),
            cfn::stack_events(self.client, &self.stack)
        );
        self.last = stack?;
        let status = self
            .last
            .as_ref()
            .map_or_else(|| "DELETE_COMPLETE".to_string(), |s| s.status.clone());
        // A deleted stack has no events under its name; that is not an error here.
        let events = match events {
            Ok(events) => events,
            Err(_) if status == "DELETE_COMPLETE" => Vec::new(),
            Err(e) => return Err(e),
        };
        Ok((status, events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn ev(n: i64, logical: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            id: format!("e{n}"),
            timestamp: 1_000 + n,
            logical_id: logical.into(),
            resource_type: if logical == "stack" {
                "AWS::CloudFormation::Stack".into()
            } else {
                "AWS::IAM::Role".into()
            },
            status: status.into(),
            reason: reason.map(str::to_string),
        }
    }

    /// A failed wait, with the failure it reports.
    fn failed(status: &str, first: StackEvent) -> Ended {
        Ended::Failed {
            status: status.into(),
            first_failure: Some(first),
        }
    }

    /// Replays a script of (status, events so far), like CloudFormation pages: newest first.
    struct Script {
        steps: VecDeque<(&'static str, Vec<StackEvent>)>,
        polls: usize,
    }

    impl Script {
        fn new(steps: Vec<(&'static str, Vec<StackEvent>)>) -> Script {
            Script {
                steps: steps.into(),
                polls: 0,
            }
        }
    }

    impl StackSource for Script {
        async fn poll(&mut self) -> Result<(String, Vec<StackEvent>), AwsError> {
            self.polls += 1;
            let (status, mut events) = if self.steps.len() > 1 {
                self.steps.pop_front().unwrap()
            } else {
                self.steps.front().cloned().unwrap()
            };
            events.reverse();
            Ok((status.to_string(), events))
        }
    }

    async fn run(script: &mut Script, goal: Goal, timeout: Duration) -> (Ended, Vec<String>) {
        let mut shown = Vec::new();
        let ended = wait(script, goal, 1_000, timeout, &Stop::default(), |e| {
            shown.push(format!("{} {}", e.logical_id, e.status))
        })
        .await
        .unwrap();
        (ended, shown)
    }

    #[tokio::test(start_paused = true)]
    async fn create_in_progress_then_complete() {
        let e1 = ev(1, "stack", "CREATE_IN_PROGRESS", Some("User Initiated"));
        let e2 = ev(2, "Role", "CREATE_IN_PROGRESS", None);
        let e3 = ev(3, "Role", "CREATE_COMPLETE", None);
        let e4 = ev(4, "stack", "CREATE_COMPLETE", None);
        let mut script = Script::new(vec![
            ("CREATE_IN_PROGRESS", vec![e1.clone()]),
            ("CREATE_IN_PROGRESS", vec![e1.clone(), e2.clone()]),
            ("CREATE_COMPLETE", vec![e1, e2, e3, e4]),
        ]);
        let (ended, shown) = run(&mut script, Goal::Create, Duration::from_secs(600)).await;
        assert_eq!(
            ended,
            Ended::Succeeded {
                status: "CREATE_COMPLETE".into()
            }
        );
        assert_eq!(
            shown,
            [
                "stack CREATE_IN_PROGRESS",
                "Role CREATE_IN_PROGRESS",
                "Role CREATE_COMPLETE",
                "stack CREATE_COMPLETE"
            ],
            "each event once, in order"
        );
        assert_eq!(script.polls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_create_rolls_back_and_reports_the_first_failure() {
        let fail = ev(3, "Role", "CREATE_FAILED", Some("MalformedPolicyDocument: Invalid principal in policy: \"AWS\":\"arn:aws:iam::000000000000:root\""));
        let events = vec![
            ev(1, "stack", "CREATE_IN_PROGRESS", Some("User Initiated")),
            ev(2, "Role", "CREATE_IN_PROGRESS", None),
            fail.clone(),
            ev(
                4,
                "stack",
                "ROLLBACK_IN_PROGRESS",
                Some("The following resource(s) failed to create: [Role]."),
            ),
            ev(5, "Role", "DELETE_COMPLETE", None),
            ev(6, "stack", "ROLLBACK_COMPLETE", None),
        ];
        let mut script = Script::new(vec![
            ("CREATE_IN_PROGRESS", events[..2].to_vec()),
            ("ROLLBACK_IN_PROGRESS", events[..4].to_vec()),
            ("ROLLBACK_COMPLETE", events.clone()),
        ]);
        let (ended, shown) = run(&mut script, Goal::Create, Duration::from_secs(600)).await;
        assert_eq!(ended, failed("ROLLBACK_COMPLETE", fail));
        assert_eq!(shown.len(), 6);
        let text = ended.explain("s1");
        assert!(text.contains("ROLLBACK_COMPLETE"), "{text}");
        assert!(
            text.contains("Role (AWS::IAM::Role): MalformedPolicyDocument: Invalid principal"),
            "{text}"
        );
        assert!(text.contains("→ check --tidb-account-id"), "{text}");
    }

    /// DescribeStacks and DescribeStackEvents go out together, and the events can be the older
    /// answer (LocalStack showed it): a final status whose own event is missing is read once
    /// more, so the last events, and a failure's reason, are not lost.
    #[tokio::test(start_paused = true)]
    async fn events_older_than_the_final_status_are_read_once_more() {
        let started = ev(1, "stack", "CREATE_IN_PROGRESS", Some("User Initiated"));
        let fail = ev(
            2,
            "Role",
            "CREATE_FAILED",
            Some("MalformedPolicyDocument: bad"),
        );
        let events = vec![
            started.clone(),
            fail.clone(),
            ev(3, "stack", "ROLLBACK_COMPLETE", None),
        ];
        let mut script = Script::new(vec![
            ("ROLLBACK_COMPLETE", vec![started.clone()]),
            ("ROLLBACK_COMPLETE", events),
        ]);
        let (ended, shown) = run(&mut script, Goal::Create, Duration::from_secs(600)).await;
        assert_eq!(ended, failed("ROLLBACK_COMPLETE", fail));
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert_eq!(script.polls, 2);

        // A source that never sends the stack's own event is asked once more, not again.
        let lacking = vec![started, ev(2, "Role", "CREATE_COMPLETE", None)];
        let mut script = Script::new(vec![("CREATE_COMPLETE", lacking)]);
        let (ended, shown) = run(&mut script, Goal::Create, Duration::from_secs(600)).await;
        assert!(matches!(ended, Ended::Succeeded { .. }), "{ended:?}");
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert_eq!(script.polls, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_update_ends_in_update_rollback_complete() {
        let fail = ev(
            2,
            "Role",
            "UPDATE_FAILED",
            Some("Resource handler returned message: \"Access Denied\""),
        );
        let events = vec![
            ev(1, "stack", "UPDATE_IN_PROGRESS", Some("User Initiated")),
            fail.clone(),
            ev(3, "stack", "UPDATE_ROLLBACK_IN_PROGRESS", None),
            ev(
                4,
                "Role",
                "UPDATE_FAILED",
                Some("Resource update cancelled"),
            ),
            ev(5, "stack", "UPDATE_ROLLBACK_COMPLETE", None),
        ];
        let mut script = Script::new(vec![
            ("UPDATE_IN_PROGRESS", events[..2].to_vec()),
            (
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                events[..4].to_vec(),
            ),
            ("UPDATE_ROLLBACK_COMPLETE", events),
        ]);
        let (ended, _) = run(&mut script, Goal::Update, Duration::from_secs(600)).await;
        assert_eq!(ended, failed("UPDATE_ROLLBACK_COMPLETE", fail));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stack_that_never_settles_times_out_with_advice() {
        let mut script = Script::new(vec![(
            "CREATE_IN_PROGRESS",
            vec![ev(1, "stack", "CREATE_IN_PROGRESS", None)],
        )]);
        let started = tokio::time::Instant::now();
        let (ended, shown) = run(&mut script, Goal::Create, Duration::from_secs(60)).await;
        assert_eq!(
            ended,
            Ended::TimedOut {
                status: "CREATE_IN_PROGRESS".into()
            }
        );
        assert_eq!(
            shown.len(),
            1,
            "an event is shown once however often it is polled"
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(60) && waited < Duration::from_secs(66),
            "{waited:?}"
        );
        // At once, then 0.2, 0.4, 0.8 and 1.6 s later, then every 2 s: 34 polls in 60 s.
        assert_eq!(script.polls, 34, "{} polls", script.polls);
        assert!(ended
            .explain("s1")
            .contains("describe-stack-events --stack-name s1"));
    }

    #[tokio::test(start_paused = true)]
    async fn old_events_from_earlier_operations_are_not_shown() {
        let old = StackEvent {
            timestamp: 10,
            ..ev(0, "stack", "CREATE_FAILED", Some("old failure"))
        };
        let mut script = Script::new(vec![(
            "UPDATE_COMPLETE",
            vec![old, ev(1, "stack", "UPDATE_COMPLETE", None)],
        )]);
        let (ended, shown) = run(&mut script, Goal::Update, Duration::from_secs(60)).await;
        assert_eq!(
            ended,
            Ended::Succeeded {
                status: "UPDATE_COMPLETE".into()
            }
        );
        assert_eq!(shown, ["stack UPDATE_COMPLETE"]);
    }

    #[tokio::test(start_paused = true)]
    async fn delete_waits_for_the_stack_to_be_gone() {
        let mut script = Script::new(vec![
            ("DELETE_IN_PROGRESS", vec![]),
            ("DELETE_COMPLETE", vec![]),
        ]);
        let (ended, _) = run(&mut script, Goal::Delete, Duration::from_secs(60)).await;
        assert_eq!(
            ended,
            Ended::Succeeded {
                status: "DELETE_COMPLETE".into()
            }
        );
    }

    #[test]
    fn no_updates_is_recognised_as_success() {
        use crate::aws::cloudformation::is_no_updates;
        assert!(is_no_updates(
            Some("ValidationError"),
            "No updates are to be performed."
        ));
        assert!(!is_no_updates(
            Some("ValidationError"),
            "Template format error"
        ));
        assert!(!is_no_updates(
            Some("AccessDenied"),
            "No updates are to be performed."
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_request_ends_the_wait_at_once() {
        let mut script = Script::new(vec![("CREATE_IN_PROGRESS", vec![])]);
        let stop = Stop::default();
        let stopper = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            stopper.request("SIGTERM");
        });
        let started = tokio::time::Instant::now();
        let ended = wait(
            &mut script,
            Goal::Create,
            0,
            Duration::from_secs(600),
            &stop,
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(
            ended,
            Ended::Interrupted {
                status: "CREATE_IN_PROGRESS".into(),
                signal: "SIGTERM"
            }
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
