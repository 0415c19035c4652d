mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use serverless_s3_setup::aws::Connection;
use serverless_s3_setup::commands::{access_key, role, teardown};
use serverless_s3_setup::error::{exit, Error};
use serverless_s3_setup::output::{self, Format, Ui};
use serverless_s3_setup::prompt::{NoPrompts, Prompter, Terminal};
use serverless_s3_setup::requests::{AccessKeyRequest, RoleRequest};
use serverless_s3_setup::{log, signals, verify, wizard, Context};

use cli::{AccessKeyAction, Cli, Command, OutputFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match cli.global.output {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let ui = Ui::detect(cli.global.quiet)
        .with_documents(cli.global.show_policies || cli.global.verbose > 0 || cli.global.dry_run);
    log::set_level(if cli.global.quiet {
        -1
    } else {
        cli.global.verbose as i8
    });
    let code = match run(cli, format, &ui) {
        Ok(()) => exit::OK,
        Err(Error::Reported) => exit::FAILED,
        Err(e) => {
            if let Error::Interrupted(_) = e {
                // A prompt interrupted by Ctrl-C leaves the cursor hidden, mid-line; the
                // signal watcher may be saying so at this moment.
                if !signals::first_to_report() {
                    return ExitCode::from(exit::INTERRUPTED as u8);
                }
                let _ = console::Term::stderr().show_cursor();
                eprintln!();
            }
            output::emit_error(format, &ui, &e);
            e.exit_code()
        }
    };
    ExitCode::from(code as u8)
}

fn run(cli: Cli, format: Format, ui: &Ui) -> Result<(), Error> {
    let global = cli.global;
    let conn = Connection {
        profile: global.profile.clone().filter(|p| !p.is_empty()),
        region: global.region()?,
        endpoint_url: global.endpoint_url()?,
    };
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ctx = Context {
        conn,
        format,
        yes: global.yes,
        dry_run: global.dry_run,
        no_input: global.no_input,
        can_prompt: terminal && !global.no_input,
        ui: ui.clone(),
        stop: signals::Stop::default(),
    };
    let mut prompter: Box<dyn Prompter> = if ctx.can_prompt {
        Box::new(Terminal::default())
    } else {
        Box::new(NoPrompts)
    };
    match cli.command {
        Some(Command::Role(args)) => run_role(&ctx, args.into_request()?, prompter.as_mut()),
        Some(Command::Verify(args)) => {
            let request = args.into_request()?;
            let report = run_async(&ctx, verify::run(&ctx, request))?;
            output::emit(format, &report, || verify::render_text(&ctx, &report));
            match report.ok {
                true => Ok(()),
                false => Err(Error::Reported),
            }
        }
        Some(Command::Teardown(args)) => {
            let request = args.into_request()?;
            let outcome = run_async(&ctx, teardown::run(&ctx, request, prompter.as_mut()))?;
            output::emit(format, &outcome, || match outcome.deleted.is_empty() {
                true => "nothing deleted".to_string(),
                false => outcome
                    .deleted
                    .iter()
                    .map(|d| format!("deleted {d}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
            Ok(())
        }
        Some(Command::Template) => {
            print!("{}", serverless_s3_setup::template::TEMPLATE);
            Ok(())
        }
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(
                shell,
                &mut cmd,
                "serverless-s3-setup",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(|e| Error::Other(anyhow::anyhow!("writing the manual page: {e}")))
        }
        Some(Command::AccessKey(args)) => match args.action {
            Some(AccessKeyAction::Delete(args)) => {
                let request = args.into_request()?;
                let outcome = run_async(&ctx, teardown::user(&ctx, request, prompter.as_mut()))?;
                output::emit(format, &outcome, || {
                    if outcome.deleted.is_empty() {
                        "nothing deleted".to_string()
                    } else {
                        outcome
                            .deleted
                            .iter()
                            .map(|d| format!("deleted {d}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    }
                });
                Ok(())
            }
            None => run_access_key(&ctx, args.create.into_request()?, prompter.as_mut()),
        },
        None if ctx.can_prompt => {
            // The wizard's questions come before any runtime: catch Ctrl-C already, so that a
            // prompt returns "interrupted" (and the cursor comes back) instead of the process
            // being killed mid-draw.
            drop(runtime()?);
            match wizard::start(&ctx, prompter.as_mut())? {
                wizard::Setup::Role(request) => run_role(&ctx, request, prompter.as_mut()),
                wizard::Setup::AccessKey(request) => {
                    run_access_key(&ctx, request, prompter.as_mut())
                }
            }
        }
        None => {
            use clap::CommandFactory;
            eprintln!("{}", Cli::command().render_help());
            Err(wizard::start(&ctx, prompter.as_mut()).expect_err("cannot prompt"))
        }
    }
}

fn run_role(ctx: &Context, request: RoleRequest, prompter: &mut dyn Prompter) -> Result<(), Error> {
    let report = run_async(ctx, role::run(ctx, request, prompter))?;
    output::emit(ctx.format, &report, || role::render_text(ctx, &report));
    if ctx.format == Format::Text {
        role::next_steps(ctx, &report);
    }
    Ok(())
}

fn run_access_key(
    ctx: &Context,
    request: AccessKeyRequest,
    prompter: &mut dyn Prompter,
) -> Result<(), Error> {
    let report = run_async(ctx, access_key::run(ctx, request, prompter))?;
    output::emit(ctx.format, &report, || {
        access_key::render_text(ctx, &report)
    });
    access_key::warn_once(ctx, &report);
    if ctx.format == Format::Text {
        access_key::next_steps(ctx, &report);
    }
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
