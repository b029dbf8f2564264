//! The hall's bundled CJK font: the bytes every program draws Chinese with (screens, the status
//! page, ticket previews, charts), and which characters it can draw, so that a name it lacks is
//! refused where it is typed instead of silently vanishing from the board.

use std::sync::OnceLock;

/// WenQuanYi Micro Hei cut down to the CJK Unified Ideographs it has (GB18030's basic block,
/// U+4E00–U+9FA5), Latin-1, punctuation and full-width forms; see `ui/fonts/README.md`.
pub const FONT: &[u8] = include_bytes!("../ui/fonts/WenQuanYiMicroHei-CJK.ttf");

/// The characters of `FONT`, read once.
fn covered() -> &'static std::collections::HashSet<u32> {
    static COVERED: OnceLock<std::collections::HashSet<u32>> = OnceLock::new();
    COVERED.get_or_init(|| {
        let mut set = std::collections::HashSet::new();
        if let Ok(face) = ttf_parser::Face::parse(FONT, 0) {
            if let Some(cmap) = face.tables().cmap {
                for sub in cmap.subtables {
                    if sub.is_unicode() {
                        sub.codepoints(|c| {
                            if sub.glyph_index(c).is_some_and(|g| g.0 != 0) {
                                set.insert(c);
                            }
                        });
                    }
                }
            }
        }
        set
    })
}

/// Whether the bundled font has a glyph for `c` (white space always counts: it draws nothing).
pub fn can_draw(c: char) -> bool {
    c.is_whitespace() || covered().contains(&(c as u32))
}

/// The first character of `s` the bundled font cannot draw.
pub fn first_undrawable(s: &str) -> Option<char> {
    s.chars().find(|c| !can_draw(*c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_beyond_gb2312_are_drawn_and_extension_b_is_not() {
        for name in ["许喆", "李玥", "王堃", "陈赟", "买买提·艾力", "Zoë"] {
            assert_eq!(first_undrawable(name), None, "{name}");
        }
        // 𠀀 (U+20000, CJK Extension B) is not in the font.
        assert_eq!(first_undrawable("张𠀀"), Some('𠀀'));
    }
}
