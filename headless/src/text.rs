//! Chinese names drawn in balanced lines, for tiles and cards too narrow to hold them on one.

/// A name broken into two balanced lines (人力资源和社会保障局 → 人力资源和 / 社会保障局), for a
/// tile too narrow to hold it on one: left to the text engine, a Chinese name breaks wherever
/// the line is full and may leave one lone character on the last line. Punctuation stays with
/// the character before it.
pub fn balanced(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() < 4 || name.contains('\n') {
        return name.to_string();
    }
    let closing = |c: char| "、，。）》」』：；？！·,.;:?!)".contains(c);
    let opening = |c: char| "（《「『(".contains(c);
    // Near the middle, a break between words: after 和 / 与 / 、, or before the common
    // endings of an office's name (管理局, 中心, 服务, 出入境 …).
    let endings = [
        "管理",
        "中心",
        "服务",
        "登记",
        "联合",
        "出入境",
        "建设",
        "保障",
        "事务",
        "办公",
    ];
    let score = |cut: usize| -> i32 {
        let rest: String = chars[cut..].iter().collect();
        let mut s = 0;
        if "和与及、·".contains(chars[cut - 1]) {
            s += 2;
        }
        if endings.iter().any(|e| rest.starts_with(e)) {
            s += 2;
        }
        s
    };
    let mid = chars.len().div_ceil(2);
    // A sentence (a notice) breaks after the punctuation nearest the middle, if there is some
    // within a quarter of its length.
    let sentence_break = (chars.len() > 16)
        .then(|| {
            (mid - chars.len() / 4..=mid + chars.len() / 4)
                .filter(|&c| c > 0 && c < chars.len() && "，；。：！？,;".contains(chars[c - 1]))
                .min_by_key(|&c| c.abs_diff(mid))
        })
        .flatten();
    let mut cut = sentence_break.unwrap_or_else(|| {
        (mid.saturating_sub(1).max(2)..=(mid + 1).min(chars.len() - 2))
            .max_by_key(|&c| (score(c), c == mid, c))
            .unwrap_or(mid)
    });
    while cut < chars.len() && closing(chars[cut]) {
        cut += 1;
    }
    while cut > 1 && opening(chars[cut - 1]) {
        cut -= 1;
    }
    if cut >= chars.len() {
        return name.to_string();
    }
    let (a, b): (String, String) = (chars[..cut].iter().collect(), chars[cut..].iter().collect());
    format!("{}\n{}", a.trim_end(), b.trim_start())
}

#[cfg(test)]
mod tests {
    use super::balanced;

    #[test]
    fn a_long_name_breaks_near_the_middle_between_words_and_punctuation_stays_on_its_line() {
        assert_eq!(balanced("人力资源和社会保障局"), "人力资源和\n社会保障局");
        assert_eq!(balanced("住房公积金管理中心"), "住房公积金\n管理中心");
        assert_eq!(balanced("不知道办什么？"), "不知道办\n什么？");
        assert_eq!(balanced("好差评、意见箱"), "好差评、\n意见箱");
        assert_eq!(balanced("税务局"), "税务局");
        // Between words, not inside one.
        assert_eq!(balanced("公安局户政出入境"), "公安局户政\n出入境");
        assert_eq!(balanced("住房和城乡建设局"), "住房和城乡\n建设局");
        assert_eq!(balanced("水电气暖联合服务"), "水电气暖\n联合服务");
        assert_eq!(balanced("市场监督管理局"), "市场监督\n管理局");
        // A notice breaks after the punctuation nearest its middle.
        assert_eq!(
            balanced("今日上午办理人数较多，请留意叫号；老年人、残疾人等优先群体请告知工作人员，将为您优先办理。"),
            "今日上午办理人数较多，请留意叫号；\n老年人、残疾人等优先群体请告知工作人员，将为您优先办理。"
        );
    }
}
