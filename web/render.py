"""One ``render`` helper: the whole page, or just the fragment an HTMX request targets."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
import jinja2.lexer
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from crm import labels
from crm.clock import local_tz, to_local
from crm.config import get_settings
from crm.errors import CRMError
from crm.firms.schemas import website_ok
from crm.i18n import LANGUAGES, Message, pick_language, translations, using
from crm.outbox import run_detail
from crm.policy import names as plan_names
from crm.projects.service import stage_choices
from crm.submissions import new_key, read_key
from crm.vocabulary import ACTIVE_STAGES, SECURED_STAGES, Tier
from web.board_cards import board_cards_html_for
from web.followup_rows import followup_rows_html_for
from web.myday_items import myday_items_html
from web.pipeline_rows import pipeline_rows_html_for
from web.project_rows import project_rows_for
from web.timeline import timeline_html_for

TEMPLATES = Path(__file__).with_name("templates")


MINUTE = "%Y-%m-%d %H:%M"

# an instant as the pages show it (to the minute, local time), by the stored instant: a page of
# 50 rows dates each without a time-zone conversion and a strftime, once seen
_MINUTES: dict[tuple[Any, Any], str] = {}


def _fmt_dt(value: Any, fmt: str = MINUTE) -> str:
    if fmt is MINUTE and value is not None:
        key = (local_tz(), value)
        shown = _MINUTES.get(key)
        if shown is None:
            if len(_MINUTES) > 8192:
                _MINUTES.clear()
            shown = _MINUTES[key] = value.astimezone(key[0]).strftime(MINUTE)
        return shown
    local = to_local(value)
    return local.strftime(fmt) if local else ""


def money(value: Any) -> str:
    """An amount in 亿元 on screen: two decimals, thousands grouped (exports: exact values)."""
    if value is None:
        return ""
    return f"{Decimal(value).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def yi(value: Any) -> Markup:
    """An amount in 亿元 (a ``Decimal``) without trailing zeros: 12.5, 1,200; nothing for None.
    A function, not a macro: a project list of 50 rows showed 50, and a macro call costs ten
    times a function's."""
    if value is None:
        return Markup("")
    return Markup(escape(f"{value.normalize():,f}"))


_ENVS: dict[str, Jinja2Templates] = {}

# a list's separator, a label's colon and a remark in brackets, per language
PUNCTUATION = {
    "zh": {"sep": "、", "colon": "：", "paren": "（%s）"},
    "en": {"sep": ", ", "colon": ": ", "paren": " (%s)"},
}


def _cluster_label_zh(cluster: Any) -> str:
    return cluster.name_zh


def _cluster_label_en(cluster: Any) -> str:
    return cluster.name_en


class CodeLabels(dict[str, str]):
    """Codes to the words a reader sees; a code without one reads as itself (a template's
    ``labels[code]`` is a lookup, not a call)."""

    def __missing__(self, key: str) -> str:
        return key


def cluster_labels(clusters: Any, lang: str) -> CodeLabels:
    """The plan's clusters by code, named in ``lang`` (the firm list's chips)."""
    en = lang == "en"
    return CodeLabels({c.code: c.name_en if en else c.name_zh for c in clusters})


class Words(CodeLabels):
    """A vocabulary's words (``crm.labels``) in one language, as markup, by code: a template
    reads ``stage_words[code]`` (a lookup, as cheap as the macros' literal words were); a code
    without a word reads as ``default``'s word, or as itself."""

    def __init__(self, words: dict[str, Message], lang: str, default: str | None = None) -> None:
        super().__init__({code: Markup(escape(w.render(lang))) for code, w in words.items()})
        self.default = None if default is None else self[default]

    def __missing__(self, key: str) -> str:
        return key if self.default is None else self.default


