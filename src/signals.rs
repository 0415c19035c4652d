//! Ctrl-C and SIGTERM, so that an interrupted apply can undo its work before it exits.

/// Resolves when the process is asked to stop; names the signal.
pub async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "Ctrl-C";
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Takes over SIGINT and SIGTERM for the rest of the process. Needs a tokio runtime context.
pub fn install() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        // Registering is enough: tokio keeps the handlers for the life of the process.
        let _ = signal(SignalKind::interrupt());
        let _ = signal(SignalKind::terminate());
    }
}
