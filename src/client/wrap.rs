//! Wrapping by display width.
//!
//! Terminals place text by cells, not bytes or chars: CJK ideographs and most
//! emoji take two cells, combining marks none. Width is measured per grapheme
//! cluster with `unicode-width`, the same measure ratatui uses when it writes
//! a string into its buffer, so what we lay out is what gets drawn.

use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthStr;

/// Display width of a string in cells.
pub fn width(s: &str) -> usize {
    s.graphemes(true).map(grapheme_width).sum()
}

fn grapheme_width(g: &str) -> usize {
    UnicodeWidthStr::width(g)
}

/// Wraps `text` (which may contain `\n`) so that the first line is at most
/// `first` cells wide and every following line at most `rest`. Breaks after
/// spaces where it can and inside a word only when the word alone is too
/// long. Returns byte ranges into `text`, one per row, without the newline.
pub fn wrap(text: &str, first: usize, rest: usize) -> Vec<(usize, usize)> {
    let mut rows = Vec::new();
    let mut base = 0;
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            base += 1;
        }
        wrap_line(line, base, &mut rows, first, rest);
        base += line.len();
    }
    rows
}

fn wrap_line(line: &str, base: usize, rows: &mut Vec<(usize, usize)>, first: usize, rest: usize) {
    let limit = |rows: &Vec<(usize, usize)>| if rows.is_empty() { first } else { rest }.max(1);
    if line.is_empty() {
        rows.push((base, base));
        return;
    }
    let mut start = 0; // byte offset of the current row in `line`
    let mut used = 0; // cells used on the current row
    let mut last_break: Option<(usize, usize)> = None; // (byte after space, cells up to it)
    for (off, g) in line.grapheme_indices(true) {
        let w = grapheme_width(g);
        if used + w > limit(rows) && off > start {
            match last_break {
                Some((brk, cells)) if brk > start && brk <= off => {
                    rows.push((base + start, base + brk));
                    start = brk;
                    used -= cells;
                }
                _ => {
                    rows.push((base + start, base + off));
                    start = off;
                    used = 0;
                }
            }
            last_break = None;
            // After a word-break the carried-over part may still not fit.
            while used + w > limit(rows) && used > 0 {
                let carried = &line[start..off];
                let mut cut = start;
                let mut acc = 0;
                for (o, g2) in carried.grapheme_indices(true) {
                    let w2 = grapheme_width(g2);
                    if acc + w2 > limit(rows) && acc > 0 {
                        break;
                    }
                    acc += w2;
                    cut = start + o + g2.len();
                }
                rows.push((base + start, base + cut));
                used -= acc;
                start = cut;
            }
        }
        used += w;
        if g == " " {
            last_break = Some((off + 1, used));
        }
    }
    rows.push((base + start, base + line.len()));
}

/// `text` cut to at most `cells` cells, ending in `…` when it was cut, so
/// that a cut is never silent.
pub fn elide(text: &str, cells: usize) -> String {
    if width(text) <= cells {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for g in text.graphemes(true) {
        let w = grapheme_width(g);
        if used + w + 1 > cells {
            break;
        }
        used += w;
        out.push_str(g);
    }
    if cells > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, first: usize, rest: usize) -> Vec<&str> {
        wrap(text, first, rest)
            .into_iter()
            .map(|(a, b)| &text[a..b])
            .collect()
    }

    #[test]
    fn elide_marks_the_cut() {
        assert_eq!(elide("short", 10), "short");
        assert_eq!(elide("a longer text", 8), "a longe…");
        assert_eq!(elide("日本語テキスト", 6), "日本…");
        assert_eq!(width(&elide("日本語テキスト", 6)), 5);
        assert_eq!(elide("abc", 0), "");
    }

    #[test]
    fn breaks_at_spaces() {
        assert_eq!(rows("hello big world", 10, 10), ["hello big ", "world"]);
        assert_eq!(rows("short", 10, 10), ["short"]);
    }

    #[test]
    fn long_words_are_cut() {
        assert_eq!(rows("abcdefghij", 4, 4), ["abcd", "efgh", "ij"]);
    }

    #[test]
    fn wide_characters_take_two_cells() {
        assert_eq!(width("日本語"), 6);
        assert_eq!(width("👍🏽"), 2);
        assert_eq!(rows("日本語です", 5, 5), ["日本", "語で", "す"]);
        for r in rows("日本語です", 5, 5) {
            assert!(width(r) <= 5);
        }
    }

    #[test]
    fn newlines_start_rows_and_first_line_is_narrower() {
        assert_eq!(rows("ab\n\ncd", 10, 10), ["ab", "", "cd"]);
        assert_eq!(rows("aaa bbb ccc", 4, 8), ["aaa ", "bbb ccc"]);
    }

    #[test]
    fn every_row_fits() {
        let text = "The quick 🦊 jumps over 懒惰的狗 again and again, supercalifragilistic";
        for w in 2..30 {
            for r in rows(text, w, w) {
                assert!(width(r) <= w, "{r:?} wider than {w}");
            }
            let joined: String = rows(text, w, w).concat();
            assert_eq!(joined, text);
        }
    }
}
