"""web.render's template class answers Jinja's import question (does the importing page have
globals the imported template lacks?) from cached names: the answers stay Jinja's."""

from __future__ import annotations

import jinja2

from web.render import _Template


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.DictLoader(
            {
                "m.html": "{% macro show() %}{{ g }}|{{ extra | default('none') }}{% endmacro %}",
                "page.html": "{% from 'm.html' import show %}{{ show() }}",
                "page2.html": "{% from 'm.html' import show %}{{ show() }}",
            }
        )
    )
    env.template_class = _Template
    env.globals["g"] = "G"
    return env


def test_imports_see_the_importing_templates_globals() -> None:
    env = _env()
    assert env.get_template("page.html").render() == "G|none"
    # a page with a global of its own: the imported macros see it (a module built for it)
    assert env.get_template("page2.html", globals={"extra": "E"}).render() == "G|E"
    # and the shared module is still the plain one
    assert env.get_template("page.html").render() == "G|none"


def test_a_global_added_later_is_seen_by_imports() -> None:
    env = _env()
    imported = env.get_template("m.html")
    assert env.get_template("page.html").render() == "G|none"
    names = imported._names()
    imported.globals.maps[0]["extra"] = "X"  # the imported template's own globals grow
    assert imported._names() == names | {"extra"}
