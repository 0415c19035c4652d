//! The binary: flags (`cli`), the runtime, the log, and the exit code. It reads the flags into
//! requests, runs one command, and reports its result or error; everything else is the
//! library's.

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use serverless_s3_setup::aws::Connection;
use serverless_s3_setup::commands::{access_key, list, role, set, teardown, verify};
use serverless_s3_setup::error::{exit, Error};
use serverless_s3_setup::output::{self, Format, Ui};
use serverless_s3_setup::prompt::{NoPrompts, Prompter, Terminal};
use serverless_s3_setup::requests::{AccessKeyRequest, RoleRequest};
use serverless_s3_setup::{log, signals, wizard, Context};

use cli::{AccessKeyAction, AccessKeyArgs, Cli, Command, Global, OutputFormat};

/// The stack the program runs on. A command's work is an async call chain through the AWS
/// SDK, deep, and an unoptimised build's frames are large: on the main thread's 8 MB,
/// `verify -f` overflowed its stack. Only what is used is ever committed.
const STACK: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    std::thread::Builder::new()
        .name("serverless-s3-setup".into())
        .stack_size(STACK)
        .spawn(run_main)
        .expect("a thread to run on")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn run_main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    let format = match cli.global.output {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let ui = Ui::detect(cli.global.quiet)
        .with_documents(cli.global.show_policies || cli.global.verbose > 0 || cli.global.dry_run);
    log::init(if cli.global.quiet {
        -1
    } else {
        cli.global.verbose as i8
    });
    let code = match run(cli, format, &ui) {
        Ok(()) => exit::OK,
        Err(Error::Reported) => exit::FAILED,
        Err(Error::Pending) => exit::PENDING,
        Err(e) => {
            if let Error::Interrupted(_) | Error::Back = e {
                // A prompt interrupted by Ctrl-C leaves the cursor hidden, mid-line; the
                // signal watcher may be saying so at this moment.
                if !signals::first_to_report() {
                    return ExitCode::from(exit::INTERRUPTED as u8);
                }
                let _ = console::Term::stderr().show_cursor();
                eprintln!();
            }
            output::emit_error(format, &ui, &e);
            if let (Some(resume), Format::Text) = (signals::resume(), format) {
                ui.info(resume);
            }
            e.exit_code()
        }
    };
    ExitCode::from(code as u8)
}

/// clap's own errors (an unknown flag, a value outside its choices, a missing subcommand
/// argument) as JSON when `-o json` was asked for, like every other error; otherwise, and for
/// `--help` and `--version`, as clap prints them.
fn clap_error(e: clap::Error) -> ExitCode {
    if !e.use_stderr() || !json_asked(std::env::args().skip(1)) {
        e.exit();
    }
    let rendered = e.render().to_string();
    let message = rendered
        .trim_start_matches("error: ")
        .split("\n\nUsage:")
        .next()
        .unwrap_or_default()
        .split("\n\nFor more information")
        .next()
        .unwrap_or_default()
        .trim();
    let kind = match e.kind() {
        clap::error::ErrorKind::MissingRequiredArgument
        | clap::error::ErrorKind::MissingSubcommand => "missing_input",
        _ => "invalid_input",
    };
    output::emit_json_error(kind, message, exit::USAGE);
    ExitCode::from(exit::USAGE as u8)
}

/// Whether the command line asks for `-o json`, read without clap (which just failed).
fn json_asked(args: impl Iterator<Item = String>) -> bool {
    let mut previous = String::new();
    for arg in args {
        if arg == "--" {
            break;
        }
        let value = match arg.as_str() {
            _ if previous == "-o" || previous == "--output" => Some(arg.as_str()),
            a => a
                .strip_prefix("--output=")
                .or_else(|| a.strip_prefix("-o="))
                .or_else(|| a.strip_prefix("-o").filter(|v| !v.is_empty())),
        };
        if value == Some("json") {
            return true;
        }
        previous = arg;
    }
    false
}

