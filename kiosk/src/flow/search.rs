//! The controller of `SearchAdapter`: 搜索事项 — a large on-screen letter keypad; the
//! initials typed (QYKB → 企业开办, BDCZY → 不动产转移登记) or hanzi typed on a keyboard narrow
//! the item list live, a page at a time. Initials come from the `pinyin` crate for every item
//! and department name, sub-item and tag, with every reading of a character that has several.

use std::cell::RefCell;
use std::rc::Rc;

use bangban::hall::Item;
use bangban::Hall;
use bangban_headless::bind;
use slint::ComponentHandle;

use super::{chrome, confirm, model, s, welcome, Inner};
use crate::{KioskScreen, KioskWindow, SearchAdapter};

/// Results per page: big rows, no scrolling; two larger ones in 大字.
pub fn per_page(landscape: bool, large: bool) -> usize {
    match (large, landscape) {
        (true, _) => 2,
        (false, true) => 3,
        (false, false) => 4,
    }
}

pub fn wire(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    bind!(ui, inner, SearchAdapter, on_key, |ui, inner, key| {
        let q = format!("{}{}", inner.borrow().selection.query, key);
        set_query(ui, inner, q)
    });
    bind!(ui, inner, SearchAdapter, on_backspace, |ui, inner| {
        let mut q = inner.borrow().selection.query.clone();
        q.pop();
        set_query(ui, inner, q)
    });
    bind!(ui, inner, SearchAdapter, on_clear, |ui, inner| set_query(
        ui,
        inner,
        String::new()
    ));
    bind!(ui, inner, SearchAdapter, on_edited, |ui, inner, text| set_query(
        ui,
        inner,
        text.to_string()
    ));
    bind!(ui, inner, SearchAdapter, on_choose, |ui, inner, code| {
        inner.borrow_mut().selection.department = None;
        confirm::choose_item(ui, inner, code.as_str())
    });
    bind!(ui, inner, SearchAdapter, on_page_prev, |ui, inner| turn(ui, inner, -1));
    bind!(ui, inner, SearchAdapter, on_page_next, |ui, inner| turn(ui, inner, 1));
    bind!(ui, inner, SearchAdapter, on_back, |ui, inner| chrome::go_home(
        ui, inner
    ));
}

/// Open the search with an empty query (every item listed).
pub fn show(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>) {
    set_query(ui, inner, String::new());
    chrome::show_screen(ui, &inner.borrow(), KioskScreen::Search);
}

fn set_query(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, query: String) {
    {
        let mut inn = inner.borrow_mut();
        inn.selection.query = query.chars().take(16).collect();
        inn.selection.search_page = 0;
    }
    update(ui, &inner.borrow());
}

fn turn(ui: &KioskWindow, inner: &Rc<RefCell<Inner>>, step: i64) {
    {
        let mut inn = inner.borrow_mut();
        inn.selection.search_page = (inn.selection.search_page as i64 + step).max(0) as usize;
    }
    update(ui, &inner.borrow());
}

/// Show the items matching the query, on the page chosen.
pub fn update(ui: &KioskWindow, inner: &Inner) {
    let found = search(&inner.hall, &inner.selection.query);
    let landscape = ui.window().size().width > ui.window().size().height;
    let per = per_page(landscape, super::large(ui));
    let pages = found.len().div_ceil(per).max(1);
    let page = inner.selection.search_page.min(pages - 1);
    let a = ui.global::<SearchAdapter>();
    a.set_query(s(&inner.selection.query));
    a.set_found(found.len() as i32);
    a.set_results(model(
        found
            .iter()
            .skip(page * per)
            .take(per)
            .map(|i| welcome::item_row(i))
            .collect(),
    ));
    a.set_page(page as i32 + 1);
    a.set_pages(pages as i32);
}

