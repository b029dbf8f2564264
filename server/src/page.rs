//! The visitor's phone page behind the ticket's QR code (`/t/{token}`): the number, the
//! department and item, how many are ahead, the window once called, then the case's stage in
//! the rules' four stages. Chinese first with an English switch; it follows the server's
//! status stream, so it updates without a reload. No personal data is ever on it.

/// The hall's embedded CJK font, served for phones (and headless browsers) that lack one.
pub const FONT: &[u8] = bangban::font::FONT;

const STYLE: &str = r#"
@font-face { font-family: Hall; src: local("Noto Sans CJK SC"), local("PingFang SC"), local("Microsoft YaHei"), url(/static/hall-font.ttf); font-display: swap; }
* { box-sizing: border-box; }
body { margin: 0; font-family: Hall, sans-serif; background: #f4f1ea; color: #1a1a1a; font-size: 20px; line-height: 1.45; }
header { background: #9e1b1b; color: #fff; padding: 14px 18px; display: flex; justify-content: space-between; align-items: center; }
header h1 { font-size: 20px; margin: 0; font-weight: 600; }
header button { font: inherit; font-size: 17px; background: #fff; color: #9e1b1b; border: 0; border-radius: 8px; padding: 8px 14px; min-height: 44px; }
main { padding: 18px; }
.card { background: #fff; border-radius: 14px; padding: 18px; margin-bottom: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.number { font-size: 64px; font-weight: 700; letter-spacing: 2px; text-align: center; margin: 4px 0; }
.label { color: #4a4a4a; font-size: 17px; text-align: center; }
.what { text-align: center; font-size: 20px; }
.big { font-size: 30px; font-weight: 700; text-align: center; margin: 6px 0; }
.called { background: #0b6b2e; color: #fff; }
.called .label { color: #fff; }
ol.stages { list-style: none; padding: 0; margin: 0; }
ol.stages li { display: flex; align-items: center; padding: 10px 0; border-bottom: 1px solid #e4e0d6; color: #555; }
ol.stages li:last-child { border-bottom: 0; }
ol.stages li span.dot { width: 30px; height: 30px; border-radius: 50%; border: 3px solid #b5ada0; margin-right: 12px; flex: none; text-align: center; line-height: 24px; font-size: 16px; }
ol.stages li.done { color: #1a1a1a; }
ol.stages li.done span.dot { background: #0b6b2e; border-color: #0b6b2e; color: #fff; }
ol.stages li.now { color: #1a1a1a; font-weight: 700; }
ol.stages li.now span.dot { border-color: #9e1b1b; color: #9e1b1b; }
.free { text-align: center; color: #4a4a4a; font-size: 16px; }
.conn { text-align: center; font-size: 15px; color: #8a4b00; min-height: 22px; }
.rate button { display: block; width: 100%; font: inherit; font-size: 20px; min-height: 52px; margin: 8px 0; border-radius: 10px; border: 2px solid #b5ada0; background: #fff; color: #1a1a1a; }
.rate button:active { background: #f4e3e3; }
ul.missing, ul.parts { margin: 8px 0 0; padding-left: 1.2em; font-size: 19px; }
ul.missing li, ul.parts li { margin: 6px 0; overflow-wrap: anywhere; }
ul.parts { list-style: none; padding-left: 0; }
ul.parts li.done { color: #0b6b2e; }
.hidden { display: none; }
"#;

/// A page and the Content-Security-Policy it is sent with: only its own inline style and
/// script (by a nonce fresh for each answer) run, it loads nothing from elsewhere, and no
/// other site may frame it.
pub struct Page {
    pub html: String,
    pub csp: String,
}

fn shell(lang: &str, title: &str, body: &str, script: &str) -> Page {
    let nonce = &bangban::access::new_secret()[..32];
    Page {
        html: format!(
            "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title><style nonce=\"{nonce}\">{STYLE}</style></head><body>{body}<script nonce=\"{nonce}\">{script}</script></body></html>"
        ),
        csp: format!(
            "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; font-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
    }
}

/// The same page for an unknown and a malformed token.
pub fn not_found() -> Page {
    shell(
        "zh-CN",
        "未找到号票",
        "<header><h1>帮办代办</h1></header><main><div class=\"card\"><p class=\"big\">未找到这张号票</p><p class=\"what\">请核对二维码，或到服务台询问。</p><p class=\"label\">Ticket not found. Please check the QR code or ask at the service desk.</p></div></main>",
        "",
    )
}

pub fn too_many() -> Page {
    shell(
        "zh-CN",
        "请稍后再试",
        "<header><h1>帮办代办</h1></header><main><div class=\"card\"><p class=\"big\">查询太频繁</p><p class=\"what\">请一分钟后再打开此页面。</p><p class=\"label\">Too many look-ups. Please try again in a minute.</p></div></main>",
        "",
    )
}

const SCRIPT: &str = r#"
const T = {
  zh: { title: "办理进度", lang: "English", yourNumber: "您的号码", ahead: n => n > 0 ? `前面还有 ${n} 人` : "前面没有人了，请留意叫号", wait: m => m > 0 ? `预计约 ${m} 分钟` : "",
        goTo: w => `请到 ${w} 号窗口办理`, calledNow: "正在叫您的号", stages: ["咨询辅导", "受理委托", "结果交付", "资料归档"], stageTitle: "办理阶段",
        noShow: "已过号，请到服务台重新取号", cancelled: "此号已取消", otherDay: d => `这是 ${d} 的号票`, free: "帮办代办 免费服务",
        lost: "连接中断，正在重新连接…", waitingTitle: "排队中",
        rateTitle: "请为这次帮办服务评价", levels: ["非常满意", "满意", "一般", "不满意", "非常不满意"],
        rated: l => `谢谢您的评价：${["", "非常不满意", "不满意", "一般", "满意", "非常满意"][l]}`, rateFailed: "评价没有提交成功，请稍后再试",
        servingAt: w => `正在 ${w} 号窗口为您办理`, onHold: "暂挂：请在附近稍候，工作人员会再叫您",
        transferredTo: d => `已转到${d}，请留意叫号`, consulted: "咨询已记录，工作人员会答复您",
        needMaterials: "还缺以下材料，请补齐", backTo: w => w ? `补齐后回 ${w} 号窗口，不用重新取号` : "补齐后回原窗口，不用重新取号",
        colon: "：", accepted: "已受理，正在为您代办", coordinating: "正在协调相关部门，请耐心等候",
        coordinatingMore: "协调有结果后会继续办理", readyAt: w => w ? `已办好，请到 ${w} 号窗口领取` : "已办好，请到窗口领取",
        mailed: "已邮寄，请留意查收", done: "已办结", doneMore: "感谢您的耐心",
        expired: "此号已过期", expiredHow: "下次来时带上此号票到服务台，为您换当天的号，不用从头排队",
        partsTitle: "全链条办理进度", partDone: "已办好", partOpen: "办理中" },
  en: { title: "Your ticket", lang: "中文", yourNumber: "Your number", ahead: n => n > 0 ? `${n} ahead of you` : "Nobody ahead — watch for your number", wait: m => m > 0 ? `about ${m} min` : "",
        goTo: w => `Please go to window ${w}`, calledNow: "Your number is being called", stages: ["Consultation", "Acceptance", "Delivery", "Archived"], stageTitle: "Progress",
        noShow: "Missed — please ask at the service desk", cancelled: "This ticket was cancelled", otherDay: d => `This ticket is from ${d}`, free: "Assisted service is free",
        lost: "Connection lost — reconnecting…", waitingTitle: "In the queue",
        rateTitle: "How was the assisted service?", levels: ["Very satisfied", "Satisfied", "Neutral", "Dissatisfied", "Very dissatisfied"],
        rated: l => `Thank you for your rating: ${["", "very dissatisfied", "dissatisfied", "neutral", "satisfied", "very satisfied"][l]}`,
        rateFailed: "The rating was not sent; please try again later",
        servingAt: w => `Being served at window ${w}`, onHold: "On hold — please wait nearby, you will be called again",
        transferredTo: d => `Transferred to ${d} — watch for your number`, consulted: "Your question is noted; we will answer you",
        needMaterials: "Please bring these missing materials", backTo: w => w ? `Then come back to window ${w} — no new ticket needed` : "Then come back to the same window — no new ticket needed",
        colon: ": ", accepted: "Accepted — we are handling it for you", coordinating: "Being coordinated with other offices",
        coordinatingMore: "It goes on once they have agreed", readyAt: w => w ? `Ready — collect it at window ${w}` : "Ready — collect it at the window",
        mailed: "Sent by post — watch for the delivery", done: "Done", doneMore: "Thank you for your patience",
        expired: "This ticket has expired", expiredHow: "Next time, show it at the service desk for a number of that day — no need to queue from the start",
        partsTitle: "Progress across offices", partDone: "done", partOpen: "in progress" }
};
let lang = (localStorage.getItem("bangban-lang") || "zh");
let last = INITIAL;
function today() { const d = new Date(); return d.getFullYear() + "-" + String(d.getMonth()+1).padStart(2,"0") + "-" + String(d.getDate()).padStart(2,"0"); }
function render() {
  const t = T[lang];
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.getElementById("lang").textContent = t.lang;
  document.getElementById("title").textContent = t.title;
  document.getElementById("free").textContent = t.free;
  document.getElementById("yourNumber").textContent = t.yourNumber;
  document.getElementById("stageTitle").textContent = t.stageTitle;
  if (!last) return;
  const s = last;
  document.getElementById("number").textContent = s.number;
  // The hall file's English names in English (the Chinese where it names none).
  const dept = lang === "en" && s.department_name_en ? s.department_name_en : s.department_name;
  const item = lang === "en" && s.item_name_en ? s.item_name_en : s.item_name;
  document.getElementById("what").textContent = dept + " · " + item;
  const q = document.getElementById("queue");
  const big = document.getElementById("big"), small = document.getElementById("small");
  q.classList.remove("called");
  let b = "", sm = "";
  const missing = document.getElementById("missing");
  missing.innerHTML = "";
  if (s.coordinating && s.state !== "cancelled" && s.state !== "expired") {
    b = t.coordinating; sm = t.coordinatingMore;
  } else if (s.state === "called") {
    q.classList.add("called"); b = t.goTo(s.window); sm = t.calledNow;
  } else if (s.state === "serving" && s.window) {
    q.classList.add("called"); b = t.servingAt(s.window);
  } else if (s.state === "on_hold") {
    b = t.onHold;
  } else if (s.state === "waiting") {
    b = t.ahead(s.ahead); sm = t.wait(s.estimated_wait_min);
  } else if (s.state === "transferred") {
    b = t.transferredTo(dept); sm = [t.ahead(s.ahead), t.wait(s.estimated_wait_min)].filter(x => x).join(" · ");
  } else if (s.state === "no_show") {
    b = t.noShow;
  } else if (s.state === "cancelled") {
    b = t.cancelled;
  } else if (s.state === "expired") {
    b = t.expired; sm = t.expiredHow;
  } else if (s.state === "awaiting_materials") {
    b = t.needMaterials; sm = t.backTo(s.return_window);
    (s.missing || []).forEach(m => {
      const li = document.createElement("li");
      // The hall file says where to get it in its own words (an office, a form to download).
      li.textContent = m.from ? `${m.material}${t.colon}${m.from}` : m.material;
      missing.appendChild(li);
    });
  } else if (s.state === "consulted") {
    b = t.consulted;
  } else if (s.state === "accepted" || s.state === "in_progress") {
    b = t.accepted;
  } else if (s.state === "ready") {
    q.classList.add("called"); b = t.readyAt(s.return_window);
  } else if (s.state === "mailed") {
    b = t.mailed;
  } else if (s.finished) {
    b = t.done; sm = t.doneMore;
  } else {
    b = t.stages[Math.max(0, s.stage - 1)];
  }
  big.textContent = b; small.textContent = sm;
  // 全链条: each office's part.
  const partsCard = document.getElementById("partsCard"), parts = document.getElementById("parts");
  partsCard.classList.toggle("hidden", !(s.parts && s.parts.length));
  document.getElementById("partsTitle").textContent = t.partsTitle;
  parts.innerHTML = "";
  (s.parts || []).forEach(p => {
    const li = document.createElement("li");
    li.className = p.done ? "done" : "";
    const name = lang === "en" && p.department_name_en ? p.department_name_en : p.department_name;
    li.textContent = (p.done ? "✓ " : "… ") + name + " · " + (p.done ? t.partDone : t.partOpen);
    parts.appendChild(li);
  });
  // 好差评: offered once the visit has been served, thanked once given.
  const rate = document.getElementById("rate");
  document.getElementById("rateTitle").textContent = s.rating ? t.rated(s.rating) : t.rateTitle;
  rate.classList.toggle("hidden", !s.can_rate && !s.rating);
  // Once the visit at the counter is over, the rating comes first: the visitor who opens the
  // page afterwards should not have to look for it. While something is asked of them (bring
  // the missing materials, collect the result) that comes first.
  const main = document.querySelector("main");
  const over = ["consulted", "accepted", "in_progress", "mailed", "delivered", "receipt_confirmed", "archived"].includes(s.state);
  if (s.can_rate && over) { main.insertBefore(rate, main.firstChild); } else { main.insertBefore(rate, document.getElementById("conn")); }
  [5, 4, 3, 2, 1].forEach((level, i) => {
    const b = document.getElementById("rate-" + level);
    b.textContent = t.levels[i];
    b.classList.toggle("hidden", !s.can_rate);
  });
  const day = document.getElementById("day");
  day.textContent = s.business_day !== (s.today || today()) ? t.otherDay(s.business_day) : "";
  const ol = document.getElementById("stages");
  ol.innerHTML = "";
  t.stages.forEach((name, i) => {
    const li = document.createElement("li");
    const n = i + 1;
    const done = s.finished || s.stage > n;
    li.className = done ? "done" : (s.stage === n ? "now" : "");
    const dot = document.createElement("span"); dot.className = "dot"; dot.textContent = done ? "✓" : String(n);
    li.appendChild(dot); li.appendChild(document.createTextNode(name));
    ol.appendChild(li);
  });
}
document.getElementById("lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("bangban-lang", lang); render(); });
[1, 2, 3, 4, 5].forEach(level => document.getElementById("rate-" + level).addEventListener("click", async () => {
  try {
    const r = await fetch("/t/" + TOKEN + "/rate", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ level }) });
    if (!r.ok) throw new Error(String(r.status));
    last = Object.assign({}, last, { can_rate: false, rating: level });
    render();
  } catch (e) {
    document.getElementById("rateTitle").textContent = T[lang].rateFailed;
  }
}));
function connect() {
  const es = new EventSource("/api/v1/status/" + TOKEN);
  es.addEventListener("status", e => { last = JSON.parse(e.data); document.getElementById("conn").textContent = ""; document.body.dataset.state = last.state; render(); });
  es.onerror = () => { document.getElementById("conn").textContent = T[lang].lost; };
}
render();
connect();
"#;

/// The live page for one ticket token (already checked to exist), drawn at once from the
/// status as it is now and then kept current by the stream.
pub fn status_page(token: &str, now: &bangban::api::TicketStatus) -> Page {
    let body = "<header><h1 id=\"title\">办理进度</h1><button id=\"lang\" type=\"button\">English</button></header>\
<main><div class=\"card\"><p class=\"label\" id=\"yourNumber\">您的号码</p><p class=\"number\" id=\"number\">…</p><p class=\"what\" id=\"what\"></p><p class=\"label\" id=\"day\"></p></div>\
<div class=\"card\" id=\"queue\"><p class=\"big\" id=\"big\"></p><ul class=\"missing\" id=\"missing\"></ul><p class=\"label\" id=\"small\"></p></div>\
<div class=\"card\"><p class=\"label\" id=\"stageTitle\">办理阶段</p><ol class=\"stages\" id=\"stages\"></ol></div>\
<div class=\"card hidden\" id=\"partsCard\"><p class=\"label\" id=\"partsTitle\"></p><ul class=\"parts\" id=\"parts\"></ul></div>\
<div class=\"card rate hidden\" id=\"rate\"><p class=\"what\" id=\"rateTitle\">请为这次帮办服务评价</p>\
<button type=\"button\" id=\"rate-5\">非常满意</button><button type=\"button\" id=\"rate-4\">满意</button>\
<button type=\"button\" id=\"rate-3\">一般</button><button type=\"button\" id=\"rate-2\">不满意</button>\
<button type=\"button\" id=\"rate-1\">非常不满意</button></div>\
<p class=\"conn\" id=\"conn\"></p><p class=\"free\" id=\"free\">帮办代办 免费服务</p></main>";
    // The token is 32 hex digits (checked by the caller), so it is safe inside a JS string; the
    // status JSON has every `<` escaped so no name from the hall file can end the script.
    let initial = serde_json::to_string(now)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c");
    let script = format!("const TOKEN = \"{token}\";\nconst INITIAL = {initial};{SCRIPT}");
    shell("zh-CN", "办理进度", body, &script)
}
