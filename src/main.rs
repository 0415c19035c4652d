mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use serverless_s3_setup::aws::Connection;
use serverless_s3_setup::error::{exit, Error};
use serverless_s3_setup::output::{self, Format, Ui};
use serverless_s3_setup::prompt::{NoPrompts, Prompter, Terminal};
use serverless_s3_setup::{access_key, log, role, teardown, verify, Context};

use cli::{AccessKeyAction, Cli, Command, OutputFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match cli.global.output {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
    };
    let ui = Ui::detect(cli.global.quiet);
    log::set_level(if cli.global.quiet {
        -1
    } else {
        cli.global.verbose as i8
    });
    let code = match run(cli, format, &ui) {
        Ok(()) => exit::OK,
        Err(Error::Reported) => exit::FAILED,
        Err(e) => {
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
    };
    let mut prompter: Box<dyn Prompter> = if ctx.can_prompt {
        Box::new(Terminal::default())
    } else {
        Box::new(NoPrompts)
    };
    match cli.command {
        Some(Command::Role(args)) => {
            let request = args.into_request()?;
            let report = runtime()?.block_on(role::run(&ctx, request, prompter.as_mut()))?;
            output::emit(format, &report, || role::render_text(&ctx, &report));
            if format == Format::Text {
                role::next_steps(&ctx, &report);
            }
            Ok(())
        }
        Some(Command::Verify(args)) => {
            let request = args.into_request()?;
            let report = runtime()?.block_on(verify::run(&ctx, request))?;
            output::emit(format, &report, || verify::render_text(&ctx, &report));
            match report.ok {
                true => Ok(()),
                false => Err(Error::Reported),
            }
        }
        Some(Command::Teardown(args)) => {
            let request = args.into_request()?;
            let outcome = runtime()?.block_on(teardown::run(&ctx, request, prompter.as_mut()))?;
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
        Some(Command::AccessKey(args)) => match args.action {
            Some(AccessKeyAction::Delete(args)) => {
                let request = args.into_request()?;
                let outcome =
                    runtime()?.block_on(access_key::delete(&ctx, request, prompter.as_mut()))?;
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
            None => {
                let request = args.create.into_request()?;
                let report =
                    runtime()?.block_on(access_key::run(&ctx, request, prompter.as_mut()))?;
                output::emit(format, &report, || access_key::render_text(&ctx, &report));
                access_key::warn_once(&ctx, &report);
                if format == Format::Text {
                    access_key::next_steps(&ctx, &report);
                }
                Ok(())
            }
        },
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Err(Error::Missing {
                flags: vec!["a command (role or access-key)".into()],
                hint: String::new(),
            })
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Other(anyhow::anyhow!("starting the async runtime: {e}")))
}
