//! Taking over the terminal and always giving it back.
//!
//! Raw mode, the alternate screen, mouse capture and bracketed paste are
//! switched on by `TerminalGuard::enter` and off again when the guard drops
//! (normal quit and errors), from the panic hook (panics), and on SIGTERM /
//! SIGHUP / SIGINT the main loop is told to quit so the guard drops too.

use std::io::{self, Write};

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableMouseCapture, EventStream,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::event::Event;

/// Restores the terminal; safe to call more than once.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        DisableFocusChange,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Holds the terminal in full-screen mode while alive.
pub struct TerminalGuard(());

impl TerminalGuard {
    /// Switches the terminal to full-screen mode and installs the panic hook.
    pub fn enter() -> io::Result<TerminalGuard> {
        let previous = std::panic::take_hook();
        // A panic on any thread ends the program: the terminal is given back
        // first, and a client with a dead task must not go on drawing.
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            std::process::exit(101);
        }));
        enable_raw_mode()?;
        let guard = TerminalGuard(());
        execute!(
            io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )?;
        Ok(guard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Rings the terminal bell (tmux then marks the window).
pub fn bell() {
    let mut out = io::stdout();
    let _ = out.write_all(b"\x07");
    let _ = out.flush();
}

/// Forwards terminal input to the app until the channel closes.
pub fn spawn_input(tx: UnboundedSender<Event>) {
    tokio::spawn(async move {
        let mut stream = EventStream::new();
        while let Some(ev) = stream.next().await {
            let ev = match ev {
                Ok(crossterm::event::Event::Key(k)) => Event::Key(k),
                Ok(crossterm::event::Event::Mouse(m)) => Event::Mouse(m),
                Ok(crossterm::event::Event::Resize(w, h)) => Event::Resize(w, h),
                Ok(crossterm::event::Event::Paste(p)) => Event::Paste(p),
                Ok(_) => continue,
                Err(_) => Event::Terminate,
            };
            if tx.send(ev).is_err() {
                return;
            }
        }
    });
}

/// Turns SIGTERM, SIGHUP and SIGINT into a quit event.
pub fn spawn_signals(tx: UnboundedSender<Event>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = hup.recv() => {}
            _ = int.recv() => {}
        }
        let _ = tx.send(Event::Terminate);
    });
}
