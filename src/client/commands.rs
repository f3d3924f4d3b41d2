//! Slash commands typed in the input line.

use crate::protocol::{ChatKey, GroupKind, GroupRole, Status};

/// A parsed `/command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    Chat(String),
    /// `/msg NAME text`: send `text` to NAME's private chat, asking for
    /// the chat first if it is not open.
    Msg {
        user: String,
        text: String,
    },
    Accept(String),
    Reject(String),
    Cancel(String),
    /// End the private chat of the current tab.
    End,
    Who,
    /// Show the server's message of the day.
    Motd,
    Status(Status),
    Theme(String),
    Help,
    Quit,
    /// Create a group (`kind` as typed; the server's default is open).
    Create {
        chat: ChatKey,
        kind: Option<GroupKind>,
        topic: Option<String>,
    },
    Join(ChatKey),
    /// Leave the group of the current tab (or close its tab once closed).
    Leave,
    Invite(String),
    Kick {
        user: String,
        reason: Option<String>,
    },
    /// Set the current group's topic; empty clears it.
    Topic(String),
    Role {
        user: String,
        role: GroupRole,
    },
    /// Delete the current group: only with its name typed again, since it
    /// deletes every message for everyone.
    DeleteGroup(Option<ChatKey>),
    /// The directory of groups.
    Groups,
    /// Refresh and show the current group's members.
    Members,
    /// Administration (§13), for server admins: ban for `minutes` (for
    /// good without).
    Ban {
        user: String,
        minutes: Option<u64>,
        reason: Option<String>,
    },
    Unban(String),
    Mute {
        user: String,
        minutes: Option<u64>,
        reason: Option<String>,
    },
    Unmute(String),
    /// §13's `kick`: end every session of the user.
    Disconnect {
        user: String,
        reason: Option<String>,
    },
    /// `set_role` admin.
    Promote(String),
    /// `set_role` user.
    Demote(String),
    /// The audit log.
    Audit,
    /// Send a file to this tab: the path and the caption as typed.
    SendFile(String),
    /// Fetch the newest file of this tab.
    Get,
    /// Open the last download with the system's opener.
    Open,
    /// Cancel this tab's newest transfer.
    CancelTransfer,
}

/// Every command with its argument and a one-line description, for `/help`,
/// the help overlay and Tab completion.
pub const COMMANDS: [(&str, &str, &str); 27] = [
    (
        "/chat",
        "NAME",
        "ask NAME for a private chat, or switch to it if open",
    ),
    ("/query", "NAME", "the same as /chat NAME"),
    (
        "/msg",
        "NAME text",
        "send text to NAME; asks for the chat first if it is not open",
    ),
    ("/accept", "NAME", "accept NAME's chat request"),
    ("/reject", "NAME", "reject NAME's chat request"),
    ("/cancel", "NAME", "cancel your request to NAME"),
    ("/end", "", "end the private chat in this tab"),
    ("/who", "", "list who is online (Esc closes the list)"),
    ("/motd", "", "the server's message of the day, whole"),
    ("/status", "available|away|busy", "set your status"),
    (
        "/create",
        "#name [open|invite] [topic]",
        "create a group (open: anyone may join)",
    ),
    ("/join", "#name", "join a group"),
    (
        "/leave",
        "",
        "leave the group in this tab (or close its tab)",
    ),
    ("/invite", "NAME", "invite NAME to the group in this tab"),
    ("/kick", "NAME [reason]", "remove NAME from the group"),
    ("/topic", "[text]", "set the group's topic; empty clears it"),
    (
        "/role",
        "NAME owner|mod|member",
        "change NAME's role in the group",
    ),
    (
        "/delete-group",
        "#name",
        "delete this tab's group and its messages for everyone",
    ),
    ("/groups", "", "the directory of groups: Enter joins"),
    ("/members", "", "list the group's members (F2: the panel)"),
    (
        "/send",
        "PATH [caption]",
        "send a file to this tab (Tab completes the path)",
    ),
    ("/get", "", "fetch the newest file of this tab"),
    (
        "/open",
        "",
        "open the last download with the system's opener",
    ),
    (
        "/cancel-transfer",
        "",
        "cancel this tab's upload or download",
    ),
    ("/theme", "NAME", "switch the colour theme"),
    ("/help", "", "show keys and commands"),
    ("/quit", "", "leave tchat"),
];

