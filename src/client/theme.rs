//! Colour themes, read from `themes/*.toml`.
//!
//! The built-in themes are compiled into the binary so `tchat` works with no
//! files installed; a file with the same name in `<config dir>/tchat/themes/`
//! overrides a built-in one, and any other file there adds a theme. A theme
//! only needs the styles it changes: the rest come from `default`. The format
//! is described in `themes/README.md`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

/// The themes shipped inside the binary, as (name, TOML source).
pub const BUILTIN: [(&str, &str); 4] = [
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("solarized", include_str!("../../themes/solarized.toml")),
];

/// Why a theme could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("theme {name:?}: {error}")]
    Toml {
        name: String,
        error: toml::de::Error,
    },
    #[error("theme {name:?}: unknown style {key:?}")]
    UnknownStyle { name: String, key: String },
    #[error("theme {name:?}: style {key:?}: bad colour {value:?}")]
    BadColor {
        name: String,
        key: String,
        value: String,
    },
    #[error("no theme called {0:?} (try one of: {1})")]
    NotFound(String, String),
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

macro_rules! styles {
    ($($field:ident),* $(,)?) => {
        /// Every style the UI uses, by role.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Styles { $(pub $field: Style,)* }

        impl Styles {
            fn slot(&mut self, key: &str) -> Option<&mut Style> {
                match key { $(stringify!($field) => Some(&mut self.$field),)* _ => None }
            }
            fn empty() -> Styles { Styles { $($field: Style::default(),)* } }
            /// Every style with its name.
            pub fn named(&self) -> Vec<(&'static str, Style)> {
                vec![$((stringify!($field), self.$field),)*]
            }
            fn for_each(&mut self, mut f: impl FnMut(&mut Style)) { $(f(&mut self.$field);)* }
        }
    };
}

styles!(
    base,
    tab,
    tab_active,
    tab_activity,
    tab_highlight,
    tab_bar,
    timestamp,
    day_line,
    system,
    own_text,
    own_nick,
    mention,
    new_marker,
    status_bar,
    status_ok,
    status_warn,
    status_err,
    input,
    prompt,
    cursor,
    notice,
    error,
    border,
    title,
    selected,
    away,
    busy,
    available,
    dim,
);

/// A complete theme: every style set, and a non-empty nick palette.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub styles: Styles,
    pub nicks: Vec<Color>,
    /// The colour painted behind everything, for a theme whose colours
    /// only read on it (dark text needs a light background whatever the
    /// terminal's own is). `None` leaves the terminal's background: the
    /// theme is made for a dark one.
    pub background: Option<Color>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    #[allow(dead_code)]
    name: Option<String>,
    nicks: Option<Vec<String>>,
    background: Option<String>,
    #[serde(default)]
    styles: BTreeMap<String, RawStyle>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStyle {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    dim: bool,
}

