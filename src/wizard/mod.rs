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

pub(crate) use ask::{
    announce, ask, ask_access, ask_location, ask_method, ask_tier, confirm_deletion, missing_error,
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
pub fn start(ctx: &Context, prompter: &mut dyn Prompter) -> Result<Setup, Error> {
    start_with(ctx, prompter, &|location| check_early(ctx, location))
}

/// [`start`], with the check made beside the questions given (a test gives its own).
fn start_with(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    check_early: &dyn Fn(&S3Location) -> std::thread::JoinHandle<Early>,
) -> Result<Setup, Error> {
    if !ctx.can_prompt {
        return Err(missing_error(
            ctx,
            &["a command: role or access-key (see --help)"],
        ));
    }
    ctx.ui.info(format!(
        "{}\n{}",
        ctx.ui.bold("Give TiDB Cloud access to an S3 bucket."),
        ctx.ui.dim("Each answer has a flag, for next time in CI.")
    ));
    let access = ask_access(prompter)?;
    let (location, choice, tier) = way_in(ctx, prompter, check_early, access)?;
    Ok(match choice {
        Choice::AccessKey => Setup::AccessKey(AccessKeyRequest {
            location: Some(location),
            access: Some(access),
            ..AccessKeyRequest::default()
        }),
        choice => Setup::Role(RoleRequest {
            method: Some(match choice {
                Choice::Iam => Method::Iam,
                _ => Method::Cloudformation,
            }),
            method_asked: true,
            location: Some(location),
            access: Some(access),
            tier,
            ..RoleRequest::default()
        }),
    })
}

/// The way in: the URI, how TiDB Cloud gets in, and for a role's import the tier. Esc at a
/// choice goes back to the question before, its answer kept (the URI as its default).
fn way_in(
    ctx: &Context,
    prompter: &mut dyn Prompter,
    check_early: &dyn Fn(&S3Location) -> std::thread::JoinHandle<Early>,
    access: Access,
) -> Result<(S3Location, Choice, Option<Tier>), Error> {
    let mut previous: Option<S3Location> = None;
    loop {
        let location = ask_checked_location(ctx, prompter, check_early, access, previous.as_ref())?;
        // A directory that a stack cannot carry is offered IAM and the access key only.
        let stack = match crate::template::cannot_carry(&location, access) {
            Some(why) => {
                ctx.ui.info(format!("{why}."));
                false
            }
            None => true,
        };
        loop {
            let choice = match ask_method(prompter, true, stack) {
                Ok(choice) => choice,
                Err(Error::Back) => break,
                Err(e) => return Err(e),
            };
            // From here a stop at any question says the command that goes on from the
            // answers (the tier's answer extends it).
            let mut words = so_far_words(choice, access, &location);
            words.extend(crate::output::connection_flags(&ctx.conn, None));
            crate::signals::resume_with_answers(words);
            // Only an import differs by tier (Dedicated also reads the bucket's location);
            // with --yes the default stands.
            if choice == Choice::AccessKey || access != Access::Import || ctx.yes {
                return Ok((location, choice, None));
            }
            match ask_tier(prompter) {
                Ok(tier) => return Ok((location, choice, Some(tier))),
                Err(Error::Back) => continue,
                Err(e) => return Err(e),
            }
        }
        previous = Some(location);
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
    let words = so_far_words(choice, access, location);
    crate::output::command_line(
        std::iter::once("serverless-s3-setup").chain(words.iter().map(String::as_str)),
    )
}

/// The words of [`so_far`], after the binary's name.
fn so_far_words(choice: Choice, access: Access, location: &S3Location) -> Vec<String> {
    let mut words = Vec::new();
    match choice {
        Choice::AccessKey => words.push("access-key".into()),
        Choice::Iam => words.extend(["role".into(), "--method".into(), "iam".into()]),
        Choice::Cloudformation => {
            words.extend(["role".into(), "--method".into(), "cloudformation".into()])
        }
    }
    words.extend([
        "--uri".into(),
        location.to_string(),
        "--access".into(),
        access.to_string(),
    ]);
    words
}

#[cfg(test)]
mod tests;
