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
        partsTitle: "全链条办理进度", partDone: "已办好", partOpen: "办理中",
        suspended: "已中止办理，办理时限暂停计算", resumeBy: d => `预计 ${d} 恢复办理`, terminated: "已终止办理",
        reason: r => `原因：${r}`,
        guideTitle: "办事指南", limit: n => `承诺时限：${n} 个工作日`, basis: "法定依据：", process: "办理流程：", fees: "收费：" },
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
        partsTitle: "Progress across offices", partDone: "done", partOpen: "in progress",
        suspended: "Suspended — the time limit is paused", resumeBy: d => `Expected to resume on ${d}`, terminated: "Terminated",
        reason: r => `Reason: ${r}`,
        guideTitle: "Service guide", limit: n => `Done within ${n} working days`, basis: "Legal basis: ", process: "Process: ", fees: "Fees: " }
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
  } else if (s.state === "suspended") {
    // 中止: the reason the visitor was given in writing, and when the work should resume.
    b = t.suspended; sm = [s.reason ? t.reason(s.reason) : "", s.resume_by ? t.resumeBy(s.resume_by) : ""].filter(x => x).join(" · ");
  } else if (s.state === "terminated") {
    b = t.terminated; sm = s.reason ? t.reason(s.reason) : "";
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
  // 办事指南: the promised time limit and what the office publishes for the matter.
  const guideCard = document.getElementById("guideCard"), guide = document.getElementById("guide");
  guideCard.classList.toggle("hidden", !s.guide);
  document.getElementById("guideTitle").textContent = t.guideTitle;
  guide.innerHTML = "";
  if (s.guide) {
    const lines = [t.limit(s.guide.time_limit_days)];
    if (s.guide.legal_basis) lines.push(t.basis + s.guide.legal_basis);
    if (s.guide.process) lines.push(t.process + s.guide.process);
    if (s.guide.fees) lines.push(t.fees + s.guide.fees);
    for (const line of lines) { const li = document.createElement("li"); li.textContent = line; guide.appendChild(li); }
  }
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
<div class=\"card hidden\" id=\"guideCard\"><p class=\"label\" id=\"guideTitle\"></p><ul class=\"parts\" id=\"guide\"></ul></div>\
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

const BOOK_STYLE: &str = r#"
.pick button { display: block; width: 100%; text-align: left; font: inherit; font-size: 19px; min-height: 52px; margin: 8px 0; padding: 10px 14px; border-radius: 10px; border: 2px solid #b5ada0; background: #fff; color: #1a1a1a; }
.pick button.on { border-color: #9e1b1b; background: #f7e9e9; font-weight: 700; }
.grid { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; }
.grid button { text-align: center; margin: 0; padding: 8px 4px; }
.grid button:disabled { color: #777; background: #eee; border-color: #ccc; }
.step { font-size: 17px; color: #4a4a4a; margin: 0 0 6px; }
input { font: inherit; font-size: 22px; width: 100%; min-height: 52px; padding: 8px 12px; border: 2px solid #b5ada0; border-radius: 10px; margin: 6px 0; letter-spacing: 1px; }
.row { display: flex; gap: 8px; align-items: center; }
.row input { flex: 1; }
.go { display: block; width: 100%; font: inherit; font-size: 21px; font-weight: 700; min-height: 56px; margin: 10px 0 0; border: 0; border-radius: 10px; background: #9e1b1b; color: #fff; }
.go:disabled { background: #c9a3a3; }
.small { font: inherit; font-size: 17px; min-height: 52px; padding: 0 12px; border-radius: 10px; border: 2px solid #9e1b1b; background: #fff; color: #9e1b1b; white-space: nowrap; }
.msg { min-height: 24px; font-size: 17px; color: #8a1b1b; margin: 8px 0 0; }
.mats { font-size: 17px; margin: 8px 0 0; padding-left: 1.2em; }
.code { font-size: 56px; font-weight: 700; letter-spacing: 8px; text-align: center; margin: 6px 0; }
"#;

const BOOK_SCRIPT: &str = r#"
const T = {
  zh: { title: "预约办事", lang: "English", dept: "1. 选择部门", item: "2. 选择事项", mats: "请带齐以下材料：", noMats: "到窗口咨询所需材料", day: "3. 选择日期", slot: "4. 选择时段", left: n => n > 0 ? `余 ${n}` : "已满",
        phone: "5. 手机号（接收验证码和签到码）", getCode: "获取验证码", codeSent: p => `验证码已发送到 ${p}`, vcode: "短信验证码", book: "确认预约",
        done: "预约成功", yourCode: "签到码", when: (t, n) => `${t} · ${n}`, how: (a, b) => `请于 ${a}–${b} 到自助机点「预约签到」输入签到码取号；签到码也已发到您的手机。`,
        cancelTitle: "取消预约", cancelCode: "输入签到码", cancel: "取消预约", cancelled: (t, n) => `已取消：${t} ${n}`, window: w => `${w} 号窗口`,
        week: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"], free: "帮办代办 免费服务", noSms: "本大厅暂不支持网上预约，请到服务台或来电预约。",
        err: { rate_limited: "操作太频繁，请一分钟后再试", invalid: "请检查填写的内容", unreachable: "暂时连不上，请稍后再试", code_unknown: "没有这个签到码", code_used: "该预约已签到或已取消" } },
  en: { title: "Book a visit", lang: "中文", dept: "1. Department", item: "2. Service", mats: "Please bring:", noMats: "Ask at the window which materials are needed", day: "3. Day", slot: "4. Time", left: n => n > 0 ? `${n} left` : "Full",
        phone: "5. Mobile number (for the codes)", getCode: "Send code", codeSent: p => `Code sent to ${p}`, vcode: "Code from the message", book: "Book",
        done: "Booked", yourCode: "Check-in code", when: (t, n) => `${t} · ${n}`, how: (a, b) => `Between ${a} and ${b}, tap "Appointment check-in" at a kiosk and enter this code. It was also sent to your phone.`,
        cancelTitle: "Cancel a booking", cancelCode: "Check-in code", cancel: "Cancel booking", cancelled: (t, n) => `Cancelled: ${t} ${n}`, window: w => `Window ${w}`,
        week: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], free: "Assisted service is free", noSms: "This hall does not take bookings online yet: please book at the service desk or by phone.",
        err: { rate_limited: "Too many tries: please wait a minute", invalid: "Please check what you entered", unreachable: "Cannot connect just now: please try again", code_unknown: "No booking has this code", code_used: "This booking was used or cancelled already" } }
};
let lang = localStorage.getItem("bangban-lang") || "zh";
let hall = null, dept = null, item = null, day = null, slot = null;
const $ = id => document.getElementById(id);
function el(tag, text, attrs) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; for (const k in (attrs || {})) e.setAttribute(k, attrs[k]); return e; }
async function api(path, body) {
  const r = await fetch(path, body ? { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {});
  let j = null; try { j = await r.json(); } catch (e) {}
  if (!r.ok) { const t = T[lang]; const kind = (j && j.kind) || (r.status === 429 ? "rate_limited" : "unreachable"); throw { kind, text: t.err[kind] || (j && j.error) || t.err.invalid, detail: j && j.error }; }
  return j;
}
function say(id, e) { $(id).textContent = e ? (e.text + (e.kind === "invalid" && e.detail ? "（" + e.detail + "）" : "")) : ""; }
function name(o) { return lang === "en" && o.name_en ? o.name_en : o.name; }
function render() {
  const t = T[lang];
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const k of ["title", "lang", "dept", "item", "day", "slot", "phone", "getCode", "book", "done", "yourCode", "cancelTitle", "cancel", "free"]) if ($(k)) $(k).textContent = t[k];
  $("vcode").placeholder = t.vcode; $("cancelCode").placeholder = t.cancelCode;
  if (!hall) return;
  $("hallName").textContent = lang === "en" && hall.name_en ? hall.name_en : hall.name;
  if (!hall.messages) { $("noSms").textContent = t.noSms; }
  const ds = $("depts"); ds.textContent = "";
  for (const d of hall.departments) { const b = el("button", name(d), { type: "button", "data-code": d.code }); if (dept === d) b.className = "on"; b.onclick = () => { dept = d; item = null; slot = null; render(); }; ds.appendChild(b); }
  const is = $("items"); is.textContent = ""; $("itemCard").classList.toggle("hidden", !dept);
  if (dept) for (const i of dept.items) { const b = el("button", name(i), { type: "button", "data-code": i.code }); if (item === i) b.className = "on"; b.onclick = () => { item = i; slot = null; render(); loadSlots(); }; is.appendChild(b); }
  const ms = $("mats"); ms.textContent = "";
  if (item) { $("matsTitle").textContent = (item.materials.length ? t.mats : t.noMats) + " · " + t.window(item.window); for (const m of item.materials) ms.appendChild(el("li", m)); } else $("matsTitle").textContent = "";
  $("dayCard").classList.toggle("hidden", !item);
  const dd = $("days"); dd.textContent = "";
  for (const d of hall.days) { const b = el("button", d.date.slice(5) + " " + t.week[d.weekday], { type: "button", "data-date": d.date }); if (day === d.date) b.className = "on"; b.onclick = () => { day = d.date; slot = null; render(); loadSlots(); }; dd.appendChild(b); }
  $("phoneCard").classList.toggle("hidden", !(item && day && slot));
  $("book").disabled = !(item && day && slot);
}
let slots = [];
async function loadSlots() {
  if (!item || !day) return;
  try { slots = await api(`/book/slots?item=${encodeURIComponent(item.code)}&date=${day}`); say("slotMsg"); } catch (e) { slots = []; say("slotMsg", e); }
  drawSlots();
}
function drawSlots() {
  const t = T[lang]; const ss = $("slots"); ss.textContent = "";
  for (const s of slots) { const b = el("button", s.time + " " + t.left(s.free), { type: "button", "data-time": s.time }); b.disabled = s.free <= 0; if (slot === s.time) b.className = "on"; b.onclick = () => { slot = s.time; render(); drawSlots(); }; ss.appendChild(b); }
}
$("lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("bangban-lang", lang); render(); drawSlots(); };
$("getCode").onclick = async () => {
  try { const r = await api("/book/code", { phone: $("phone-input").value }); $("codeMsg").textContent = T[lang].codeSent(r.phone); } catch (e) { say("codeMsg", e); }
};
$("book").onclick = async () => {
  $("book").disabled = true;
  try {
    const r = await api("/book/new", { item: item.code, date: day, time: slot, phone: $("phone-input").value, code: $("vcode").value });
    const t = T[lang];
    $("resultCode").textContent = r.code; $("resultWhen").textContent = t.when(r.local_time, r.item_name);
    $("resultHow").textContent = t.how(r.check_in_from, r.check_in_until);
    $("result").classList.remove("hidden"); $("bookMsg").textContent = "";
    $("result").scrollIntoView();
  } catch (e) { say("bookMsg", e); $("book").disabled = false; loadSlots(); }
};
$("cancel").onclick = async () => {
  try { const r = await api("/book/cancel", { code: $("cancelCode").value }); $("cancelMsg").textContent = T[lang].cancelled(r.local_time, r.item_name); loadSlots(); } catch (e) { say("cancelMsg", e); }
};
api("/book/hall").then(h => { hall = h; render(); }).catch(e => say("bookMsg", e));
render();
"#;

/// The self-booking page (`/book`): department, service with its materials, a working day
/// and a free slot, the phone proved by a code, then the check-in code. Nothing else is asked.
pub fn book_page() -> Page {
    let body = "<header><h1 id=\"title\">预约办事</h1><button id=\"lang\" type=\"button\">English</button></header>\
<main><p class=\"label\" id=\"hallName\"></p><p class=\"msg\" id=\"noSms\"></p>\
<div class=\"card pick\"><p class=\"step\" id=\"dept\">1. 选择部门</p><div id=\"depts\"></div></div>\
<div class=\"card pick hidden\" id=\"itemCard\"><p class=\"step\" id=\"item\">2. 选择事项</p><div id=\"items\"></div><p class=\"step\" id=\"matsTitle\"></p><ul class=\"mats\" id=\"mats\"></ul></div>\
<div class=\"card pick hidden\" id=\"dayCard\"><p class=\"step\" id=\"day\">3. 选择日期</p><div class=\"grid\" id=\"days\"></div>\
<p class=\"step\" id=\"slot\">4. 选择时段</p><div class=\"grid\" id=\"slots\"></div><p class=\"msg\" id=\"slotMsg\"></p></div>\
<div class=\"card hidden\" id=\"phoneCard\"><p class=\"step\" id=\"phone\">5. 手机号</p>\
<div class=\"row\"><input id=\"phone-input\" type=\"tel\" inputmode=\"numeric\" maxlength=\"13\" autocomplete=\"tel\"><button class=\"small\" id=\"getCode\" type=\"button\">获取验证码</button></div>\
<p class=\"msg\" id=\"codeMsg\"></p><input id=\"vcode\" type=\"text\" inputmode=\"numeric\" maxlength=\"6\" autocomplete=\"one-time-code\">\
<button class=\"go\" id=\"book\" type=\"button\" disabled>确认预约</button><p class=\"msg\" id=\"bookMsg\"></p></div>\
<div class=\"card hidden called\" id=\"result\"><p class=\"big\" id=\"done\">预约成功</p><p class=\"label\" id=\"yourCode\">签到码</p><p class=\"code\" id=\"resultCode\"></p>\
<p class=\"what\" id=\"resultWhen\"></p><p class=\"label\" id=\"resultHow\"></p></div>\
<div class=\"card\"><p class=\"step\" id=\"cancelTitle\">取消预约</p><div class=\"row\"><input id=\"cancelCode\" type=\"text\" inputmode=\"numeric\" maxlength=\"6\"><button class=\"small\" id=\"cancel\" type=\"button\">取消预约</button></div><p class=\"msg\" id=\"cancelMsg\"></p></div>\
<p class=\"free\" id=\"free\">帮办代办 免费服务</p></main>";
    let mut p = shell("zh-CN", "预约办事", body, BOOK_SCRIPT);
    p.html = p.html.replacen("</style>", &format!("{BOOK_STYLE}</style>"), 1);
    p
}

/// A page of the office's: the hall's style and its own, the charts' library when it draws
/// charts (served by the hall server, with the page's nonce), its script.
fn office_shell(title: &str, body: &str, script: &str, charts: bool) -> Page {
    let nonce = &bangban::access::new_secret()[..32];
    let lib = if charts {
        format!("<script nonce=\"{nonce}\" src=\"/office/echarts.js\"></script>")
    } else {
        String::new()
    };
    Page {
        html: format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{title}</title><style nonce=\"{nonce}\">{STYLE}{OFFICE_STYLE}</style></head><body>{body}{lib}<script nonce=\"{nonce}\">{OFFICE_COMMON}{script}</script></body></html>"
        ),
        csp: format!(
            "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; font-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
    }
}

const OFFICE_STYLE: &str = r#"
body { font-size: 16px; }
header { background: #0a3a7a; }
header button { color: #0a3a7a; }
header .who { font-size: 16px; margin-right: 12px; }
main.desk { padding: 14px 18px; max-width: 1800px; margin: 0 auto; }
nav.tabs { display: flex; gap: 8px; margin: 0 0 12px; }
nav.tabs button { font: inherit; font-size: 17px; padding: 8px 16px; border-radius: 8px; border: 2px solid #0a3a7a; background: #fff; color: #0a3a7a; min-height: 44px; }
nav.tabs button.on { background: #0a3a7a; color: #fff; }
.kpis { display: grid; grid-template-columns: repeat(8, 1fr); gap: 10px; margin-bottom: 12px; }
.kpi { background: #fff; border-radius: 12px; padding: 10px 12px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.kpi .v { font-size: 34px; font-weight: 700; line-height: 1.1; }
.kpi .k { font-size: 14px; color: #444; }
.kpi.warn .v { color: #8c1414; }
.grid2 { display: grid; grid-template-columns: 1.2fr 1fr; gap: 12px; }
.card h2 { font-size: 18px; margin: 0 0 8px; }
table { width: 100%; border-collapse: collapse; font-size: 15px; }
th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid #e4e0d6; white-space: nowrap; }
td.n, th.n { text-align: right; }
td.name { white-space: normal; }
.windows { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 6px; }
.win { border-radius: 8px; padding: 6px 8px; font-size: 14px; border: 2px solid #b5ada0; background: #fff; }
.win b { font-size: 16px; }
.win.serving { border-color: #0b6b2e; background: #e6f4ea; }
.win.called { border-color: #0a3a7a; background: #e3ecfa; }
.win.paused { border-color: #8a4b00; background: #fff1d6; }
.win.idle { color: #555; }
.chart { height: 240px; }
ul.plain { list-style: none; padding: 0; margin: 0; font-size: 15px; }
ul.plain li { padding: 4px 0; border-bottom: 1px solid #e4e0d6; }
.late { color: #8c1414; font-weight: 700; }
.fb { background: #fff; border-radius: 12px; padding: 12px 14px; margin-bottom: 10px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.fb .meta { font-size: 14px; color: #444; }
.fb textarea { width: 100%; font: inherit; min-height: 60px; margin: 6px 0; border: 2px solid #b5ada0; border-radius: 8px; padding: 6px; }
.fb button, .signin button { font: inherit; min-height: 44px; padding: 0 16px; border-radius: 8px; border: 0; background: #0a3a7a; color: #fff; }
.signin { max-width: 420px; margin: 40px auto; }
.fb input, .row input, .row select { font: inherit; min-height: 40px; margin: 4px 6px 4px 0; padding: 4px 8px; border: 2px solid #b5ada0; border-radius: 8px; }
.fb input { width: 100%; }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-bottom: 8px; }
.row a { color: #0a3a7a; font-weight: 700; margin-left: 10px; }
.row button { font: inherit; min-height: 40px; padding: 0 14px; border-radius: 8px; border: 0; background: #0a3a7a; color: #fff; }
.fb button.link { background: none; color: #0a3a7a; padding: 0; min-height: 0; font-weight: 700; text-decoration: underline; }
.signin input { font: inherit; font-size: 20px; width: 100%; min-height: 48px; margin: 6px 0 12px; padding: 6px 10px; border: 2px solid #b5ada0; border-radius: 8px; }
.msg { color: #8c1414; min-height: 22px; }
.hidden { display: none; }
body.wall { font-size: 22px; background: #0d1b2e; color: #f2f2f2; }
body.wall header { background: #06264f; }
body.wall .kpi, body.wall .card { background: #142a47; color: #f2f2f2; box-shadow: none; }
body.wall .kpi .k { color: #c9d6ea; }
body.wall .kpi .v { font-size: 52px; }
body.wall .kpi.warn .v { color: #ffb3b3; }
body.wall .late { color: #ffb3b3; }
body.wall th, body.wall td { border-color: #2a4466; font-size: 18px; padding: 4px 5px; }
body.wall td.name { white-space: nowrap; }
body.wall .win { background: #142a47; color: #f2f2f2; font-size: 17px; }
body.wall .win.serving { background: #0f3d24; }
body.wall .win.called { background: #12305c; }
body.wall .win.paused { background: #4a3300; }
body.wall header { height: 64px; padding: 0 18px; }
body.wall main.desk { max-width: none; padding: 10px 14px; height: calc(100vh - 64px); display: grid; gap: 10px;
  grid-template-columns: 1.45fr 1.25fr 0.9fr; grid-template-rows: auto 1fr 1fr; grid-template-areas: "k k k" "a b c" "d b e"; }
body.wall .kpis { grid-area: k; margin: 0; }
body.wall .wa { grid-area: a; } body.wall .wb { grid-area: b; } body.wall .wc { grid-area: c; }
body.wall .wd { grid-area: d; } body.wall .we { grid-area: e; }
body.wall .card { margin: 0; display: flex; flex-direction: column; overflow: hidden; min-height: 0; }
body.wall .card h2 { font-size: 22px; }
body.wall .chart { flex: 1; min-height: 0; height: auto; }
body.wall .windows { grid-template-columns: repeat(4, 1fr); }
body.wall ul.plain { font-size: 19px; }
body.wall ul.plain li { border-color: #2a4466; }
body.wall header h1 { font-size: 26px; }
body.wall .who { font-size: 22px; }
"#;

/// What every office page shares: the words in both languages and the dashboard's drawing.
const OFFICE_COMMON: &str = r##"
const W = {
  zh: { lang: "English", issued: "今日取号", served: "已办", waiting: "等候", noShows: "过号", longest: "最长等候（分钟）", priority: "优先群体等候", satisfied: "满意率", alerts: "提醒",
        depts: "各部门", dept: "部门", windows: "窗口", perHour: "每小时叫号", waits: "等候时长分布（分钟）", alertList: "超期与将到期", bad: "差评待跟进",
        serving: "办理中", called: "已叫号", paused: "暂停", idle: "空闲", min: m => `${m} 分钟`, none: "暂无", conn: "连接中断，正在重新连接…",
        calls: "叫号", people: "人", dash: "数据驾驶舱", feedback: "意见与回复", signOut: "退出", reply: "回复", replied: "已回复", due: "答复期限", sent: "已提交",
        kinds: { overdue: "超期", soon: "将到期", unclosed: "日结未完成" }, more: n => `…另有 ${n} 项`, whole: "全厅", followOpen: "待回复", followDone: "已回复" },
  en: { lang: "中文", issued: "Tickets today", served: "Served", waiting: "Waiting", noShows: "No-shows", longest: "Longest wait (min)", priority: "Priority waiting", satisfied: "Satisfied", alerts: "Alerts",
        depts: "Departments", dept: "Department", windows: "Windows", perHour: "Calls per hour", waits: "Waits until called (min)", alertList: "Overdue and due soon", bad: "Bad ratings to follow up",
        serving: "serving", called: "called", paused: "paused", idle: "idle", min: m => `${m} min`, none: "none", conn: "Connection lost — reconnecting…",
        calls: "calls", people: "visitors", dash: "Dashboard", feedback: "Complaints", signOut: "Sign out", reply: "Reply", replied: "Replied", due: "Reply by", sent: "Sent",
        kinds: { overdue: "overdue", soon: "due soon", unclosed: "day not closed" }, more: n => `… and ${n} more`, whole: "Whole hall", followOpen: "awaiting reply", followDone: "replied" }
};
let lang = localStorage.getItem("bangban-lang") || "zh";
const $ = id => document.getElementById(id);
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; }
function words() { return W[lang]; }
let charts = {};
function chart(id) { if (!window.echarts) return null; if (!charts[id]) charts[id] = echarts.init($(id), null, { renderer: "canvas" }); return charts[id]; }
function drawDashboard(d, dark) {
  const t = words();
  const kp = [["issued", d.total.issued], ["served", d.total.served], ["waiting", d.total.waiting], ["noShows", d.total.no_shows],
              ["longest", d.total.longest_wait_min, d.total.longest_wait_min >= 30], ["priority", d.total.priority_waiting, d.total.priority_waiting > 0],
              ["satisfied", d.satisfied_pct === null ? "—" : d.satisfied_pct.toFixed(0) + "%"], ["alerts", d.alert_count, d.alert_count > 0]];
  const k = $("kpis"); k.textContent = "";
  for (const [key, v, warn] of kp) { const c = el("div", null, "kpi" + (warn ? " warn" : "")); c.id = "kpi-" + key; c.appendChild(el("div", String(v), "v")); c.appendChild(el("div", t[key], "k")); k.appendChild(c); }
  $("stamp").textContent = d.date + " " + d.at;
  const tb = $("deptRows"); tb.textContent = "";
  for (const x of d.departments) {
    const tr = el("tr"); tr.dataset.code = x.code;
    tr.appendChild(el("td", lang === "en" && x.name_en ? x.name_en : x.name, "name"));
    for (const v of [x.issued, x.served, x.waiting, x.priority_waiting, x.no_shows, x.longest_wait_min]) tr.appendChild(el("td", String(v), "n"));
    tb.appendChild(tr);
  }
  const ws = $("windows"); ws.textContent = "";
  for (const w of d.windows) {
    const c = el("div", null, "win " + w.state); c.dataset.window = w.window;
    c.appendChild(el("b", (lang === "en" ? "Window " : "") + w.window + (lang === "en" ? "" : " 号窗口")));
    c.appendChild(el("div", t[w.state] + (w.number ? " · " + w.number : "") + (w.state !== "idle" && w.minutes ? " · " + t.min(w.minutes) : "")));
    c.appendChild(el("div", w.staff_name || w.departments));
    ws.appendChild(c);
  }
  const fg = dark ? "#f2f2f2" : "#1a1a1a";
  const axis = { axisLabel: { color: fg }, axisLine: { lineStyle: { color: fg } } };
  const ph = chart("perHour");
  if (ph) ph.setOption({ animation: false, grid: { left: 40, right: 10, top: 20, bottom: 30 }, textStyle: { fontFamily: "Hall" },
    xAxis: Object.assign({ type: "category", data: d.calls_per_hour.map(p => p[0] + ":00") }, axis), yAxis: Object.assign({ type: "value", minInterval: 1 }, axis),
    series: [{ type: "bar", data: d.calls_per_hour.map(p => p[1]), itemStyle: { color: dark ? "#6fa8ff" : "#0a3a7a" }, label: { show: true, position: "top", color: fg } }] });
  const wt = chart("waits");
  if (wt) wt.setOption({ animation: false, grid: { left: 40, right: 10, top: 20, bottom: 30 }, textStyle: { fontFamily: "Hall" },
    xAxis: Object.assign({ type: "category", data: d.waits.map(p => p[0]) }, axis), yAxis: Object.assign({ type: "value", minInterval: 1 }, axis),
    series: [{ type: "bar", data: d.waits.map(p => p[1]), itemStyle: { color: dark ? "#ffb86b" : "#8a4b00" }, label: { show: true, position: "top", color: fg } }] });
  const al = $("alertList"); al.textContent = "";
  if (!d.alerts.length) al.appendChild(el("li", t.none));
  const shown = dark ? d.alerts.slice(0, 6) : d.alerts;
  for (const a of shown) { const li = el("li", null, a.overdue ? "late" : ""); if (a.kind === "unclosed_day") { li.textContent = t.kinds.overdue + " · " + t.kinds.unclosed + " · " + a.business_day; al.appendChild(li); continue; } if (!dark && typeof showCase === "function") { li.style.cursor = "pointer"; li.onclick = () => showCase(a.business_day + "/" + a.number); } li.textContent = (a.overdue ? t.kinds.overdue : t.kinds.soon) + " · " + a.number + " · " + a.kind_name + " · " + a.department_name + " · " + a.due; al.appendChild(li); }
  if (d.alert_count > shown.length) al.appendChild(el("li", t.more(d.alert_count - shown.length)));
  const bd = $("badList"); bd.textContent = "";
  if (!d.bad_ratings.length) bd.appendChild(el("li", t.none));
  for (const b of d.bad_ratings) bd.appendChild(el("li", `${b.number} · ${b.level_name} · ${b.department_name} · ${b.specialist_name}${b.reasons ? " · " + b.reasons : ""} · ${b.follow_up === "replied" ? t.followDone : t.followOpen}`));
  for (const k of ["depts", "windows", "perHour", "waits", "alertList", "bad"]) { const h = $("h-" + k); if (h) h.textContent = t[k]; }
  const hd = $("deptHead"); if (hd) { hd.textContent = ""; for (const h of [t.dept, t.issued, t.served, t.waiting, t.priority, t.noShows, t.longest]) hd.appendChild(el("th", h)); }
}
let last = null;
function follow(dark) {
  const es = new EventSource("/office/stream");
  es.addEventListener("dashboard", e => { last = JSON.parse(e.data); $("conn").textContent = ""; drawDashboard(last, dark); });
  es.onerror = () => { $("conn").textContent = words().conn; };
}
window.addEventListener("resize", () => { for (const c of Object.values(charts)) c.resize(); });
"##;

const DASH_BODY: &str = "<div class=\"kpis\" id=\"kpis\"></div>\
<div class=\"grid2\"><div class=\"card\"><h2 id=\"h-depts\">各部门</h2><table><thead><tr id=\"deptHead\"></tr></thead><tbody id=\"deptRows\"></tbody></table></div>\
<div class=\"card\"><h2 id=\"h-windows\">窗口</h2><div class=\"windows\" id=\"windows\"></div></div></div>\
<div class=\"grid2\"><div class=\"card\"><h2 id=\"h-perHour\">每小时叫号</h2><div class=\"chart\" id=\"perHour\"></div></div>\
<div class=\"card\"><h2 id=\"h-waits\">等候时长分布</h2><div class=\"chart\" id=\"waits\"></div></div></div>\
<div class=\"grid2\"><div class=\"card\"><h2 id=\"h-alertList\">超期与将到期</h2><ul class=\"plain\" id=\"alertList\"></ul></div>\
<div class=\"card\"><h2 id=\"h-bad\">差评待跟进</h2><ul class=\"plain\" id=\"badList\"></ul></div></div>";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The office's sign-in: staff id and PIN.
pub fn office_sign_in() -> Page {
    let body = "<header><h1>帮办代办 · 管理办公室</h1></header><main><div class=\"card signin\"><p class=\"big\">管理办公室登录</p>\
<p class=\"label\">Management office sign-in · 管理办公室或部门统筹协调专员</p>\
<label for=\"staff\">工号 Staff id</label><input id=\"staff\" autocomplete=\"username\">\
<label for=\"pin\">PIN</label><input id=\"pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"current-password\">\
<button id=\"go\" type=\"button\">登录 Sign in</button><p class=\"msg\" id=\"msg\"></p></div></main>";
    let script = r#"
const errs = { wrong_pin: "工号或 PIN 不对 · wrong staff id or PIN", login_locked: "输错太多次，已暂时锁定 · locked after too many tries", unknown_staff: "没有这个工号 · no such staff id", forbidden: "只有管理办公室和部门统筹协调专员可以登录 · for the office and the coordinators only", rate_limited: "操作太频繁，请稍后 · too many tries, wait a minute" };
async function go() {
  const r = await fetch("/office/sign-in", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ staff: $("staff").value, pin: $("pin").value }) });
  if (r.ok) { location.reload(); return; }
  let j = {}; try { j = await r.json(); } catch (e) {}
  $("msg").textContent = errs[j.kind] || j.error || ("HTTP " + r.status);
  $("pin").value = "";
}
$("go").onclick = go;
$("pin").addEventListener("keydown", e => { if (e.key === "Enter") go(); });
"#;
    office_shell("管理办公室登录", body, script, false)
}

/// The office's desk: the live dashboard and the complaints with their replies.
pub fn office_page(name: &str, staff: &str, department: Option<&str>, csrf: &str, today: &str) -> Page {
    let scope = department.map(escape).unwrap_or_else(|| "全厅".into());
    let body = format!(
        "<header><h1 id=\"title\">帮办代办 · 管理办公室 · {scope}</h1><div><span class=\"who\" id=\"who\">{} （{}）</span><button id=\"lang\" type=\"button\">English</button> <button id=\"out\" type=\"button\">退出</button></div></header>\
<main class=\"desk\"><nav class=\"tabs\"><button id=\"tab-dash\" class=\"on\" type=\"button\">数据驾驶舱</button><button id=\"tab-feedback\" type=\"button\">意见与回复</button><button id=\"tab-coord\" type=\"button\">协调会商</button><button id=\"tab-records\" type=\"button\">台账</button><button id=\"tab-case\" type=\"button\">案件</button><button id=\"tab-appts\" type=\"button\">预约</button><button id=\"tab-scores\" type=\"button\">考核</button><span class=\"label\" id=\"stamp\"></span></nav>\
<section id=\"dash\">{DASH_BODY}</section><section id=\"fbs\" class=\"hidden\"><div id=\"feedback\"></div></section>\
<section id=\"coords\" class=\"hidden\"><div id=\"coord\"></div></section>\
<section id=\"cases\" class=\"hidden\"><div class=\"card\"><div class=\"row\"><input id=\"caseRef\" placeholder=\"号码、日期/号码或二维码\"><button id=\"caseGo\" type=\"button\">查看</button></div><div id=\"caseBox\"></div></div></section>\
<section id=\"apptsSec\" class=\"hidden\"><div class=\"card\"><div class=\"row\"><input id=\"apptDay\" type=\"date\"><button id=\"apptGo\" type=\"button\">查询</button></div>\
<div class=\"row\"><select id=\"apptItem\"></select><input id=\"apptAt\" placeholder=\"YYYY-MM-DD HH:MM\"><input id=\"apptPhone\" placeholder=\"来电人手机号\" inputmode=\"numeric\"><button id=\"apptBook\" type=\"button\">为来电人预约</button><span class=\"msg\" id=\"apptMsg\"></span></div>\
<table><thead><tr><th>时间</th><th>事项</th><th>手机</th><th>签到码</th><th>状态</th><th>号码</th><th></th></tr></thead><tbody id=\"apptRows\"></tbody></table></div></section>\
<section id=\"scoresSec\" class=\"hidden\"><div class=\"card\"><div class=\"row\"><input id=\"scoreFrom\" type=\"date\"><input id=\"scoreTo\" type=\"date\"><button id=\"scoreGo\" type=\"button\">查询</button></div>\
<h2>各部门</h2><table><thead><tr class=\"scoreHead\"></tr></thead><tbody id=\"scoreDepts\"></tbody></table><h2>各专员</h2><table><thead><tr class=\"scoreHead\"></tr></thead><tbody id=\"scoreStaff\"></tbody></table></div></section>\
<section id=\"recs\" class=\"hidden\"><div class=\"card\"><div class=\"row\"><select id=\"recKind\"></select><input id=\"recFrom\" type=\"date\"><input id=\"recTo\" type=\"date\"><button id=\"recGo\" type=\"button\">查询</button><a id=\"recXlsx\" download>导出 XLSX</a><a id=\"recCsv\" download>导出 CSV</a></div>\
<table><thead><tr id=\"recHead\"></tr></thead><tbody id=\"recRows\"></tbody></table></div></section><p class=\"conn\" id=\"conn\"></p></main>",
        escape(name),
        escape(staff)
    );
    let script = format!(
        "const CSRF = {};\nconst OFFICE = {};\nconst TODAY = {};\n{}",
        serde_json::to_string(csrf).unwrap_or_default(),
        department.is_none(),
        serde_json::to_string(today).unwrap_or_default(),
        r#"
async function post(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": CSRF }, body: JSON.stringify(body) });
  let j = {}; try { j = await r.json(); } catch (e) {}
  if (!r.ok) throw j;
  return j;
}
const SECTIONS = { dash: "dash", feedback: "fbs", coord: "coords", records: "recs", case: "cases", appts: "apptsSec", scores: "scoresSec" };
const STATES = { booked: "已预约", checked_in: "已签到", cancelled: "已取消" };
async function loadAppts() {
  if (!$("apptDay").value) $("apptDay").value = TODAY;
  if (!$("apptItem").options.length) {
    const h = await (await fetch("/book/hall")).json();
    for (const d of h.departments) for (const i of d.items) { const o = el("option", `${i.code} ${i.name}`); o.value = i.code; $("apptItem").appendChild(o); }
  }
  const list = await (await fetch("/office/api/appointments?date=" + $("apptDay").value)).json();
  const tb = $("apptRows"); tb.textContent = "";
  for (const a of list) {
    const tr = el("tr"); tr.dataset.code = a.code;
    for (const v of [a.local_time.slice(11), a.item_name, a.phone, a.code, STATES[a.state] || a.state, a.number || ""]) tr.appendChild(el("td", v));
    const td = el("td");
    if (a.state === "booked") { const b = el("button", "取消"); b.type = "button"; b.onclick = async () => { if (!confirm("取消这个预约？")) return; try { await post("/office/api/appointments/cancel", { code: a.code }); loadAppts(); } catch (e) { $("apptMsg").textContent = e.error || "error"; } }; td.appendChild(b); }
    tr.appendChild(td); tb.appendChild(tr);
  }
  if (!list.length) { const tr = el("tr"); tr.appendChild(el("td", words().none)); tb.appendChild(tr); }
}
const fmt = v => v === null || v === undefined ? "—" : (typeof v === "number" && !Number.isInteger(v) ? v.toFixed(1) : String(v));
async function loadScores() {
  if (!$("scoreFrom").value) { $("scoreFrom").value = TODAY; $("scoreTo").value = TODAY; }
  for (const h of document.querySelectorAll(".scoreHead")) { h.textContent = ""; for (const x of ["名称", "取号", "已办", "平均等候", "p90 等候", "平均办理", "评价", "平均分", "差评", "投诉", "已回复", "超期咨询", "办结", "一次办结率 %", "件均跑腿", "超期办理"]) h.appendChild(el("th", x)); }
  const r = await fetch(`/office/api/figures?from=${$("scoreFrom").value}&to=${$("scoreTo").value}`);
  const f = r.ok ? await r.json() : { departments: [], specialists: [] };
  for (const [id, rows] of [["scoreDepts", f.departments], ["scoreStaff", f.specialists]]) {
    const tb = $(id); tb.textContent = "";
    for (const x of rows) { const tr = el("tr"); tr.dataset.code = x.code; [x.name, x.tickets, x.served, x.wait_mean_min, x.wait_p90_min, x.service_mean_min, x.ratings, x.rating_mean, x.ratings_bad, x.complaints, x.feedback_replied, x.consultations_overdue, x.finished, x.one_visit_pct, x.visits_per_case, (x.late_answers || 0) + (x.late_deliveries || 0) + (x.late_archives || 0) + (x.late_replies || 0)].forEach((v, i) => tr.appendChild(el("td", fmt(v), i ? "n" : "name"))); tb.appendChild(tr); }
  }
}
async function showCase(ref) {
  show("case"); $("caseRef").value = ref;
  const box = $("caseBox"); box.textContent = "";
  const r = await fetch("/office/api/case?ref=" + encodeURIComponent(ref));
  let c = {}; try { c = await r.json(); } catch (e) {}
  if (!r.ok) { box.appendChild(el("p", c.error || ("HTTP " + r.status), "msg")); return; }
  box.appendChild(el("p", `${c.number} · ${c.department_name} · ${c.item_name}`, "big"));
  box.appendChild(el("p", `${c.state} · ${c.mode}${c.priority ? " · " + c.priority : ""}${c.owner ? " · 首问负责 " + c.owner : ""}${c.under_coordination ? " · 协调中" : ""}${c.rating ? " · 评价 " + c.rating : ""}`, "meta"));
  if (c.parts.length) { const ul = el("ul", null, "plain"); for (const p of c.parts) ul.appendChild(el("li", `${p.department_name} · ${p.state}${p.owner ? " · " + p.owner : ""}${p.missing.length ? " · 缺 " + p.missing.join("、") : ""}`)); box.appendChild(ul); }
  const t = el("table"); const head = el("tr"); for (const h of ["序号", "时间", "经办", "事项", "内容"]) head.appendChild(el("th", h)); t.appendChild(head);
  for (const x of c.lines) { const tr = el("tr"); [x.seq, x.at, x.who, x.what, x.detail].forEach((v, i) => tr.appendChild(el("td", String(v), i === 4 ? "name" : ""))); t.appendChild(tr); }
  t.id = "caseLines"; box.appendChild(t);
  const forms = el("div", null, "row"); forms.id = "caseForms"; forms.appendChild(el("span", "表单（A4 PDF）：", "meta"));
  for (const [k, n] of [["poa", "委托书"], ["acceptance", "受理单"], ["notice", "一次性告知书"], ["suspension", "中止告知单"], ["termination", "终止告知单"], ["completion", "办结单"], ["handover", "材料交接单"]]) {
    const a = el("a", n); a.href = `/office/api/form?kind=${k}&ref=${encodeURIComponent(c.case)}`; a.target = "_blank"; a.dataset.kind = k; forms.appendChild(a);
  }
  box.appendChild(forms);
}
function show(which) {
  for (const [tab, sec] of Object.entries(SECTIONS)) { $(sec).classList.toggle("hidden", which !== tab); $("tab-" + tab).classList.toggle("on", which === tab); }
  if (which === "feedback") loadFeedback(); else if (which === "coord") loadCoord(); else if (which === "records") loadRecords(); else if (which === "appts") loadAppts(); else if (which === "scores") loadScores(); else if (which === "dash") for (const c of Object.values(charts)) c.resize();
}
function input(id, placeholder) { const i = el("input"); i.id = id; i.placeholder = placeholder; return i; }
async function loadCoord() {
  const list = await (await fetch("/office/api/coordination")).json();
  const box = $("coord"); box.textContent = "";
  if (!list.length) box.appendChild(el("p", words().none));
  for (const c of list) {
    const card = el("div", null, "fb"); card.dataset.case = c.case;
    const open = el("button", `${c.number} · ${c.department_name} · ${c.item_name}`, "link"); open.type = "button"; open.onclick = () => showCase(c.case);
    card.appendChild(open);
    card.appendChild(el("p", `协调事由：${c.reason}（${c.requested_by}，${c.requested_at}）`));
    for (const m of c.meetings) card.appendChild(el("p", `会议 ${m.held_at}：${m.participants.join("、")}；纪要：${m.minutes}；决定：${m.decision}${m.follow_up ? "；跟进日期：" + m.follow_up : ""}`, "meta"));
    if (OFFICE) {
      const key = c.case.replace("/", "-");
      const f = [input("held-" + key, "会议时间 YYYY-MM-DD HH:MM"), input("who-" + key, "参会专员工号，逗号分隔"), input("minutes-" + key, "会议纪要"), input("decision-" + key, "会议决定"), input("follow-" + key, "跟进日期 YYYY-MM-DD")];
      for (const i of f) card.appendChild(i);
      const b = el("button", "记录协调会议"); b.id = "meet-" + key; b.type = "button";
      const m = el("span", "", "msg");
      b.onclick = async () => { try { await post("/office/api/meeting", { case: c.case, held_at: f[0].value, participants: f[1].value, minutes: f[2].value, decision: f[3].value, follow_up: f[4].value }); loadCoord(); } catch (e) { m.textContent = " " + (e.error || e.kind || "error"); } };
      const out = input("outcome-" + key, "协调结果");
      const r = el("button", "记录协调结果"); r.id = "resolve-" + key; r.type = "button";
      r.onclick = async () => { try { await post("/office/api/resolve", { case: c.case, outcome: out.value }); loadCoord(); } catch (e) { m.textContent = " " + (e.error || e.kind || "error"); } };
      card.appendChild(b); card.appendChild(out); card.appendChild(r); card.appendChild(m);
    }
    box.appendChild(card);
  }
}
const KINDS = [["consultations", "接待咨询记录"], ["notifications", "一次性告知记录"], ["acceptances", "受理委托记录"], ["deliveries", "结果交付记录"], ["mail", "邮寄登记"], ["archives", "资料归档记录"], ["transfers", "转办记录"], ["suspensions", "中止终止记录"], ["escorts", "陪同记录"], ["meetings", "协调会议记录"], ["difficulties", "难点堵点记录"], ["training", "培训记录"]];
function recQuery() { return `kind=${$("recKind").value}&from=${$("recFrom").value}&to=${$("recTo").value}`; }
async function loadRecords() {
  if (!$("recKind").options.length) { for (const [k, n] of KINDS) { const o = el("option", n); o.value = k; $("recKind").appendChild(o); } $("recFrom").value = TODAY; $("recTo").value = TODAY; }
  $("recXlsx").href = "/office/records.xlsx?" + recQuery(); $("recCsv").href = "/office/records.csv?" + recQuery();
  const head = $("recHead"); head.textContent = "";
  for (const h of ["时间", "来源", "号码", "部门", "事项", "专员", "窗口", "事由", "内容"]) head.appendChild(el("th", h));
  const r = await fetch("/office/api/records?" + recQuery());
  const rows = r.ok ? await r.json() : [];
  const tb = $("recRows"); tb.textContent = "";
  for (const x of rows) { const tr = el("tr"); [x.time, x.channel, x.number, x.department, x.item, x.staff_name, x.window || "", x.what, x.detail].forEach((v, i) => tr.appendChild(el("td", String(v), i === 4 || i === 8 ? "name" : ""))); tb.appendChild(tr); }
  if (!rows.length) { const tr = el("tr"); tr.appendChild(el("td", words().none)); tb.appendChild(tr); }
}
async function loadFeedback() {
  const t = words();
  const list = await (await fetch("/office/api/feedback")).json();
  const box = $("feedback"); box.textContent = "";
  if (!list.length) box.appendChild(el("p", t.none));
  for (const f of list) {
    const c = el("div", null, "fb"); c.dataset.id = f.id;
    c.appendChild(el("div", `#${f.id} · ${f.category_name} · ${f.department || ""}${f.window ? " · " + f.window + "号窗口" : ""} · ${f.received_at.slice(0, 16).replace("T", " ")}`, "meta"));
    if (f.text) c.appendChild(el("p", f.text));
    if (f.replied_at) { c.appendChild(el("p", t.replied + "：" + (f.reply || ""), "meta")); }
    else {
      c.appendChild(el("div", t.due + " " + f.due.slice(0, 16).replace("T", " "), "meta"));
      const ta = el("textarea"); ta.id = "reply-" + f.id; c.appendChild(ta);
      const b = el("button", t.reply); b.id = "send-" + f.id; b.type = "button";
      const m = el("span", "", "msg"); m.id = "msg-" + f.id;
      b.onclick = async () => { try { await post(`/office/api/feedback/${f.id}/reply`, { reply: ta.value }); loadFeedback(); } catch (e) { m.textContent = " " + (e.error || e.kind || "error"); } };
      c.appendChild(b); c.appendChild(m);
    }
    box.appendChild(c);
  }
}
for (const tab of Object.keys(SECTIONS)) $("tab-" + tab).onclick = () => show(tab);
$("recGo").onclick = loadRecords;
$("caseGo").onclick = () => showCase($("caseRef").value.trim());
$("apptGo").onclick = loadAppts;
$("scoreGo").onclick = loadScores;
$("apptBook").onclick = async () => {
  try { const a = await post("/office/api/appointments/add", { item: $("apptItem").value, at: $("apptAt").value, phone: $("apptPhone").value }); $("apptMsg").textContent = `已预约 ${a.local_time}，签到码 ${a.code}（${a.phone}）`; $("apptDay").value = a.local_time.slice(0, 10); loadAppts(); }
  catch (e) { $("apptMsg").textContent = e.error || e.kind || "error"; }
};
if (OFFICE) {
  const b = el("button", "日结"); b.id = "closeDay"; b.type = "button";
  b.onclick = async () => { if (!confirm("日结：过期今天仍在等候的号，并记录链头。继续？")) return; try { const d = await post("/office/api/close-day", {}); $("conn").textContent = `已日结 ${d.business_day}：过期 ${d.expired} 个号`; } catch (e) { $("conn").textContent = e.error || e.kind || "error"; } };
  $("out").before(b, " ");
}
$("out").onclick = async () => { try { await post("/office/sign-out", {}); } catch (e) {} location.reload(); };
$("lang").onclick = () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("bangban-lang", lang); $("lang").textContent = words().lang; $("tab-dash").textContent = words().dash; $("tab-feedback").textContent = words().feedback; $("out").textContent = words().signOut; if (last) drawDashboard(last, false); };
follow(false);
"#
    );
    office_shell("管理办公室 · 数据驾驶舱", &body, &script, true)
}

/// The wall screen's one-time opening with a board device's token.
pub fn wall_sign_in() -> Page {
    let body = "<header><h1>帮办代办 · 数据大屏</h1></header><main><div class=\"card signin\"><p class=\"big\">打开数据大屏</p>\
<p class=\"label\">Open the wall screen with a board device's token (bangban device add wall-1 --role board)</p>\
<label for=\"token\">设备令牌 Device token</label><input id=\"token\" type=\"password\" autocomplete=\"off\">\
<button id=\"go\" type=\"button\">打开 Open</button><p class=\"msg\" id=\"msg\"></p></div></main>";
    let script = r#"
$("go").onclick = async () => {
  const r = await fetch("/office/wall/sign-in", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: $("token").value }) });
  if (r.ok) { location.reload(); return; }
  let j = {}; try { j = await r.json(); } catch (e) {}
  $("msg").textContent = j.error || ("HTTP " + r.status);
};
"#;
    office_shell("数据大屏", body, script, false)
}

/// The wall's arrangement of the dashboard: one 1920×1080 screen, nothing to scroll.
const WALL_BODY: &str = "<div class=\"kpis\" id=\"kpis\"></div>\
<div class=\"card wa\"><h2 id=\"h-depts\">各部门</h2><table><thead><tr id=\"deptHead\"></tr></thead><tbody id=\"deptRows\"></tbody></table></div>\
<div class=\"card wb\"><h2 id=\"h-windows\">窗口</h2><div class=\"windows\" id=\"windows\"></div></div>\
<div class=\"card wc\"><h2 id=\"h-perHour\">每小时叫号</h2><div class=\"chart\" id=\"perHour\"></div></div>\
<div class=\"card wd\"><h2 id=\"h-alertList\">超期与将到期</h2><ul class=\"plain\" id=\"alertList\"></ul><h2 id=\"h-bad\">差评待跟进</h2><ul class=\"plain\" id=\"badList\"></ul></div>\
<div class=\"card we\"><h2 id=\"h-waits\">等候时长分布</h2><div class=\"chart\" id=\"waits\"></div></div>";

/// The wall screen (1920×1080): the dashboard, large and dark, read-only.
pub fn wall_page(department: Option<&str>) -> Page {
    let scope = department.map(escape).unwrap_or_else(|| "全厅".into());
    let body = format!(
        "<header><h1>帮办代办 · 数据驾驶舱 · {scope}</h1><span class=\"who\" id=\"stamp\"></span><p class=\"conn\" id=\"conn\"></p></header><main class=\"desk\">{WALL_BODY}</main>"
    );
    let script = r#"document.body.classList.add("wall"); follow(true);"#;
    office_shell("数据大屏", &body, script, true)
}
