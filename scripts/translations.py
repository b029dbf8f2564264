#!/usr/bin/env python3
"""Writes ui/lang/en/LC_MESSAGES/{kiosk,display}.po from the @tr strings in ui/ and the English
table below. Run after adding a @tr string; `--check` fails when a string has no English."""
import pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EN = {
    "{} 人等候": "{} waiting",
    "{} 号窗口": "Window {}",
    "{} 秒后自动返回首页": "Back to start in {} s",
    "✔ 号票已打印，请取走号票": "✔ Ticket printed — please take it",
    "上一页": "Previous",
    "下一页": "Next",
    "不知道办什么？": "Not sure what you need?",
    "不知道办什么？找专员咨询": "Not sure? Ask a specialist",
    "专员陪您办": "A specialist goes with you",
    "优先办理：{}": "Priority: {}",
    "先找专员咨询": "Talk to a specialist first",
    "免费帮办代办：本中心帮办代办服务一律免费，不收取任何费用。": "Assistance is free: this center never charges for assisted or proxy handling.",
    "全程代办": "Full proxy service",
    "前方无人等候，请留意叫号": "Nobody ahead of you — watch for your number",
    "前方等待 {} 人 · 预计 {} 分钟": "{} ahead of you · about {} min",
    "号票二维码": "Ticket QR code",
    "大字": "Large text",
    "委托专员代您办": "A specialist handles it for you",
    "完成": "Done",
    "属于以下人群可优先办理（可不选）：": "Priority service for these groups (optional):",
    "已电话或网上预约": "Booked by phone or online",
    "帮办代办 · 一对一帮您办": "Assisted service · one specialist for you",
    "帮办代办 免费服务 · 如需帮助请找穿红马甲的帮办专员": "Free assisted service · ask a specialist in a red vest for help",
    "帮办代办取号": "Assisted service tickets",
    "您的号码 {}": "Your number {}",
    "您的号码": "Your number",
    "我要办事": "Get a ticket",
    "打印机暂时无法出票，请拍照保存您的号码": "The printer cannot print right now — please take a photo of your number",
    "无需携带材料，专员会当面为您解答。": "No documents needed; the specialist will answer in person.",
    "无需等候": "No wait",
    "服务方式：": "Service:",
    "本服务免费": "This service is free",
    "本机不打印号票，请拍照保存您的号码": "This kiosk has no printer — please take a photo of your number",
    "标准字": "Normal text",
    "正在出号，请稍候…": "Issuing your ticket, please wait…",
    "正在打印号票…": "Printing your ticket…",
    "现在无需等候": "No wait right now",
    "现场帮办": "On-site help",
    "目前 {} 人等候": "{} waiting now",
    "知道了": "OK",
    "确认取号": "Confirm and get ticket",
    "第 {} / {} 页": "Page {} of {}",
    "系统繁忙时可能需要十几秒，请不要离开。": "When the system is busy this can take a few seconds. Please stay.",
    "请准备以下材料（一次性告知）：": "Please bring these documents (full list):",
    "请到 {} 号窗口办理": "Please go to window {}",
    "请确认并取号": "Confirm your ticket",
    "请选择办事部门": "Choose a department",
    "请选择要办理的事项": "Choose your matter",
    "返回": "Back",
    "选择要办的事项，取号排队": "Choose your matter and join the queue",
    "预约签到": "Appointment check-in",
    "预约签到暂未开通。请点击「我要办事」取号，或到服务台请工作人员帮您。": "Appointment check-in is not available yet. Tap “Get a ticket”, or ask at the service desk.",
    "系统繁忙，暂时无法出号。请稍后再试，或到服务台请工作人员帮您取号。": "The system is busy and cannot issue a ticket now. Please try again shortly, or ask at the service desk.",
    "暂时无法出号，请到服务台请工作人员帮您取号。": "A ticket cannot be issued right now. Please ask at the service desk.",
    "PIN": "PIN",
    "{} 分钟": "{} min",
    "{} 号窗口 · 帮办代办专员登录": "Window {} · specialist sign-in",
    "一、咨询辅导": "1. Consultation",
    "三、结果交付": "3. Delivery",
    "二、受理委托": "2. Acceptance",
    "优先 {}": "{} priority",
    "办结待交付": "Done, ready to deliver",
    "受理（勾选为已交材料）": "Accept (ticked = handed over)",
    "叫下一位": "Call next",
    "叫号屏": "Queue board",
    "号码或扫码": "Number or scan",
    "告知缺少材料": "Notify missing (ticked)",
    "咨询问题": "Question",
    "四、资料归档 / 转办": "4. Archive / transfer",
    "工号": "Staff ID",
    "已在办结单签字": "Completion slip signed",
    "已签署委托书": "Power of attorney signed",
    "帮办代办 免费服务": "Assisted service is free",
    "帮办代办窗口": "Assistance window",
    "开始代办": "Start handling",
    "开始办理": "Visitor arrived",
    "归档": "Archive",
    "当前案件": "Current case",
    "当面交付": "Deliver in person",
    "恢复": "Resume",
    "恢复窗口": "Reopen window",
    "按号呼叫": "Call number",
    "无": "None",
    "暂停窗口": "Pause window",
    "暂挂": "Hold",
    "最近叫号": "Recent calls",
    "有待答复的咨询": "question awaiting answer",
    "材料已补齐": "Materials completed",
    "材料清单（勾选）": "Materials (tick)",
    "案件状态": "Case state",
    "登录": "Sign in",
    "确认签收": "Receipt confirmed",
    "移交与归档说明": "Hand-over and filing note",
    "等候队列（{} 人）": "Queue ({} waiting)",
    "答复": "Answer",
    "答复内容": "Answer given",
    "记录（已答复）": "Record (answered)",
    "记录（待研究）": "Record (to study)",
    "请": "Please",
    "请留意叫号": "Please watch for your number",
    "转办": "Transfer",
    "转办说明": "Transfer note",
    "转办部门代码": "Department code",
    "过号": "No-show",
    "退出": "Sign out",
    "邮寄": "Mail",
    "邮寄单号": "Tracking number",
    "重呼": "Recall",
}

TR = re.compile(r'@tr\("((?:[^"\\]|\\.)*)"')


def strings(files):
    out = []
    for f in files:
        for m in TR.finditer(f.read_text(encoding="utf-8")):
            if m.group(1) not in out:
                out.append(m.group(1))
    return sorted(out)


def po_escape(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def main():
    check = "--check" in sys.argv
    ui = ROOT / "ui"
    targets = {
        "kiosk": [ui / "kiosk.slint", *sorted((ui / "kiosk").glob("*.slint")), *sorted((ui / "common").glob("*.slint"))],
        "display": [p for p in [ui / "display.slint"] if p.exists()] + sorted((ui / "display").glob("*.slint")) + sorted((ui / "common").glob("*.slint")),
    }
    missing = []
    for name, files in targets.items():
        found = strings(files)
        missing += [s for s in found if s not in EN]
        body = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', '"Language: en\\n"', ""]
        for s in found:
            body += [f'msgid "{po_escape(s)}"', f'msgstr "{po_escape(EN.get(s, ""))}"', ""]
        path = ui / "lang" / "en" / "LC_MESSAGES" / f"{name}.po"
        text = "\n".join(body)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                print(f"{path} is out of date: run scripts/translations.py", file=sys.stderr)
                sys.exit(1)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if missing:
        print("no English for: " + ", ".join(missing), file=sys.stderr)
        sys.exit(1)


main()