def _tier_badges(env: jinja2.Environment, keep: bool) -> Any:
    """``tier_badge_of(firm)``: the ``tier_badge`` macro's HTML for a firm, kept per tier and
    ranks (what the macro reads) — a list page shows 50 badges, and calling the macro for each
    was a fifth of the list's rendering. ``keep`` False (development): always the macro."""
    kept: dict[tuple[Any, ...], Markup] = {}

    def tier_badge_of(firm: Any) -> Markup:
        key = (firm.tier, firm.global500_rank, firm.china500_rank)
        html = kept.get(key)
        if html is None:
            macro = env.get_template("firms/_macros.html").module.tier_badge  # type: ignore[attr-defined]
            html = Markup(macro(firm))
            if keep:
                if len(kept) > 4096:
                    kept.clear()
                kept[key] = html
        return html

    return tier_badge_of


class _PickerHtml:
    """A people picker's options rendered once, as one string, with where each one lies: a
    page's picker is that string with its chosen option marked and one excluded (the viewer on
    the firm list) cut out — two slices, not 500 options joined on every request."""

    def __init__(self, users: Any) -> None:
        parts: list[str] = []
        self.by_id: dict[str, tuple[int, int, int]] = {}  # str(id) → start, end of head, end
        self.by_uid: dict[Any, str] = {}
        at = 0
        for u in users:
            head = f'<option value="{int(u.id)}"'
            option = f"{head}>{escape(u.display_name)}</option>"
            self.by_id[str(u.id)] = (at, at + len(head), at + len(option))
            self.by_uid[u.id] = str(u.id)
            parts.append(option)
            at += len(option)
        self.html = "".join(parts)

    def with_choice(self, chosen: str, exclude: Any) -> Markup:
        html, cuts = self.html, []
        gone = self.by_uid.get(exclude) if exclude is not None else None
        if gone is not None:
            start, _, end = self.by_id[gone]
            cuts.append((start, end, ""))
        mark = self.by_id.get(chosen)
        if mark is not None and chosen != gone:
            cuts.append((mark[1], mark[1], " selected"))
        if not cuts:
            return Markup(html)
        out, at = [], 0
        for start, end, put in sorted(cuts):
            out += (html[at:start], put)
            at = end
        out.append(html[at:])
        return Markup("".join(out))


def user_options(users: Any, selected: Any = None, exclude: Any = None) -> Markup:
    """``<option>`` elements for a people picker (id, display name), ``selected`` marked.

    A city has 500 users and every list page has a picker: built here in one pass, the options
    cost a tenth of a template loop over the same rows."""
    chosen = "" if selected is None else str(selected)
    rendered = getattr(users, "rendered", None)  # crm.accounts.users.UserChoices: shared
    if rendered is not None:
        whole = rendered.get("whole")
        if whole is None:
            whole = rendered["whole"] = _PickerHtml(users)
        return whole.with_choice(chosen, exclude)
    return Markup(
        "".join(
            f'<option value="{int(u.id)}"{" selected" if str(u.id) == chosen else ""}>'
            f"{escape(u.display_name)}</option>"
            for u in users
            if u.id != exclude
        )
    )


def once(key: str | None = None) -> Markup:
    """A create form's one-use key as its hidden field (``crm.submissions``): the key the form
    came back with after a refusal, else a new one."""
    value = escape(read_key(key) or new_key())
    return Markup(f'<input type="hidden" name="submission_key" value="{value}">')


def _fast_gettext(lang: str) -> Any:
    """``_("…", n=…)`` with the newstyle semantics (the message is markup, variables are
    escaped into it, ``%%`` is a percent sign) but no per-call context lookups: a page calls it
    hundreds of times, and Jinja's own newstyle wrapper cost a sixth of the firm list's time."""
    catalogue = translations(lang)
    plain: dict[str, Markup] = {}

    def gettext(message: str | Message, /, **variables: Any) -> Markup:
        if isinstance(message, Message):  # a lazy message from crm/: rendered, then escaped
            return Markup(escape(message.render(lang)))
        if variables:
            return Markup(catalogue.gettext(message)) % variables
        rv = plain.get(message)
        if rv is None:
            rv = plain[message] = Markup(catalogue.gettext(message)) % {}
        return rv

    return gettext


