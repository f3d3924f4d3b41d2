//! The login form: server, user name, masked password, log in or register.

use ratatui_textarea::TextArea;

use crate::protocol::{validate_password, Password, UserName};

use super::event::Credentials;

/// The form's fields, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Server,
    User,
    Password,
    /// The password typed again; only when registering.
    Confirm,
    Mode,
}

impl Field {
    const ORDER: [Field; 5] = [
        Field::Server,
        Field::User,
        Field::Password,
        Field::Confirm,
        Field::Mode,
    ];

    /// The field after this one; `Confirm` only when `register`.
    pub fn next(self, register: bool) -> Field {
        self.step(register, 1)
    }

    /// The field before this one; `Confirm` only when `register`.
    pub fn prev(self, register: bool) -> Field {
        self.step(register, Self::ORDER.len() - 1)
    }

    fn step(self, register: bool, by: usize) -> Field {
        let n = Self::ORDER.len();
        let mut i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        loop {
            i = (i + by) % n;
            if register || Self::ORDER[i] != Field::Confirm {
                return Self::ORDER[i];
            }
        }
    }
}

/// What the form says when the two passwords differ.
pub const MISMATCH: &str = "the two passwords differ: type the same password twice";

/// The form's state. Kept as it is when the server refuses a login, so the
/// user only fixes what was wrong.
#[derive(Debug, Clone)]
pub struct LoginForm {
    pub server: TextArea<'static>,
    pub user: TextArea<'static>,
    pub password: TextArea<'static>,
    /// The password again, when registering: a typo would otherwise lock
    /// the user out of the account just made.
    pub confirm: TextArea<'static>,
    pub register: bool,
    pub focus: Field,
    /// The last error, shown under the fields.
    pub error: Option<String>,
    /// A login is under way.
    pub busy: bool,
    /// The server or user was filled in from the last login (the form says
    /// so while no error or login under way takes the line).
    pub remembered: bool,
}

/// A masked field.
fn secret(text: &str) -> TextArea<'static> {
    let mut field = single_line(text);
    field.set_mask_char('•');
    field
}

fn single_line(text: &str) -> TextArea<'static> {
    let mut ta = TextArea::new(vec![text.to_owned()]);
    ta.move_cursor(ratatui_textarea::CursorMove::End);
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta
}

impl LoginForm {
    pub fn new(server: &str, user: &str, register: bool) -> LoginForm {
        LoginForm {
            server: single_line(server),
            user: single_line(user),
            password: secret(""),
            confirm: secret(""),
            register,
            focus: if user.is_empty() {
                Field::User
            } else {
                Field::Password
            },
            error: None,
            busy: false,
            remembered: false,
        }
    }

    /// The focused text field, if the focus is on one.
    pub fn field_mut(&mut self) -> Option<&mut TextArea<'static>> {
        match self.focus {
            Field::Server => Some(&mut self.server),
            Field::User => Some(&mut self.user),
            Field::Password => Some(&mut self.password),
            Field::Confirm if self.register => Some(&mut self.confirm),
            Field::Confirm | Field::Mode => None,
        }
    }

    pub fn server_text(&self) -> String {
        self.server.lines().concat().trim().to_owned()
    }

    pub fn user_text(&self) -> String {
        self.user.lines().concat().trim().to_owned()
    }

    fn password_text(&self) -> String {
        self.password.lines().concat()
    }

    /// Switches between logging in and registering; the focus leaves the
    /// confirmation when it goes away.
    pub fn toggle_mode(&mut self) {
        self.register = !self.register;
        if !self.register && self.focus == Field::Confirm {
            self.focus = Field::Password;
        }
    }

    /// Checks what can be checked locally and builds the credentials; the
    /// error names the rule, and moves the focus to the field at fault.
    pub fn credentials(&mut self) -> Result<Credentials, String> {
        let server = self.server_text();
        if server.is_empty() {
            self.focus = Field::Server;
            return Err("enter the server address, e.g. 127.0.0.1:7700".into());
        }
        if let Err(e) = super::address::parse_list(&server) {
            self.focus = Field::Server;
            return Err(e.to_string());
        }
        let user = self.user_text();
        let parsed = if self.register {
            UserName::parse_registrable(&user)
        } else {
            UserName::parse(&user)
        };
        if let Err(e) = parsed {
            self.focus = Field::User;
            return Err(format!("{e}"));
        }
        let password = self.password_text();
        if password.is_empty() {
            self.focus = Field::Password;
            return Err("enter your password".into());
        }
        if self.register {
            if let Err(e) = validate_password(&password) {
                self.focus = Field::Password;
                return Err(format!("{e}"));
            }
            // Refused here, before anything is sent: nothing about a
            // mistyped password reaches the server.
            let confirm = self.confirm.lines().concat();
            if confirm.is_empty() {
                self.focus = Field::Confirm;
                return Err("type the password again to confirm it".into());
            }
            if confirm != password {
                self.focus = Field::Confirm;
                self.confirm = secret("");
                return Err(MISMATCH.into());
            }
        }
        Ok(Credentials {
            server,
            user,
            password: Password(password),
            register: self.register,
        })
    }

    /// Fills the user field (the account a session ended for).
    pub fn set_user(&mut self, user: &str) {
        self.user = single_line(user);
    }

    /// Fills the password field and its confirmation (from
    /// `TCHAT_PASSWORD`: nothing was typed, so nothing can be mistyped).
    pub fn set_password(&mut self, password: &str) {
        self.password = secret(password);
        self.confirm = secret(password);
    }

    /// Forgets the typed password (after a successful login).
    pub fn clear_password(&mut self) {
        self.password = secret("");
        self.confirm = secret("");
    }
}