fn run(cli: Cli, format: Format, ui: &Ui) -> Result<(), Error> {
    let ctx = context(&cli.global, format, ui)?;
    let mut prompter: Box<dyn Prompter> = if ctx.can_prompt {
        Box::new(Terminal::default())
    } else {
        Box::new(NoPrompts)
    };
    if matches!(
        &cli.command,
        Some(Command::Role(_)) | Some(Command::AccessKey(AccessKeyArgs { action: None, .. }))
    ) {
        // The command as typed: each answer to a question then extends it, so that a stop at
        // any question says the command that goes on from there.
        signals::resume_from(
            std::env::args_os()
                .skip(1)
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        );
    }
    match cli.command {
        Some(Command::Role(args)) => run_role(&ctx, args.into_request()?, prompter.as_mut()),
        Some(Command::Verify(args)) => run_verify(&ctx, args, prompter.as_mut()),
        Some(Command::Teardown(args)) => run_teardown(&ctx, args, prompter.as_mut()),
        Some(Command::List(_)) => {
            let listed = run_async(&ctx, list::run(&ctx))?;
            output::report(&ctx, &listed);
            Ok(())
        }
        Some(Command::Plan(args)) => run_plan(&ctx, args),
        Some(Command::Apply(args)) => run_apply(&ctx, args, prompter.as_mut()),
        Some(Command::Template(_)) => write_out(serverless_s3_setup::template::TEMPLATE.as_bytes()),
        Some(Command::Completions { shell, .. }) => print_completions(shell),
        Some(Command::Man(_)) => print_man(),
        Some(Command::AccessKey(args)) => match args.action {
            Some(AccessKeyAction::Delete(args)) => {
                let request = args.into_request()?;
                let outcome = run_async(&ctx, teardown::user(&ctx, request, prompter.as_mut()))?;
                output::report(&ctx, &outcome);
                Ok(())
            }
            None => run_access_key(&ctx, args.create.into_request()?, prompter.as_mut()),
        },
        None if ctx.can_prompt => run_wizard(&ctx, prompter.as_mut()),
        None => {
            use clap::CommandFactory;
            eprintln!("{}", Cli::command().render_help());
            Err(wizard::start(&ctx, prompter.as_mut(), None).expect_err("cannot prompt"))
        }
    }
}

/// `teardown` of one stack, role or user, or (`-f`) of every role of a file's set. A role of
/// the set that could not be deleted exits 1.
fn run_teardown(
    ctx: &Context,
    mut args: cli::TeardownArgs,
    prompter: &mut dyn Prompter,
) -> Result<(), Error> {
    let Some(request) = args.set.request()? else {
        let outcome = run_async(ctx, teardown::run(ctx, args.into_request()?, prompter))?;
        output::report(ctx, &outcome);
        return Ok(());
    };
    let torn = run_async(ctx, set::teardown(ctx, request, prompter))?;
    output::report(ctx, &torn);
    ended(
        torn.interrupted,
        torn.failed(),
        "the roles being deleted finished or said what is left, and the rest were not started",
    )
}

/// How a run over many roles ends: stopped by `signal` (saying what `stopped` leaves), a role
/// failed (its line said why), or done.
fn ended(signal: Option<&str>, failed: bool, stopped: &str) -> Result<(), Error> {
    match (signal, failed) {
        (Some(signal), _) => Err(Error::Interrupted(format!(" by {signal}: {stopped}"))),
        (None, true) => Err(Error::Reported),
        (None, false) => Ok(()),
    }
}

/// `verify`, of one role or user, or (`-f`) of every role of a file. A failed check exits 1.
fn run_verify(
    ctx: &Context,
    mut args: cli::VerifyArgs,
    prompter: &mut dyn Prompter,
) -> Result<(), Error> {
    let ok = match cli::set::verify_request(&mut args)? {
        Some(request) => {
            let verified = run_async(ctx, set::verify(ctx, request))?;
            output::report(ctx, &verified);
            verified.ok
        }
        None => {
            let report = run_async(ctx, verify::run(ctx, args.into_request()?, prompter))?;
            output::report(ctx, &report);
            report.ok
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Reported)
    }
}

/// `plan -f`: exit 1 when an entry could not be planned; with `--detailed-exit-code`, 3 when
/// the plan has changes.
fn run_plan(ctx: &Context, args: cli::set::PlanArgs) -> Result<(), Error> {
    let detailed = args.detailed_exit_code;
    let plan = run_async(ctx, set::plan(ctx, args.into_request()?))?;
    output::report(ctx, &plan);
    match (plan.failed(), plan.pending()) {
        (true, _) => Err(Error::Reported),
        (false, true) if detailed => Err(Error::Pending),
        _ => Ok(()),
    }
}

/// `apply -f` or `apply --plan`: exit 1 when an entry failed, 130 when stopped.
fn run_apply(
    ctx: &Context,
    args: cli::set::ApplyArgs,
    prompter: &mut dyn Prompter,
) -> Result<(), Error> {
    let applied = match args.into_request()? {
        cli::set::Apply::File(request) => run_async(ctx, set::apply(ctx, request, prompter))?,
        cli::set::Apply::Saved {
            plan,
            parallel,
            wait_ready,
        } => run_async(ctx, set::apply_saved(ctx, &plan, parallel, wait_ready))?,
    };
    output::report(ctx, &applied);
    ended(
        applied.interrupted,
        applied.failed(),
        "each running setup undid what it made, and those not started were not applied",
    )
}