class _Template(jinja2.Template):
    """Jinja's template with a cheaper ``{% from … import … %}``.

    On every import Jinja asks whether the importing page has globals the imported template
    lacks (``set - ChainMap.keys()``: a membership test through the ChainMap per global, ~25).
    The firm page imports macros in the include of every timeline entry: that check was 5 % of
    the page. The same question, answered from this template's global names, kept with the
    sizes of the maps they were read from (a global added later reads them afresh)."""

    _global_names: tuple[tuple[int, ...], frozenset[str]] | None = None

    def _names(self) -> frozenset[str]:
        maps = getattr(self.globals, "maps", (self.globals,))
        sizes = tuple(len(m) for m in maps)
        kept = self._global_names
        if kept is None or kept[0] != sizes:
            kept = self._global_names = (sizes, frozenset(self.globals))
        return kept[1]

    def _get_default_module(self, ctx: Any = None) -> Any:
        if ctx is not None:
            keys = ctx.globals_keys - self._names()
            if keys:
                return self.make_module({k: ctx.parent[k] for k in keys})
        if self._module is None:
            self._module = self.make_module()
        return self._module


class WordsAtCompile(jinja2.ext.Extension):
    """``{{ _("保存") }}`` compiled as the word itself: each language has its environment, whose
    ``_`` gives a literal message the same markup on every call, so the template holds it as
    text instead of calling ``_`` each time it is shown (a page shows 40 to 90 of them; a call
    is a context lookup, the catalogue's and an escape). Only an output of exactly one string
    literal passed to ``_``, and only in a template where ``_`` is never anything but called
    (no ``{% set _ = … %}``, no loop or macro argument named ``_``); the catalogue still finds
    the words in the template's source."""

    def filter_stream(self, stream: jinja2.lexer.TokenStream) -> Any:
        tokens = list(stream)
        for i, t in enumerate(tokens):  # ``_`` bound to something else here: left as it is
            if t.type == "name" and t.value == "_":
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if nxt is None or nxt.type != "lparen":
                    return tokens
        words = self.environment.globals["_"]
        out: list[jinja2.lexer.Token] = []
        i = 0
        while i < len(tokens):
            t = tokens[i]
            six = tokens[i : i + 6]
            if (
                t.type == "variable_begin"
                and len(six) == 6
                and (six[1].type, six[1].value) == ("name", "_")
                and [x.type for x in six[2:]] == ["lparen", "string", "rparen", "variable_end"]
            ):
                try:
                    word = str(words(six[3].value))
                except (TypeError, ValueError, KeyError):  # a stray "%": as ``_`` would say
                    word = None
                if word is not None:
                    out.append(jinja2.lexer.Token(t.lineno, "data", word))
                    i += 6
                    continue
            out.append(t)
            i += 1
        return out


