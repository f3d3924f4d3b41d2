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
    Mode,
}

impl Field {
    const ORDER: [Field; 4] = [Field::Server, Field::User, Field::Password, Field::Mode];

    pub fn next(self) -> Field {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }

    pub fn prev(self) -> Field {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        Self::ORDER[(i + Self::ORDER.len() - 1) % Self::ORDER.len()]
    }
}

/// The form's state. Kept as it is when the server refuses a login, so the
/// user only fixes what was wrong.
#[derive(Debug, Clone)]
pub struct LoginForm {
    pub server: TextArea<'static>,
    pub user: TextArea<'static>,
    pub password: TextArea<'static>,
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

fn single_line(text: &str) -> TextArea<'static> {
    let mut ta = TextArea::new(vec![text.to_owned()]);
    ta.move_cursor(ratatui_textarea::CursorMove::End);
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta
}

impl LoginForm {
    pub fn new(server: &str, user: &str, register: bool) -> LoginForm {
        let mut password = single_line("");
        password.set_mask_char('•');
        LoginForm {
            server: single_line(server),
            user: single_line(user),
            password,
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
            Field::Mode => None,
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

    /// Checks what can be checked locally and builds the credentials; the
    /// error names the rule, and moves the focus to the field at fault.
    pub fn credentials(&mut self) -> Result<Credentials, String> {
        let server = self.server_text();
        if server.is_empty() {
            self.focus = Field::Server;
            return Err("enter the server address, e.g. 127.0.0.1:7700".into());
        }
        if let Err(e) = super::address::ServerAddr::parse(&server) {
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

    /// Fills the password field (from `TCHAT_PASSWORD`).
    pub fn set_password(&mut self, password: &str) {
        let mut field = single_line(password);
        field.set_mask_char('•');
        self.password = field;
    }

    /// Forgets the typed password (after a successful login).
    pub fn clear_password(&mut self) {
        let mut password = single_line("");
        password.set_mask_char('•');
        self.password = password;
    }
}
