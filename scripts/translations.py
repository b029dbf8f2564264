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
