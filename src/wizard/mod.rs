//! The questions, in the order a person thinks: what TiDB Cloud will do, where, and how. Every
//! question stands for a flag; the flow asks only for what the flags left out, and only when a
//! terminal is there to answer. It reads AWS only to check an answer early (the credentials,
//! the bucket) and never changes anything there.

use crate::error::Error;
use crate::inputs::{Access, S3Location, Tier};
use crate::plan::Method;
use crate::prompt::Prompter;
use crate::requests::{AccessKeyRequest, RoleRequest};
use crate::Context;

mod ask;
mod fill;
mod form;

pub(crate) use ask::{
    announce, ask_access, ask_location, ask_method, ask_tier, confirm_deletion, missing_error,
    present_plan, require_flags, Intent,
};
pub(crate) use fill::{access_key, check_access_key, check_role, role};

/// How TiDB Cloud will get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Choice {
    Cloudformation,
    Iam,
    AccessKey,
}

/// A setup chosen at the terminal, with the answers so far.
#[derive(Debug, Clone)]
pub enum Setup {
    Role(RoleRequest),
    AccessKey(AccessKeyRequest),
}

/// `serverless-s3-setup` alone: what, where, and how; the command it picks asks the rest.
/// `back_from`: the setup whose command went back past its first question (Esc), which the
/// wizard takes up at its last question, every answer kept.
pub fn start(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    back_from: Option<&Setup>,
) -> Result<Setup, Error> {
    start_with(
        ctx,
        prompter,
        &|location| check_early(ctx, location),
        back_from,
    )
}

/// [`start`], with the check made beside the questions given (a test gives its own).
fn start_with(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    check_early: &dyn Fn(&S3Location) -> std::thread::JoinHandle<Early>,
    back_from: Option<&Setup>,
) -> Result<Setup, Error> {
    if !ctx.can_prompt {
        return Err(missing_error(
            ctx,
            &["a command: role or access-key (see --help)"],
        ));
    }
    let (mut way, mut at) = match back_from {
        Some(setup) => Way::from_setup(setup),
        None => {
            ctx.ui.info(format!(
                "{}\n{}",
                ctx.ui.bold("Give TiDB Cloud access to an S3 bucket."),
                ctx.ui.dim("Each answer has a flag, for next time in CI.")
            ));
            let way = Way {
                // The question starts at import: write access is chosen, never fallen into.
                access: Access::Import,
                location: None,
                choice: None,
                tier: None,
            };
            (way, At::Access)
        }
    };
    // Esc at a question goes back to the one before, its answer kept (the URI as its
    // default); at the first, the run ends.
    loop {
        way.say_resume(ctx, at);
        let asked = match at {
            At::Access => ask_access(prompter, way.access).map(|a| way.access = a),
            At::Uri => {
                ask_checked_location(
                    ctx,
                    prompter,
                    check_early,
                    way.access,
                    way.location.as_ref(),
                )
                .map(|location| {
                    // A directory that a stack cannot carry is offered IAM and the access
                    // key only.
                    if let Some(why) = crate::template::cannot_carry(&location, way.access) {
                        ctx.ui.info(format!("{why}."));
                    }
                    way.location = Some(location);
                })
            }
            At::Method => {
                ask_method(prompter, true, way.stack(), way.choice).map(|c| way.choice = Some(c))
            }
            At::Tier => ask_tier(prompter, way.tier).map(|t| way.tier = Some(t)),
        };
        at = match (asked, at) {
            (Ok(()), At::Access) => At::Uri,
            (Ok(()), At::Uri) => At::Method,
            (Ok(()), At::Method) if way.asks_tier(ctx) => At::Tier,
            (Ok(()), _) => return Ok(way.setup(ctx)),
            (Err(Error::Back), At::Access) => return Err(Error::Back),
            (Err(Error::Back), back) => {
                prompter.again();
                match back {
                    At::Tier => At::Method,
                    At::Method => At::Uri,
                    _ => At::Access,
                }
            }
            (Err(e), _) => return Err(e),
        };
    }
}

/// The wizard's questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    Access,
    Uri,
    Method,
    Tier,
}

/// The wizard's answers so far.
#[derive(Debug)]
struct Way {
    access: Access,
    location: Option<S3Location>,
    choice: Option<Choice>,
    tier: Option<Tier>,
}

impl Way {
    /// The answers a setup holds, and its last question.
    fn from_setup(setup: &Setup) -> (Way, At) {
        let way = match setup {
            Setup::Role(req) => Way {
                access: req.access.unwrap_or(Access::Import),
                location: req.location.clone(),
                choice: Some(match req.method {
                    Some(Method::Iam) => Choice::Iam,
                    _ => Choice::Cloudformation,
                }),
                tier: req.tier,
            },
            Setup::AccessKey(req) => Way {
                access: req.access.unwrap_or(Access::Import),
                location: req.location.clone(),
                choice: Some(Choice::AccessKey),
                tier: None,
            },
        };
        let at = if way.tier.is_some() {
            At::Tier
        } else {
            At::Method
        };
        (way, at)
    }

    /// Whether a stack can carry the location.
    fn stack(&self) -> bool {
        self.location
            .as_ref()
            .is_none_or(|l| crate::template::cannot_carry(l, self.access).is_none())
    }

    /// Only a role's import differs by tier (Dedicated also reads the bucket's location);
    /// with --yes the default stands.
    fn asks_tier(&self, ctx: &Context) -> bool {
        self.choice != Some(Choice::AccessKey) && self.access == Access::Import && !ctx.yes
    }

