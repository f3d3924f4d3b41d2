//! Slash commands typed in the input line.

use crate::protocol::Status;

/// A parsed `/command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    Chat(String),
    Accept(String),
    Reject(String),
    Cancel(String),
    /// End the private chat of the current tab.
    End,
    Who,
    Status(Status),
    Theme(String),
    Help,
    Quit,
}

/// Every command with its argument and a one-line description, for `/help`,
/// the help overlay and Tab completion.
pub const COMMANDS: [(&str, &str, &str); 10] = [
    (
        "/chat",
        "NAME",
        "ask NAME for a private chat, or switch to it if open",
    ),
    ("/accept", "NAME", "accept NAME's chat request"),
    ("/reject", "NAME", "reject NAME's chat request"),
    ("/cancel", "NAME", "cancel your request to NAME"),
    ("/end", "", "end the private chat in this tab"),
    ("/who", "", "list who is online"),
    ("/status", "available|away|busy", "set your status"),
    ("/theme", "NAME", "switch the colour theme"),
    ("/help", "", "show keys and commands"),
    ("/quit", "", "leave tchat"),
];

/// Parses a line that starts with `/`. The error is shown to the user.
pub fn parse(line: &str) -> Result<SlashCommand, String> {
    let line = line.trim();
    let mut parts = line.split_whitespace();
    let name = parts.next().unwrap_or("");
    let arg = parts.next();
    let extra = parts.next();
    let need_name = |what: &str| -> Result<String, String> {
        match (arg, extra) {
            (Some(a), None) => Ok(a.trim_start_matches('@').to_owned()),
            _ => Err(format!("usage: {what} NAME")),
        }
    };
    let no_arg = |cmd: SlashCommand| -> Result<SlashCommand, String> {
        match arg {
            None => Ok(cmd),
            Some(_) => Err(format!("{name} takes no argument")),
        }
    };
    match name.to_ascii_lowercase().as_str() {
        "/chat" | "/query" | "/msg" => need_name("/chat").map(SlashCommand::Chat),
        "/accept" => need_name("/accept").map(SlashCommand::Accept),
        "/reject" => need_name("/reject").map(SlashCommand::Reject),
        "/cancel" => need_name("/cancel").map(SlashCommand::Cancel),
        "/end" => no_arg(SlashCommand::End),
        "/who" => no_arg(SlashCommand::Who),
        "/status" => match (arg.and_then(Status::parse), extra) {
            (Some(s), None) => Ok(SlashCommand::Status(s)),
            _ => Err("usage: /status available|away|busy".to_owned()),
        },
        "/theme" => match (arg, extra) {
            (Some(t), None) => Ok(SlashCommand::Theme(t.to_owned())),
            _ => Err("usage: /theme NAME".to_owned()),
        },
        "/help" => no_arg(SlashCommand::Help),
        "/quit" | "/exit" => no_arg(SlashCommand::Quit),
        _ => Err(format!("unknown command {name} (F1 lists them)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse("/chat bob"), Ok(SlashCommand::Chat("bob".into())));
        assert_eq!(parse("/chat @Bob"), Ok(SlashCommand::Chat("Bob".into())));
        assert_eq!(parse(" /END "), Ok(SlashCommand::End));
        assert_eq!(
            parse("/status away"),
            Ok(SlashCommand::Status(Status::Away))
        );
        assert_eq!(
            parse("/theme light"),
            Ok(SlashCommand::Theme("light".into()))
        );
        assert_eq!(parse("/quit"), Ok(SlashCommand::Quit));
    }

    #[test]
    fn reports_mistakes() {
        assert!(parse("/chat").unwrap_err().contains("usage"));
        assert!(parse("/chat a b").unwrap_err().contains("usage"));
        assert!(parse("/status sleepy").unwrap_err().contains("usage"));
        assert!(parse("/who me").unwrap_err().contains("no argument"));
        assert!(parse("/frobnicate")
            .unwrap_err()
            .contains("unknown command /frobnicate"));
    }
}
