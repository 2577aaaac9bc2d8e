"""The mails' text in the recipient's language, as plain text and HTML.

Every value that comes from data (titles, bodies, names, links) is escaped with
:func:`html.escape` in the HTML part; the frame's own words are fixed per language.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

#: Heading per notification kind and language (``info`` for any other kind).
HEADINGS: dict[str, dict[str, str]] = {
    "en": {
        "assigned": "A task is waiting for you",
        "reminder": "Reminder: work is due",
        "escalation": "Escalation",
        "decision": "A decision on your request",
        "completed": "Your request is complete",
        "lesson": "A lesson was published",
        "withdrawn": "A request was withdrawn",
        "info": "News from PMOflow",
        "digest": "Your daily PMOflow digest",
    },
    "zh": {
        "assigned": "有一项任务等待您处理",
        "reminder": "提醒：工作已到期",
        "escalation": "升级通知",
        "decision": "您的申请已有决定",
        "completed": "您的申请已完成",
        "lesson": "新的经验教训已发布",
        "withdrawn": "一项申请已撤回",
        "info": "PMOflow 通知",
        "digest": "您的 PMOflow 每日摘要",
    },
}
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "open": "Open in PMOflow",
        "footer": "You receive this mail because of your "
        "PMOflow account. Choose immediate mail or a daily digest on your account page.",
        "items": "{n} notification(s)",
    },
    "zh": {
        "open": "在 PMOflow 中打开",
        "footer": "您收到此邮件是因为您的 PMOflow 账户。可在账户页面选择即时邮件或每日摘要。",
        "items": "{n} 条通知",
    },
}


@dataclass(frozen=True)
class Item:
    """One notification as a mail shows it."""

    kind: str
    title: str
    body: str
    link: str | None


@dataclass(frozen=True)
class Rendered:
    """A mail's subject and both parts."""

    subject: str
    text: str
    html: str


def language(locale: str | None) -> str:
    """``zh`` for any Chinese locale, else ``en``."""
    return "zh" if (locale or "").lower().startswith("zh") else "en"


def _url(base_url: str, link: str | None) -> str | None:
    if not link:
        return None
    if link.startswith(("http://", "https://")):
        return link
    return base_url.rstrip("/") + "/" + link.lstrip("/")


def _heading(lang: str, kind: str) -> str:
    return HEADINGS[lang].get(kind, HEADINGS[lang]["info"])


def _text_item(item: Item, lang: str, base_url: str) -> list[str]:
    lines = [_heading(lang, item.kind), item.title]
    if item.body:
        lines.append(item.body)
    url = _url(base_url, item.link)
    if url:
        lines.append(f"{WORDS[lang]['open']}: {url}")
    return lines


def _html_item(item: Item, lang: str, base_url: str) -> str:
    e = html.escape
    parts = [f"<h2>{e(_heading(lang, item.kind))}</h2>", f"<p><strong>{e(item.title)}</strong></p>"]
    if item.body:
        parts.append(f"<p>{e(item.body)}</p>")
    url = _url(base_url, item.link)
    if url:
        parts.append(f'<p><a href="{e(url, quote=True)}">{e(WORDS[lang]["open"])}</a></p>')
    return "\n".join(parts)


def _page(lang: str, body: str) -> str:
    footer = html.escape(WORDS[lang]["footer"])
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8"></head>'
        f'<body style="font-family: sans-serif">\n{body}\n'
        f'<hr><p style="color:#666;font-size:small">{footer}</p></body></html>\n'
    )


def render(item: Item, locale: str | None, base_url: str) -> Rendered:
    """One notification as a mail in the recipient's language."""
    lang = language(locale)
    subject = f"[PMOflow] {item.title}"
    text = "\n\n".join(["\n".join(_text_item(item, lang, base_url)), WORDS[lang]["footer"]])
    return Rendered(subject[:300], text + "\n", _page(lang, _html_item(item, lang, base_url)))


def render_digest(items: Sequence[Item], locale: str | None, base_url: str) -> Rendered:
    """Several notifications as one mail (the daily digest)."""
    lang = language(locale)
    count = WORDS[lang]["items"].format(n=len(items))
    subject = f"[PMOflow] {_heading(lang, 'digest')} ({count})"
    text = "\n\n".join(
        ["\n".join(_text_item(i, lang, base_url)) for i in items] + [WORDS[lang]["footer"]]
    )
    body = f"<h1>{html.escape(_heading(lang, 'digest'))}</h1>\n" + "\n<hr>\n".join(
        _html_item(i, lang, base_url) for i in items
    )
    return Rendered(subject, text + "\n", _page(lang, body))
