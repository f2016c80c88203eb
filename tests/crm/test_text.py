"""Firm-name normalisation, pinyin, the derived tier and the credit code."""

from __future__ import annotations

import pytest

from crm.models.firms import derive_tier
from crm.text import credit_code_check_digit, normalize_name, to_pinyin, valid_credit_code


@pytest.mark.parametrize(
    "a, b",
    [
        ("重庆长安汽车股份有限公司", "重庆长安汽车"),
        ("Hewlett-Packard Co., Ltd.", "hewlett packard"),
        ("ＨＰ　Inc.", "hp"),
        ("Acer Incorporated", "ACER"),
        ("思科系统（中国）有限公司", "思科系统(中国)"),
        ("Quanta Computer Corp.", "quanta computer"),
    ],
)
def test_names_equal_after_normalisation(a, b):
    assert normalize_name(a) == normalize_name(b)


def test_different_firms_stay_different():
    assert normalize_name("长安汽车") != normalize_name("长城汽车")
    assert normalize_name("有限公司") == "有限公司"  # a suffix alone is not stripped to nothing


def test_pinyin_and_initials():
    assert to_pinyin("惠普") == ("huipu", "hp")
    assert to_pinyin("重庆") == ("chongqing", "cq")
    assert to_pinyin("HP") == ("", "")


@pytest.mark.parametrize(
    "g, c, leader, tier",
    [
        (26, None, False, "global500"),
        (26, 70, True, "global500"),
        (None, 70, True, "china500"),
        (None, None, True, "leader"),
        (None, None, False, "other"),
    ],
)
def test_derived_tier(g, c, leader, tier):
    assert derive_tier(g, c, leader) == tier


def test_credit_code_check_digit():
    body = "91500000MA5U7AB1X"  # 17 characters
    code = body + credit_code_check_digit(body)
    assert valid_credit_code(code)
    wrong = body + ("0" if code[-1] != "0" else "1")
    assert not valid_credit_code(wrong)
    assert not valid_credit_code("123")
    assert not valid_credit_code("91500000MA5U7AB1XI")  # I is not in the code set


@pytest.mark.parametrize(
    "text",
    [
        "重庆长安汽车股份有限公司",
        "中国银行重庆分行",
        "HP惠普(重庆)有限公司2号",
        "长江三峡集团",
        "重庆重型汽车",
        "行业龙头银行",
        "乐视音乐",
        "藏药厂西藏",
        "Ａ股上市公司",
        "单县单位",
    ],
)
def test_cached_pinyin_equals_whole_string_conversion(text):
    from crm.text import _pinyin_direct

    assert to_pinyin(text) == _pinyin_direct(text)