    fn setup(self, ctx: &Context) -> Setup {
        let tier = if self.asks_tier(ctx) { self.tier } else { None };
        match self.choice {
            Some(Choice::AccessKey) => Setup::AccessKey(AccessKeyRequest {
                location: self.location,
                access: Some(self.access),
                ..AccessKeyRequest::default()
            }),
            choice => Setup::Role(RoleRequest {
                method: Some(match choice {
                    Some(Choice::Iam) => Method::Iam,
                    _ => Method::Cloudformation,
                }),
                method_asked: true,
                location: self.location,
                access: Some(self.access),
                tier,
                ..RoleRequest::default()
            }),
        }
    }

    /// What a stop at the question `at` says: the commands that go on from the answers
    /// before it (either command until the way in is chosen, then that one).
    fn say_resume(&self, ctx: &Context, at: At) {
        let command = |choice| {
            let mut words = so_far_words(choice, Some(self.access), self.location.as_ref());
            words.extend(crate::output::connection_flags(&ctx.conn, None));
            words
        };
        match (at, self.choice) {
            (At::Access, _) => crate::signals::resume_either(Vec::new()),
            (At::Uri | At::Method, _) => crate::signals::resume_either(vec![
                command(Choice::Cloudformation),
                command(Choice::AccessKey),
            ]),
            (At::Tier, choice) => crate::signals::resume_with_answers(command(
                choice.unwrap_or(Choice::Cloudformation),
            )),
        }
    }
}

/// The URI, with its bucket checked at once, behind a spinner: a bucket that does not exist
/// is said as an error and asked again; missing credentials stop here, before more questions,
/// with the commands that go on from the answers once that is fixed.
fn ask_checked_location(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    check_early: &dyn Fn(&S3Location) -> std::thread::JoinHandle<Early>,
    access: Access,
    previous: Option<&S3Location>,
) -> Result<S3Location, Error> {
    loop {
        let location = ask_location(prompter, previous)?;
        let check = check_early(&location);
        let step = (!check.is_finished()).then(|| {
            ctx.ui.step(format!(
                "Checking the AWS account and bucket {}",
                location.bucket()
            ))
        });
        let early = check.join().unwrap_or(Early::Ready);
        if let Some(step) = step {
            match early {
                Early::Ready => step.done("found"),
                _ => step.fail(),
            }
        }
        match early {
            Early::Ready => return Ok(location),
            Early::NoBucket(why) => ctx.ui.error(why),
            Early::Stop(e) => {
                ctx.ui.info(format!(
                    "Once that is fixed, these go on from here, without the questions so far:\n  {}\n  {}",
                    so_far(Choice::Cloudformation, access, &location),
                    so_far(Choice::AccessKey, access, &location)
                ));
                // Said here, not again after the stop.
                crate::signals::resume_either(Vec::new());
                return Err(e);
            }
        }
    }
}

/// What the check made while the next question was asked found.
pub(crate) enum Early {
    Ready,
    /// The bucket does not exist (or this account cannot see it): ask again.
    NoBucket(String),
    /// No usable credentials: nothing more can be done until they are fixed.
    Stop(Error),
}

/// Checks the credentials (STS) and the bucket (HeadBucket) on a thread of its own. It draws
/// nothing: the prompt owns the screen. A failure it cannot judge is left to the setup, which
/// reports it in full; under `--dry-run` missing credentials are fine (the plan is made
/// offline).
fn check_early(ctx: &Context, location: &S3Location) -> std::thread::JoinHandle<Early> {
    let conn = ctx.conn.clone();
    let ui = ctx.ui.silent();
    let dry_run = ctx.dry_run;
    let bucket = location.bucket().to_string();
    std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return Early::Ready;
        };
        runtime.block_on(async {
            let clients = match crate::aws::Clients::connect(&conn, &ui).await {
                Ok(clients) => clients,
                Err(Error::Credentials { .. }) if dry_run => return Early::Ready,
                Err(e) => return Early::Stop(e),
            };
            let (caller, region) = tokio::join!(
                crate::aws::sts::caller_identity(&clients.sts),
                crate::aws::s3::bucket_region(&clients.s3, &bucket)
            );
            match (caller, region) {
                (Err(e @ Error::Credentials { .. }), _) => Early::Stop(e),
                (_, Err(Error::NotFound(why))) => Early::NoBucket(why),
                _ => Early::Ready,
            }
        })
    })
}

/// The command that goes on from the wizard's answers so far.
fn so_far(choice: Choice, access: Access, location: &S3Location) -> String {
    let words = so_far_words(choice, Some(access), Some(location));
    crate::output::command_line(
        std::iter::once("serverless-s3-setup").chain(words.iter().map(String::as_str)),
    )
}

/// The words of [`so_far`], after the binary's name.
fn so_far_words(
    choice: Choice,
    access: Option<Access>,
    location: Option<&S3Location>,
) -> Vec<String> {
    let mut words = Vec::new();
    match choice {
        Choice::AccessKey => words.push("access-key".into()),
        Choice::Iam => words.extend(["role".into(), "--method".into(), "iam".into()]),
        Choice::Cloudformation => {
            words.extend(["role".into(), "--method".into(), "cloudformation".into()])
        }
    }
    if let Some(location) = location {
        words.extend(["--uri".into(), location.to_string()]);
    }
    if let Some(access) = access {
        words.extend(["--access".into(), access.to_string()]);
    }
    words
}

#[cfg(test)]
mod tests;
