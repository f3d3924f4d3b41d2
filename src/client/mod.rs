//! `tchat`, the terminal client.
//!
//! The Elm architecture: `app::App` is the state and `App::update` the only
//! place it changes; `ui::render` draws it; `net` owns the socket; the main
//! loop below moves events in and commands out. The loop is generic over the
//! ratatui `Backend`, so tests drive the real client on a `TestBackend`.

pub mod address;
pub mod app;
pub mod chat;
pub mod chats;
pub mod commands;
pub mod config;
pub mod event;
pub mod keys;
pub mod known_servers;
pub mod login;
pub mod net;
pub mod remember;
pub mod sanitize;
pub mod terminal;
pub mod theme;
pub mod time;
pub mod trust;
pub mod ui;
pub mod view;
pub mod views;
pub mod wrap;

use ratatui::backend::Backend;
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedReceiver;

pub use app::App;
pub use event::{Command, Credentials, Event, FileCommand, FileEvent, NetEvent};

/// Why the main loop stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// Where `Command`s go: the network, the bell.
pub trait Effects {
    fn connect(&mut self, creds: Credentials);
    /// Remember a certificate the user trusted and connect again.
    fn trust(&mut self, server: String, fingerprint: String);
    fn send(&mut self, frame: crate::protocol::ClientFrame);
    fn bell(&mut self);
    /// A file transfer command; edges without a network ignore it.
    fn file(&mut self, _cmd: FileCommand) {}
    /// Remember the server and user of a login for the next start; edges
    /// without a state directory ignore it.
    fn remember(&mut self, _last: remember::LastLogin) {}
}

/// Carries out the commands; returns true on quit.
pub fn apply<E: Effects>(commands: Vec<Command>, effects: &mut E) -> bool {
    let mut quit = false;
    for c in commands {
        match c {
            Command::Connect(creds) => effects.connect(creds),
            Command::Send(frame) => effects.send(frame),
            Command::Trust {
                server,
                fingerprint,
            } => effects.trust(server, fingerprint),
            Command::File(cmd) => effects.file(cmd),
            Command::Bell => effects.bell(),
            Command::Remember(last) => effects.remember(last),
            Command::Quit => quit = true,
        }
    }
    quit
}

/// Most events handled between two looks at the clock: a flood from the
/// server is taken in slices, so a draw is never far away.
pub const MAX_EVENTS_PER_SLICE: usize = 256;
/// Shortest time between two draws while events keep coming (60 a second).
pub const FRAME_INTERVAL: std::time::Duration = std::time::Duration::from_millis(16);

/// The main loop: draw, wait for an event, update, carry out the commands,
/// draw again. It sleeps while nothing happens: no redraws, and a tick only
/// while something on screen ages (`App::tick_interval`).
///
/// Under a flood of events (a busy or hostile server) it handles them in
/// slices of `MAX_EVENTS_PER_SLICE`, yielding between slices, and draws
/// once the queue is empty or at most every `FRAME_INTERVAL`: the screen
/// keeps up, keys and signals (queued behind the flood) are reached at
/// once since each event costs O(log n), and drawing never takes over.
pub async fn run<B: Backend, E: Effects>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: &mut UnboundedReceiver<Event>,
    effects: &mut E,
    initial: Vec<Command>,
) -> Result<(), RunError> {
    if apply(initial, effects) {
        return Ok(());
    }
    loop {
        terminal
            .draw(|f| ui::render(app, f))
            .map_err(|e| RunError::Draw(format!("{e:?}")))?;
        let drawn = tokio::time::Instant::now();
        let next = match app.tick_interval() {
            Some(every) => match tokio::time::timeout(every, events.recv()).await {
                Ok(next) => next,
                Err(_) => Some(Event::Tick),
            },
            None => events.recv().await,
        };
        let Some(event) = next else {
            return Ok(());
        };
        let mut pending = Some(event);
        loop {
            // One slice: what is already waiting, up to the limit.
            let mut commands = Vec::new();
            let mut handled = 0;
            while handled < MAX_EVENTS_PER_SLICE && !app.should_quit() {
                let ev = match pending.take() {
                    Some(ev) => ev,
                    None => match events.try_recv() {
                        Ok(ev) => ev,
                        Err(_) => break,
                    },
                };
                app.now_ms = crate::protocol::now_ms();
                commands.extend(app.update(ev));
                handled += 1;
            }
            if apply(commands, effects) || app.should_quit() {
                return Ok(());
            }
            // The queue is empty, or a frame is due: draw.
            if handled < MAX_EVENTS_PER_SLICE || drawn.elapsed() >= FRAME_INTERVAL {
                break;
            }
            // Let the input and network tasks run before the next slice.
            tokio::task::yield_now().await;
        }
    }
}