def templates_for(lang: str) -> Jinja2Templates:
    """One Jinja environment per language (translations are installed once, never per request)."""
    if lang not in _ENVS:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=True,
            extensions=["jinja2.ext.i18n", WordsAtCompile],
            # compiled once per process; re-read on change only in development
            auto_reload=get_settings().development,
        )
        env.template_class = _Template
        t = Jinja2Templates(env=env)
        t.env.filters["local"] = _fmt_dt
        t.env.filters["money"] = money
        t.env.globals["yi"] = yi
        # the punctuation that joins words: Chinese "、" "：" "（…）" never on an English page
        marks = PUNCTUATION["en" if lang == "en" else "zh"]
        t.env.globals["sep"] = marks["sep"]
        t.env.globals["colon"] = marks["colon"]
        t.env.filters["words"] = lambda items: marks["sep"].join(str(i) for i in items)
        t.env.filters["paren"] = lambda value: Markup(marks["paren"]) % value
        t.env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
        t.env.globals["_"] = t.env.globals["gettext"] = _fast_gettext(lang)
        # the page's language for imported macros too (imported without the page's context, so
        # Jinja keeps one module per template instead of building one per import)
        t.env.globals["lang"] = lang
        t.env.globals["user_options"] = user_options
        t.env.globals["once"] = once
        # codes a person reads as words (crm/labels.py): roles, audit actions and records
        t.env.globals["role_label"] = labels.role
        t.env.globals["action_label"] = labels.audit_action
        t.env.globals["entity_label"] = labels.audit_entity
        # the closed vocabularies' words (crm/labels.py), rendered once per language
        t.env.globals["stage_words"] = Words(labels.STAGES, lang)
        t.env.globals["kind_words"] = Words(labels.ACTIVITY_KINDS, lang)
        t.env.globals["status_words"] = Words(labels.FOLLOWUP_STATUSES, lang)
        t.env.globals["tier_words"] = Words(labels.TIERS, lang, default=Tier.other)
        t.env.globals["Tier"] = Tier
        t.env.globals["active_stages"] = ACTIVE_STAGES
        t.env.globals["secured_stages"] = SECURED_STAGES
        # a scheduled job's run: its state and what it did (crm/outbox/run_detail.py)
        t.env.globals["run_detail"] = run_detail.describe
        # a stored website the input check would refuse now ("https://javascript:…", stored
        # before the check): shown as text and flagged, never a link
        t.env.globals["website_ok"] = website_ok
        # the plan's codes as names in the page's language (the code goes in a tooltip)
        t.env.globals["cluster_text"] = t.env.filters["cluster_text"] = plan_names.cluster
        t.env.globals["park_text"] = plan_names.park
        t.env.globals["link_text"] = plan_names.chain_link
        # the firm list shows a few cluster chips per row: a plain function, not a macro call
        t.env.globals["cluster_label"] = _cluster_label_en if lang == "en" else _cluster_label_zh
        t.env.globals["tier_badge_of"] = _tier_badges(env, keep=not get_settings().development)
        # a firm's timeline entries (firms/_entries.html): one string per entry, not a loop
        t.env.globals["timeline_html"] = timeline_html_for(t.env)
        # the follow-up list's rows (followups/_rows.html): one string per row, not a loop
        t.env.globals["followup_rows_html"] = followup_rows_html_for(t.env)
        # My day's follow-ups (followups/_myday_items.html): one string per row, not a loop
        t.env.globals["myday_items_html"] = myday_items_html
        # the pipeline table's rows (pipeline/table.html): one string per row, not a loop
        t.env.globals["pipeline_rows_html"] = pipeline_rows_html_for(t.env)
        # the board's cards (pipeline/_card.html): one string per card, not a loop
        t.env.globals["board_cards_html"] = board_cards_html_for(t.env)
        # a project page's contacts, stage history and follow-ups (projects/detail.html)
        t.env.globals.update(project_rows_for(t.env))

        t.env.globals["stage_choices"] = stage_choices  # pickers: the next stage first
        _ENVS[lang] = t
    return _ENVS[lang]


def language(request: Request) -> str:
    user = getattr(request.state, "user", None)
    return pick_language(request.cookies.get("lang"), getattr(user, "language", None))


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def error_page(request: Request, exc: CRMError) -> HTMLResponse:
    """A refusal answered as the error page rather than raised: a raise rolls the session back
    and expires the signed-in user the page still needs."""
    return render(
        request,
        "error.html",
        {"status": exc.status, "message": exc.message},
        status_code=exc.status,
    )


def render(
    request: Request,
    template: str,
    ctx: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``template``; for HTMX requests with ``block`` only that block is rendered."""
    lang = language(request)
    templates = templates_for(lang)
    context = {
        "request": request,
        "lang": lang,
        "languages": LANGUAGES,
        "user": getattr(request.state, "user", None),
        "csrf_token": request.cookies.get("csrftoken") or getattr(request.state, "csrf_token", ""),
        **(ctx or {}),
    }
    env = templates.env
    with using(lang):  # lazy messages (crm.i18n) print in the page's language
        if block and is_htmx(request):
            tmpl = env.get_template(template)
            html = "".join(tmpl.blocks[block](tmpl.new_context(context)))
            return HTMLResponse(html, status_code=status_code, headers=headers)
        return templates.TemplateResponse(
            request, template, context, status_code=status_code, headers=headers
        )
