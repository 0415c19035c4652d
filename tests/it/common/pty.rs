//! The binary in a pseudo-terminal, as a person runs it: what it draws, read back as the
//! terminal shows it.

use std::process::Command;

use rexpect::session::{spawn_command, PtySession};

use super::clean_env;

/// The binary in a pseudo-terminal of `cols` columns and 40 rows, pointed at moto.
pub fn pty(endpoint: &str, cols: u16, args: &[&str]) -> PtySession {
    pty_with(endpoint, cols, args, |_| {})
}

/// The same, its environment changed by `env` (a region taken away, profile files given).
pub fn pty_with(
    endpoint: &str,
    cols: u16,
    args: &[&str],
    env: impl FnOnce(&mut Command),
) -> PtySession {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("stty cols {cols} rows 40; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_serverless-s3-setup"))
        .args(args);
    clean_env(&mut cmd, endpoint);
    cmd.env("TERM", "xterm-256color");
    env(&mut cmd);
    spawn_command(cmd, Some(30_000)).expect("spawn in a pty")
}

/// Types keys (raw: `\r` is Enter, `j` moves a selection down).
pub fn keys(p: &mut PtySession, s: &str) {
    p.send(s).unwrap();
    p.flush().unwrap();
}

/// How the process ended, as `Exited(Pid(…), 0)`: a test checks the end of it.
pub fn exit_code(p: &PtySession) -> String {
    format!("{:?}", p.process().wait().unwrap())
}

/// What a terminal of this size shows after this output, row by row. rexpect hands the output
/// over one byte per `char`; the bytes are put back together first.
pub fn screen(output: &str, cols: u16) -> Vec<String> {
    let bytes: Vec<u8> = output.chars().map(|c| c as u32 as u8).collect();
    let mut parser = vt100::Parser::new(40, cols, 0);
    parser.process(&bytes);
    parser.screen().rows(0, cols).collect()
}

/// Fails if a row of the screen starts with a frame of a spinner: one was drawn over, or left
/// when the run ended.
pub fn assert_no_spinner(rows: &[String]) {
    let text = rows.join("\n");
    for row in rows {
        assert!(
            !row.starts_with(|c: char| ('\u{2800}'..='\u{28ff}').contains(&c)),
            "a spinner frame is left: {row:?}\n{text}"
        );
    }
}