/// The first letters a character can be typed as: its pinyin initials (every reading), or
/// itself for a letter or digit; nothing for punctuation.
fn initials(c: char) -> Vec<char> {
    use pinyin::ToPinyinMulti;
    if c.is_ascii_alphanumeric() {
        return vec![c.to_ascii_uppercase()];
    }
    match c.to_pinyin_multi() {
        Some(multi) => {
            let mut out: Vec<char> = multi
                .into_iter()
                .filter_map(|p| p.first_letter().chars().next())
                .map(|l| l.to_ascii_uppercase())
                .collect();
            out.dedup();
            out
        }
        None => vec![],
    }
}

/// Where the typed initials run through `text`'s characters, one after another: the
/// position of the first match (0 is the start of the name), if any.
fn initials_match(query: &[char], text: &str) -> Option<usize> {
    let letters: Vec<Vec<char>> = text.chars().map(initials).filter(|l| !l.is_empty()).collect();
    if query.is_empty() || letters.len() < query.len() {
        return None;
    }
    (0..=letters.len() - query.len())
        .find(|&start| query.iter().enumerate().all(|(j, q)| letters[start + j].contains(q)))
}

/// The hall's items matching a query: initials (letters) or hanzi, against the item's main and
/// sub name, its department's name and its tags, or its English name. Items whose own name
/// starts with the query come first; an empty query lists every item.
pub fn search<'h>(hall: &'h Hall, query: &str) -> Vec<&'h Item> {
    let q = query.trim();
    if q.is_empty() {
        return hall.items.iter().collect();
    }
    let letters: Option<Vec<char>> = q
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.is_ascii_alphanumeric().then(|| c.to_ascii_uppercase()))
        .collect();
    let mut ranked: Vec<(usize, usize, &Item)> = Vec::new();
    for (n, item) in hall.items.iter().enumerate() {
        let dept = hall.department_name(&item.department);
        // The item's own name (main and sub), then its department's name and its tags.
        let own = format!("{}{}", item.main, item.sub);
        let mut around = std::iter::once(dept.as_str()).chain(item.tags.iter().map(String::as_str));
        let rank = match &letters {
            Some(l) => match initials_match(l, &own) {
                Some(0) => Some(0),
                Some(_) => Some(1),
                None if item.name_en.to_ascii_uppercase().contains(&q.to_ascii_uppercase()) => Some(1),
                None if around.any(|t| initials_match(l, t).is_some()) => Some(2),
                None => None,
            },
            None if own.starts_with(q) => Some(0),
            None if own.contains(q) => Some(1),
            None if around.any(|t| t.contains(q)) => Some(2),
            None => None,
        };
        if let Some(r) = rank {
            ranked.push((r, n, item));
        }
    }
    ranked.sort_by_key(|(r, n, _)| (*r, *n));
    ranked.into_iter().map(|(_, _, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Hall {
        Hall::from_toml(bangban::DEMO_HALL, "demo-hall.toml").unwrap()
    }

    fn first(hall: &Hall, q: &str) -> String {
        search(hall, q).first().map(|i| i.display_name()).unwrap_or_default()
    }

    #[test]
    fn initials_find_the_matter_from_its_first_characters() {
        let hall = demo();
        assert_eq!(first(&hall, "QYKB"), "企业开办·有限责任公司设立登记");
        assert_eq!(first(&hall, "BDCZY"), "不动产转移登记·二手房买卖");
        assert_eq!(first(&hall, "bdczy"), "不动产转移登记·二手房买卖", "lower case too");
        assert_eq!(first(&hall, "SHBZK"), "社会保障卡·申领、补换");
        // 重 reads zhong or chong: either initial finds 重点项目.
        assert!(search(&hall, "ZDXM").iter().any(|i| i.main == "重点项目全程代办"));
        assert!(search(&hall, "XYZQ").is_empty());
    }

    #[test]
    fn hanzi_narrow_by_name_department_and_tag() {
        let hall = demo();
        assert_eq!(first(&hall, "公积金"), "公积金提取·租房提取");
        assert!(search(&hall, "户政").iter().all(|i| i.department == "GAJ"));
        assert!(search(&hall, "全链条").iter().any(|i| i.code == "A01"));
        assert_eq!(search(&hall, "").len(), hall.items.len());
    }
}