/// The administration commands (§13): listed in the help and completed
/// with Tab only for server admins. Anyone may type them; the server
/// answers `forbidden` to non-admins.
pub const ADMIN_COMMANDS: [(&str, &str, &str); 8] = [
    (
        "/ban",
        "NAME [MINUTES] [reason]",
        "ban NAME (for good without MINUTES); ends their sessions",
    ),
    ("/unban", "NAME", "lift NAME's ban"),
    (
        "/mute",
        "NAME [MINUTES] [reason]",
        "mute NAME in #public and groups (private chats still work)",
    ),
    ("/unmute", "NAME", "lift NAME's mute"),
    (
        "/disconnect",
        "NAME [reason]",
        "end NAME's sessions (they may log in again)",
    ),
    ("/promote", "NAME", "make NAME a server admin"),
    ("/demote", "NAME", "make NAME an ordinary user again"),
    (
        "/audit",
        "",
        "the audit log: ↑/↓ PgUp/PgDn scroll, Esc closes",
    ),
];

/// `NAME [MINUTES] [reason…]` of `/ban` and `/mute`. A word after the name
/// that starts with a digit is MINUTES and must be a positive whole number
/// (`/ban bob 10m` is refused rather than banning for good with the reason
/// "10m"); any other word starts the reason.
fn name_minutes_reason(
    cmd: &str,
    line: &str,
    arg: Option<&str>,
    extra: Option<&str>,
) -> Result<(String, Option<u64>, Option<String>), String> {
    let Some(user) = arg else {
        return Err(format!("usage: {cmd} NAME [MINUTES] [reason…]"));
    };
    let user = user.trim_start_matches('@').to_owned();
    let Some(word) = extra.filter(|w| {
        w.trim_start_matches(['-', '+'])
            .starts_with(|c: char| c.is_ascii_digit())
    }) else {
        return Ok((user, None, rest_after(line, 2)));
    };
    match word.parse::<u64>() {
        Ok(m) if m > 0 && word.bytes().all(|b| b.is_ascii_digit()) => {
            Ok((user, Some(m), rest_after(line, 3)))
        }
        _ => Err(format!(
            "MINUTES must be a positive whole number ({cmd} NAME 60 reason); leave it out for good"
        )),
    }
}

/// What follows the first `n` words of `line`, trimmed (`None` if nothing).
fn rest_after(line: &str, n: usize) -> Option<String> {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    let rest = rest.trim_end();
    (!rest.is_empty()).then(|| rest.to_owned())
}