/// The run's context, from the global flags.
fn context(global: &Global, format: Format, ui: &Ui) -> Result<Context, Error> {
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let conn = Connection {
        profile: global.profile(),
        region: global.region()?,
        endpoint_url: global.endpoint_url()?,
        can_ask: terminal && !global.no_input,
        many: false,
    };
    Ok(Context {
        conn,
        format,
        yes: global.yes,
        dry_run: global.dry_run,
        no_input: global.no_input,
        can_prompt: terminal && !global.no_input,
        ui: ui.clone(),
        stop: signals::Stop::default(),
    })
}

/// The wizard, then the setup it gathered. Esc at the setup's first question goes back to
/// the wizard's last, every answer kept.
fn run_wizard(ctx: &Context, prompter: &mut dyn Prompter) -> Result<(), Error> {
    let mut back_from = None;
    loop {
        // The wizard's first questions come before the command's runtime. Ctrl-C is caught
        // already, so that a prompt returns "interrupted" (and the cursor comes back)
        // instead of the process being killed mid-draw; and a Ctrl-C that arrives as a
        // signal, between a prompt's drawing and its reading, ends the run as it would
        // later (exit 130, nothing changed) instead of being lost.
        let setup = {
            let runtime = runtime()?;
            let _entered = runtime.enter();
            let _watching = ctx.stop.watch(&ctx.ui);
            wizard::start(ctx, prompter, back_from.as_ref())?
        };
        let ran = match setup.clone() {
            wizard::Setup::Role(request) => run_role(ctx, request, prompter),
            wizard::Setup::AccessKey(request) => run_access_key(ctx, request, prompter),
        };
        match ran {
            Err(Error::Back) => {
                // The wizard's last question is asked again, where it was when nothing
                // came between.
                prompter.again();
                back_from = Some(setup);
            }
            ran => return ran,
        }
    }
}

/// The shell's completions, on stdout.
fn print_completions(shell: clap_complete::Shell) -> Result<(), Error> {
    use clap::CommandFactory;
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "serverless-s3-setup", &mut text);
    write_out(&text)
}

/// The manual page, on stdout.
fn print_man() -> Result<(), Error> {
    use clap::CommandFactory;
    let mut text = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut text)
        .map_err(|e| Error::Other(anyhow::anyhow!("rendering the manual page: {e}")))?;
    write_out(&text)
}

/// Writes generated output to stdout. A reader that stops early (`| head`) is not an error:
/// what it did not read, it did not want.
fn write_out(bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Other(anyhow::anyhow!("writing to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn run_role(ctx: &Context, request: RoleRequest, prompter: &mut dyn Prompter) -> Result<(), Error> {
    let report = run_async(ctx, role::run(ctx, request, prompter))?;
    output::report(ctx, &report);
    Ok(())
}

fn run_access_key(
    ctx: &Context,
    request: AccessKeyRequest,
    prompter: &mut dyn Prompter,
) -> Result<(), Error> {
    let report = run_async(ctx, access_key::run(ctx, request, prompter))?;
    output::report(ctx, &report);
    Ok(())
}

/// Runs one command's work, with Ctrl-C and SIGTERM handled for its whole length.
fn run_async<T>(
    ctx: &Context,
    work: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    runtime()?.block_on(async {
        let _watching = ctx.stop.watch(&ctx.ui);
        work.await
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Other(anyhow::anyhow!("starting the async runtime: {e}")))?;
    // From here on Ctrl-C and SIGTERM reach the program instead of killing it, so that a
    // prompt or an apply can end with exit 130 after cleaning up.
    let _entered = runtime.enter();
    signals::install();
    Ok(runtime)
}

#[cfg(test)]
mod tests {
    use super::json_asked;

    #[test]
    fn json_is_asked_in_every_spelling_and_not_past_the_end_of_flags() {
        let asked = |line: &str| json_asked(line.split(' ').map(String::from));
        for line in [
            "-o json role",
            "role --output json --uri x",
            "--output=json role",
            "-ojson role",
            "-o=json role",
        ] {
            assert!(asked(line), "{line}");
        }
        for line in [
            "role --uri json",
            "-o text role",
            "role -- -o json",
            "-o yaml",
        ] {
            assert!(!asked(line), "{line}");
        }
    }
}
