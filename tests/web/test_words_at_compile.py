"""web.render.WordsAtCompile: a literal ``{{ _("…") }}`` is compiled as its word in the
environment's language, and prints what a call of ``_`` prints; anything else is left as it
was written."""

from __future__ import annotations

from web.render import templates_for


def test_a_literal_word_is_compiled_as_the_languages_word() -> None:
    for lang, saved in (("zh", "保存"), ("en", "Save")):
        env = templates_for(lang).env
        t = env.from_string('<b>{{ _("保存") }}</b>{{- _("保存") -}} |')
        assert t.render() == f"<b>{saved}</b>{saved}|"
        # compiled as text: no call of ``_`` left in the template's code
        assert "'_'" not in env.compile('{{ _("保存") }}', raw=True)
        # what a call prints: the message is markup, %% a percent sign
        assert (
            t.render() == env.from_string('{% set w = _("保存") %}<b>{{ w }}</b>{{ w }}|').render()
        )


def test_calls_with_values_and_other_outputs_stay_calls() -> None:
    env = templates_for("en").env
    assert env.from_string('{{ _("共 %(n)s 条", n=3) }}').render() == "3 in all"
    assert env.from_string('{{ _("保存")|upper }}').render() == "SAVE"
    assert "'_'" in env.compile('{{ _("共 %(n)s 条", n=3) }}', raw=True)


def test_a_template_that_binds_underscore_is_left_as_written() -> None:
    env = templates_for("en").env
    t = env.from_string('{% for _ in [1] %}{% endfor %}{{ _("保存") }}')
    assert t.render() == "Save"
    source = '{% set _ = "x" %}{{ _ }}'
    assert env.from_string(source).render() == "x"