fn color(name: &str, key: &str, value: &str) -> Result<Color, ThemeError> {
    Color::from_str(value).map_err(|_| ThemeError::BadColor {
        name: name.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

impl Theme {
    /// The built-in dark theme; always valid (checked by a test).
    pub fn default_theme() -> Theme {
        Theme::parse("default", BUILTIN[0].1, None).unwrap_or_else(|_| Theme {
            name: "default".into(),
            styles: Styles::empty(),
            nicks: vec![Color::Reset],
            background: None,
        })
    }

    /// Parses a theme; styles it does not set are taken from `base`.
    pub fn parse(name: &str, source: &str, base: Option<&Theme>) -> Result<Theme, ThemeError> {
        let raw: RawTheme = toml::from_str(source).map_err(|error| ThemeError::Toml {
            name: name.to_owned(),
            error,
        })?;
        let mut styles = base.map_or_else(Styles::empty, |b| b.styles.clone());
        for (key, rs) in &raw.styles {
            let mut style = Style::default();
            if let Some(fg) = &rs.fg {
                style = style.fg(color(name, key, fg)?);
            }
            if let Some(bg) = &rs.bg {
                style = style.bg(color(name, key, bg)?);
            }
            for (on, m) in [
                (rs.bold, Modifier::BOLD),
                (rs.italic, Modifier::ITALIC),
                (rs.underlined, Modifier::UNDERLINED),
                (rs.reversed, Modifier::REVERSED),
                (rs.dim, Modifier::DIM),
            ] {
                if on {
                    style = style.add_modifier(m);
                }
            }
            let slot = styles.slot(key).ok_or_else(|| ThemeError::UnknownStyle {
                name: name.to_owned(),
                key: key.clone(),
            })?;
            *slot = style;
        }
        let background = match &raw.background {
            Some(v) => Some(color(name, "background", v)?).filter(|c| *c != Color::Reset),
            None => base.and_then(|b| b.background),
        };
        // With a background, nothing shows the terminal's own: the base
        // style and every style asking for the terminal's (`reset`) get
        // the theme's.
        if let Some(bg) = background {
            styles.base = styles.base.bg(bg);
            styles.for_each(|st| {
                if st.bg == Some(Color::Reset) {
                    *st = st.bg(bg);
                }
            });
        }
        let nicks = match raw.nicks {
            Some(list) if !list.is_empty() => list
                .iter()
                .map(|v| color(name, "nicks", v))
                .collect::<Result<Vec<_>, _>>()?,
            _ => base.map_or_else(|| vec![Color::Reset], |b| b.nicks.clone()),
        };
        Ok(Theme {
            name: name.to_owned(),
            styles,
            nicks,
            background,
        })
    }

    /// The colour for a nick: a stable hash (FNV-1a over the lower-cased
    /// name, so it never changes between runs or with the spelling's case)
    /// into the palette.
    pub fn nick_color(&self, nick: &str) -> Color {
        let mut h: u32 = 0x811c_9dc5;
        for b in nick.bytes() {
            h ^= u32::from(b.to_ascii_lowercase());
            h = h.wrapping_mul(0x0100_0193);
        }
        self.nicks[(h as usize) % self.nicks.len().max(1)]
    }
}

/// The RGB a colour is commonly shown as (xterm's palette for names and
/// indexes); `None` for `reset`, which depends on the terminal.
pub fn rgb(c: Color) -> Option<(u8, u8, u8)> {
    const ANSI: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let index = |i: u8| -> (u8, u8, u8) {
        match i {
            0..=15 => ANSI[usize::from(i)],
            16..=231 => {
                let step = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
                let v = i - 16;
                (step(v / 36), step(v / 6 % 6), step(v % 6))
            }
            _ => {
                let g = 8 + 10 * (i - 232);
                (g, g, g)
            }
        }
    };
    Some(match c {
        Color::Reset => return None,
        Color::Black => ANSI[0],
        Color::Red => ANSI[1],
        Color::Green => ANSI[2],
        Color::Yellow => ANSI[3],
        Color::Blue => ANSI[4],
        Color::Magenta => ANSI[5],
        Color::Cyan => ANSI[6],
        Color::Gray => ANSI[7],
        Color::DarkGray => ANSI[8],
        Color::LightRed => ANSI[9],
        Color::LightGreen => ANSI[10],
        Color::LightYellow => ANSI[11],
        Color::LightBlue => ANSI[12],
        Color::LightMagenta => ANSI[13],
        Color::LightCyan => ANSI[14],
        Color::White => ANSI[15],
        Color::Rgb(r, g, b) => (r, g, b),
        Color::Indexed(i) => index(i),
    })
}

/// The WCAG contrast ratio of two colours (1 to 21); `None` when either
/// is the terminal's own.
pub fn contrast(a: Color, b: Color) -> Option<f64> {
    let lum = |c: Color| -> Option<f64> {
        let (r, g, b) = rgb(c)?;
        let ch = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        Some(0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b))
    };
    let (la, lb) = (lum(a)?, lum(b)?);
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
}

/// All themes the user can pick: the built-in ones plus those found in a
/// directory. Sources are kept and parsed on demand, so one broken file only
/// fails when it is chosen.
#[derive(Debug, Clone)]
pub struct ThemeSet {
    sources: HashMap<String, String>,
}

impl ThemeSet {
    /// Only the built-in themes.
    pub fn builtin() -> ThemeSet {
        ThemeSet {
            sources: BUILTIN
                .iter()
                .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
                .collect(),
        }
    }

    /// The built-in themes, plus every `*.toml` in `dir` (if it exists).
    pub fn load(dir: Option<&Path>) -> Result<ThemeSet, ThemeError> {
        let mut set = ThemeSet::builtin();
        let Some(dir) = dir else { return Ok(set) };
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(set),
            Err(source) => {
                return Err(ThemeError::Io {
                    path: dir.display().to_string(),
                    source,
                })
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("toml") {
                continue;
            }
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Io {
                path: path.display().to_string(),
                source,
            })?;
            set.sources.insert(stem.to_owned(), text);
        }
        Ok(set)
    }

    /// Theme names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.sources.keys().cloned().collect();
        v.sort();
        v
    }

    /// Parses the named theme on top of `default`.
    pub fn get(&self, name: &str) -> Result<Theme, ThemeError> {
        let source = self
            .sources
            .get(name)
            .ok_or_else(|| ThemeError::NotFound(name.to_owned(), self.names().join(", ")))?;
        let default = match self.sources.get("default") {
            Some(src) if name != "default" => Theme::parse("default", src, None)?,
            _ => Theme::parse("default", BUILTIN[0].1, None)?,
        };
        Theme::parse(name, source, Some(&default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_and_sets_every_style() {
        let empty = Styles::empty();
        for (name, src) in BUILTIN {
            let theme = Theme::parse(name, src, None).unwrap();
            assert!(!theme.nicks.is_empty());
            // each built-in theme is complete on its own
            for key in [
                "base",
                "tab_active",
                "tab_highlight",
                "own_text",
                "status_bar",
            ] {
                let mut s = theme.styles.clone();
                let mut e = empty.clone();
                assert_ne!(s.slot(key).copied(), e.slot(key).copied(), "{name}.{key}");
            }
        }
    }

    /// The background text is read on: the style's own, else the theme's;
    /// a theme without one is made for a dark terminal, so it is read on
    /// black.
    fn behind(theme: &Theme, style: Style) -> Color {
        match style.bg {
            Some(bg) if bg != Color::Reset => bg,
            _ => theme.background.unwrap_or(Color::Black),
        }
    }

    #[test]
    fn every_builtin_theme_reads_on_the_background_it_assumes() {
        let set = ThemeSet::builtin();
        let mut problems = Vec::new();
        for (name, _) in BUILTIN {
            let theme = set.get(name).unwrap();
            if let Some(bg) = theme.background {
                assert_eq!(theme.styles.base.bg, Some(bg), "{name}: base is painted");
                for (key, st) in theme.styles.named() {
                    assert_ne!(
                        st.bg,
                        Some(Color::Reset),
                        "{name}.{key} shows the terminal's"
                    );
                }
            } else {
                // Left on the terminal's background: it must be a dark
                // theme's colours, or the base must bring its own.
                assert!(
                    theme.styles.base.bg.is_some_and(|b| b != Color::Reset)
                        || contrast(theme.styles.base.fg.unwrap(), Color::Black).unwrap() >= 7.0,
                    "{name}: text meant for a dark terminal"
                );
            }
            // Text: readable (WCAG 4.5 for body text, 3 for the quiet
            // lines, hints and borders, which are meant to recede).
            for (key, st) in theme.styles.named() {
                let Some(fg) = st.fg.filter(|c| *c != Color::Reset) else {
                    continue;
                };
                if st.add_modifier.contains(Modifier::REVERSED) {
                    continue;
                }
                let min = match key {
                    "dim" | "timestamp" | "system" | "border" | "day_line" => 2.5,
                    _ => 3.0,
                };
                let ratio = contrast(fg, behind(&theme, st)).unwrap();
                if ratio < min {
                    problems.push(format!("{name}.{key}: contrast {ratio:.2} < {min}"));
                }
            }
            for nick in &theme.nicks {
                let ratio = contrast(*nick, behind(&theme, theme.styles.base)).unwrap();
                if ratio < 3.0 {
                    problems.push(format!("{name}: nick {nick:?} contrast {ratio:.2}"));
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_background_is_painted_under_every_style_that_asks_for_the_terminals() {
        let base = Theme::default_theme();
        let t = Theme::parse(
            "x",
            "background = \"#ffffff\"\n[styles]\ninput = { fg = \"#000000\", bg = \"reset\" }\n",
            Some(&base),
        )
        .unwrap();
        assert_eq!(t.background, Some(Color::Rgb(255, 255, 255)));
        assert_eq!(t.styles.base.bg, Some(Color::Rgb(255, 255, 255)));
        assert_eq!(t.styles.input.bg, Some(Color::Rgb(255, 255, 255)));
        assert_eq!(base.background, None, "the default leaves the terminal's");
    }

    #[test]
    fn partial_theme_inherits_and_bad_input_is_reported() {
        let set = ThemeSet::builtin();
        let base = set.get("default").unwrap();
        let t = Theme::parse("x", "[styles]\nerror = { fg = \"red\" }\n", Some(&base)).unwrap();
        assert_eq!(t.styles.error, Style::default().fg(Color::Red));
        assert_eq!(t.styles.tab_active, base.styles.tab_active);
        let err =
            Theme::parse("x", "[styles]\nnope = { fg = \"red\" }\n", Some(&base)).unwrap_err();
        assert!(err.to_string().contains("unknown style \"nope\""));
        let err = Theme::parse("x", "[styles]\nerror = { fg = \"reddish\" }\n", None).unwrap_err();
        assert!(err.to_string().contains("bad colour"));
        assert!(matches!(set.get("nope"), Err(ThemeError::NotFound(..))));
    }

    #[test]
    fn nick_colours_are_stable_and_case_blind() {
        let t = Theme::default_theme();
        assert_eq!(t.nick_color("Alice"), t.nick_color("alice"));
        assert_eq!(t.nick_color("Bob"), t.nick_color("Bob"));
        let distinct: std::collections::HashSet<_> = ["Alice", "Bob", "Carol", "Dave", "Eve"]
            .iter()
            .map(|n| format!("{:?}", t.nick_color(n)))
            .collect();
        assert!(distinct.len() >= 3);
    }

    #[test]
    fn user_directory_adds_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mine.toml"), "nicks = [\"red\"]\n").unwrap();
        let set = ThemeSet::load(Some(dir.path())).unwrap();
        assert!(set.names().contains(&"mine".to_owned()));
        assert_eq!(set.get("mine").unwrap().nicks, vec![Color::Red]);
    }
}