/// A group's name as typed after a command: `#name`, never `#public`.
fn group_arg(cmd: &str, arg: Option<&str>, usage: &str) -> Result<ChatKey, String> {
    let Some(arg) = arg else {
        return Err(format!("usage: {cmd} {usage}"));
    };
    if !arg.starts_with('#') {
        return Err(format!(
            "group names start with #: {cmd} #{}",
            arg.trim_start_matches('@')
        ));
    }
    match ChatKey::parse(arg) {
        Some(ChatKey::Public) => Err("#public is the public room, not a group".to_owned()),
        Some(key @ ChatKey::Group(_)) => Ok(key),
        _ => Err("a group name is 1–32 letters, digits, _ or -, starting with a letter".to_owned()),
    }
}

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
        "/chat" | "/query" => need_name(name).map(SlashCommand::Chat),
        "/msg" => match (arg, rest_after(line, 2)) {
            (Some(a), Some(text)) => Ok(SlashCommand::Msg {
                user: a.trim_start_matches('@').to_owned(),
                text,
            }),
            _ => Err("usage: /msg NAME text".to_owned()),
        },
        "/accept" => need_name("/accept").map(SlashCommand::Accept),
        "/reject" => need_name("/reject").map(SlashCommand::Reject),
        "/cancel" => need_name("/cancel").map(SlashCommand::Cancel),
        "/end" => no_arg(SlashCommand::End),
        "/who" => no_arg(SlashCommand::Who),
        "/motd" => no_arg(SlashCommand::Motd),
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
        "/create" => {
            let chat = group_arg("/create", arg, "#name [open|invite] [topic]")?;
            let kind = extra.and_then(|k| GroupKind::parse(&k.to_ascii_lowercase()));
            let topic = rest_after(line, if kind.is_some() { 3 } else { 2 });
            Ok(SlashCommand::Create { chat, kind, topic })
        }
        "/join" => match extra {
            None => group_arg("/join", arg, "#name").map(SlashCommand::Join),
            Some(_) => Err("usage: /join #name".to_owned()),
        },
        "/leave" | "/part" => no_arg(SlashCommand::Leave),
        "/invite" => need_name("/invite").map(SlashCommand::Invite),
        "/kick" => match arg {
            Some(a) => Ok(SlashCommand::Kick {
                user: a.trim_start_matches('@').to_owned(),
                reason: rest_after(line, 2),
            }),
            None => Err("usage: /kick NAME [reason]".to_owned()),
        },
        "/topic" => Ok(SlashCommand::Topic(rest_after(line, 1).unwrap_or_default())),
        "/role" => match (
            arg,
            extra.and_then(|r| GroupRole::parse(&r.to_ascii_lowercase())),
            parts.next(),
        ) {
            (Some(a), Some(role), None) => Ok(SlashCommand::Role {
                user: a.trim_start_matches('@').to_owned(),
                role,
            }),
            _ => Err("usage: /role NAME owner|mod|member".to_owned()),
        },
        "/delete-group" => match (arg, extra) {
            (None, _) => Ok(SlashCommand::DeleteGroup(None)),
            (Some(_), None) => {
                group_arg("/delete-group", arg, "#name").map(|c| SlashCommand::DeleteGroup(Some(c)))
            }
            _ => Err("usage: /delete-group #name".to_owned()),
        },
        "/groups" => no_arg(SlashCommand::Groups),
        "/members" | "/names" => no_arg(SlashCommand::Members),
        "/ban" => name_minutes_reason("/ban", line, arg, extra).map(|(user, minutes, reason)| {
            SlashCommand::Ban {
                user,
                minutes,
                reason,
            }
        }),
        "/mute" => name_minutes_reason("/mute", line, arg, extra).map(|(user, minutes, reason)| {
            SlashCommand::Mute {
                user,
                minutes,
                reason,
            }
        }),
        "/unban" => need_name("/unban").map(SlashCommand::Unban),
        "/unmute" => need_name("/unmute").map(SlashCommand::Unmute),
        "/disconnect" => match arg {
            Some(a) => Ok(SlashCommand::Disconnect {
                user: a.trim_start_matches('@').to_owned(),
                reason: rest_after(line, 2),
            }),
            None => Err("usage: /disconnect NAME [reason…]".to_owned()),
        },
        "/promote" => need_name("/promote").map(SlashCommand::Promote),
        "/demote" => need_name("/demote").map(SlashCommand::Demote),
        "/audit" => no_arg(SlashCommand::Audit),
        "/send" => {
            let args = line[name.len()..].trim();
            if args.is_empty() {
                Err("usage: /send PATH [caption…]".to_owned())
            } else {
                Ok(SlashCommand::SendFile(args.to_owned()))
            }
        }
        "/get" | "/fetch" => no_arg(SlashCommand::Get),
        "/open" => no_arg(SlashCommand::Open),
        "/cancel-transfer" => no_arg(SlashCommand::CancelTransfer),
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
        assert_eq!(parse("/query Bob"), Ok(SlashCommand::Chat("Bob".into())));
        assert_eq!(
            parse("/msg @Bob  hi  there "),
            Ok(SlashCommand::Msg {
                user: "Bob".into(),
                text: "hi  there".into()
            })
        );
        assert!(parse("/msg Bob").unwrap_err().contains("usage: /msg"));
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
    fn parses_group_commands() {
        let rust = ChatKey::parse("#Rust").unwrap();
        assert_eq!(
            parse("/create #Rust invite  a  topic "),
            Ok(SlashCommand::Create {
                chat: rust.clone(),
                kind: Some(GroupKind::Invite),
                topic: Some("a  topic".into())
            })
        );
        assert_eq!(
            parse("/create #Rust all about rust"),
            Ok(SlashCommand::Create {
                chat: rust.clone(),
                kind: None,
                topic: Some("all about rust".into())
            })
        );
        assert_eq!(parse("/join #Rust"), Ok(SlashCommand::Join(rust)));
        assert_eq!(
            parse("/kick bob for spam"),
            Ok(SlashCommand::Kick {
                user: "bob".into(),
                reason: Some("for spam".into())
            })
        );
        assert_eq!(parse("/topic"), Ok(SlashCommand::Topic(String::new())));
        assert!(parse("/create rust").unwrap_err().contains("#rust"));
        assert!(parse("/create #public")
            .unwrap_err()
            .contains("public room"));
        assert!(parse("/join #9")
            .unwrap_err()
            .contains("starting with a letter"));
        assert!(parse("/role bob king").unwrap_err().contains("usage"));
        assert!(parse("/leave now").unwrap_err().contains("no argument"));
    }

    #[test]
    fn parses_admin_commands() {
        let ban = |user: &str, minutes, reason: Option<&str>| SlashCommand::Ban {
            user: user.into(),
            minutes,
            reason: reason.map(Into::into),
        };
        assert_eq!(
            parse("/ban bob 60 spam  and more "),
            Ok(ban("bob", Some(60), Some("spam  and more")))
        );
        assert_eq!(parse("/ban @bob spam"), Ok(ban("bob", None, Some("spam"))));
        assert_eq!(parse("/ban bob"), Ok(ban("bob", None, None)));
        assert_eq!(parse("/ban bob 5"), Ok(ban("bob", Some(5), None)));
        for bad in [
            "/ban bob 0",
            "/ban bob 10m",
            "/ban bob -5 x",
            "/ban bob 1.5",
            "/ban bob 99999999999999999999999",
        ] {
            assert!(
                parse(bad).unwrap_err().contains("positive whole number"),
                "{bad}"
            );
        }
        assert!(parse("/ban").unwrap_err().contains("usage"));
        assert_eq!(
            parse("/mute carol 10 calm down"),
            Ok(SlashCommand::Mute {
                user: "carol".into(),
                minutes: Some(10),
                reason: Some("calm down".into())
            })
        );
        assert_eq!(
            parse("/disconnect bob go home"),
            Ok(SlashCommand::Disconnect {
                user: "bob".into(),
                reason: Some("go home".into())
            })
        );
        assert_eq!(
            parse("/promote bob"),
            Ok(SlashCommand::Promote("bob".into()))
        );
        assert_eq!(parse("/demote bob"), Ok(SlashCommand::Demote("bob".into())));
        assert_eq!(parse("/unban bob"), Ok(SlashCommand::Unban("bob".into())));
        assert_eq!(parse("/unmute bob"), Ok(SlashCommand::Unmute("bob".into())));
        assert_eq!(parse("/audit"), Ok(SlashCommand::Audit));
        assert!(parse("/audit 5").unwrap_err().contains("no argument"));
        assert!(parse("/promote a b").unwrap_err().contains("usage"));
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
