""" README.md and README.ja.md say the same things (issue 14), checked without a CA, in the fast suite

- the same commands in the same order, the same blocks marked "not run", the same output blocks;
- the same rows in the table of differences from the article (P1-P4, 1-15);
- the Japanese README opens with the section for readers coming from Qiita, has a glossary and the
  staging route, and avoids the literal translations issue 14 named.
test_readme.py (end to end) runs every one of those commands; this file keeps the two in step.
"""

import os
import re

import pytest

from conftest import ROOT
from test_readme import commands, normalize


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf8") as f:
        return f.read()


def errata_ids(text):
    """ The row numbers of the tables of differences, from row P1 to the next section """
    table = text[text.index("| P1 |"):]
    table = table[:table.find("\n## ")]
    return re.findall(r"^\| (P?\d+) \|", table, re.M)


@pytest.fixture(scope="module")
def both():
    return read("README.md"), read("README.ja.md")


def test_the_same_commands(both):
    """ The commands that run, in the same order; those marked "not run" (the staging route, cron lines),
    the same ones wherever each README tells them, their comments translated """
    english, japanese = (commands(text) for text in both)
    assert [c for c, why, _out in japanese if not why] == [c for c, why, _out in english if not why]

    def not_run(found):
        return sorted(re.sub(r"\s+#.*", "", c) for c, why, _out in found if why)

    assert not_run(japanese) == not_run(english)


def test_the_same_output_blocks(both):
    english, japanese = (commands(text) for text in both)
    for (command, _why, out_en), (_c, _w, out_ja) in zip(english, japanese):
        assert out_ja == out_en, "README.ja.md shows other output for `{0}`; run python tools/update_readme.py".format(
            command)


def test_the_same_rows_of_differences_from_the_article(both):
    english, japanese = (errata_ids(text) for text in both)
    assert english == japanese
    assert english[:4] == ["P1", "P2", "P3", "P4"]
    assert [int(n) for n in english[4:]] == list(range(1, len(english) - 3))
    assert len(english) >= 19


def test_the_japanese_readme_reads_as_japanese(both):
    _english, japanese = both
    headings = re.findall(r"^## (.+)$", japanese, re.M)
    assert headings[0] == "Qiita の記事から来た方へ"
    assert "用語集" in headings
    assert "staging" in japanese and "ステージング" in japanese
    for calque in ("鍵の交換", "キー認可", "モード 0600"):
        assert calque not in japanese, calque
    prose = re.sub(r"```.*?```|`[^`]*`|\|[^\n]*", "", japanese, flags=re.S)
    assert not re.search(r"[()]", re.sub(r"\]\([^)]*\)", "]", prose)), "ASCII parentheses in Japanese prose: use （）"
    kana = len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", prose))
    assert kana > len(re.findall(r"[A-Za-z]", prose)) / 2, "the Japanese README's prose is mostly English"


def test_the_glossary_terms_are_used_and_its_labels_are_what_the_scripts_print(both):
    english, japanese = both
    body, _, glossary = japanese.partition("## 用語集")
    rows = [row.split("|")[1:4] for row in glossary.splitlines() if row.startswith("| ") and "---" not in row][1:]
    assert len(rows) >= 15
    for term, _rfc, labels in rows:
        for part in term.strip().split("（")[0].split(" / "):     # the term, without its gloss
            assert part in body, "the glossary's {0} is not used in README.ja.md".format(part)
        for label in re.findall(r"`([^`]+)`", labels):
            pattern = re.escape(label).replace("NAME", r"\S+")
            assert re.search(pattern, english), "the glossary's label {0} is not in README.md's output".format(label)
    for rule in ("鍵認可", "鍵のロールオーバー", "パーミッション 0600", "CSR（証明書署名要求）",
                 "外部アカウントバインディング（EAB）", "更新情報（ARI"):
        assert rule in body, rule
    terms = [term.strip().split("（")[0] for term, _rfc, _labels in rows]
    for term in ("JWS", "保護ヘッダー", "ペイロード", "POST-as-GET", "jwk / kid", "ステージング環境", "レート制限"):
        assert term in terms, "the glossary lacks " + term
    finalize = next(labels for term, _rfc, labels in rows if term.strip() == "ファイナライズ")
    for label in ("finalize_order.py", "Order status:", "Certificate URL:", "issue_certificate.py",
                  "Signing certificate..."):
        assert label in finalize, "the glossary's ファイナライズ row names what each script prints: " + label


def test_the_comparison_holds_on_any_date():
    """ The README's blocks were made on one day; compared on another weekday, month and year, and in
    another time zone's hours, they still match what the scripts print """
    text = read("README.md")
    moved = re.sub(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (\w{3}) \d{4} \d\d:\d\d:\d\d GMT",
                   "Wed, 09 Feb 2033 23:59:58 GMT", text)
    moved = re.sub(r"\b20\d\d-\d\d-\d\d([T ])\d\d:\d\d:\d\d", r"2033-02-09\g<1>23:59:58", moved)
    assert moved != text, "the README no longer shows a date: make this test find another"
    blocks = [body for _command, _why, body in commands(text) if body]
    moved_blocks = [body for _command, _why, body in commands(moved) if body]
    assert len(blocks) == len(moved_blocks) >= 20
    for before, after in zip(blocks, moved_blocks):
        assert normalize(before) == normalize(after)
