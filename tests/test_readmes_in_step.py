""" README.md and README.ja.md say the same things (issue 14), checked without a CA, in the fast suite

- the same commands in the same order, the same blocks marked "not run", the same output blocks;
- the same rows in the table of differences from the article (P1-P4, 1-15);
- the Japanese README opens with the section for readers coming from Qiita, has a glossary and the
  staging route, and avoids the literal translations issues 14 and 19 named;
- issue 19: the staging route from an empty folder (terms read before --agree-tos), every heading of
  Part 3 mapped, the directory fields table, the errata, the copyable snippet (which
  test_readme_snippet.py runs against Pebble), the sequence diagram, the module count, the replaces
  exemption as Let's Encrypt grants it.
test_readme.py (end to end) runs every one of those commands; this file keeps the two in step.
"""

import os
import re

import pytest

import myhelper
from fake_ca import ROOT
from test_readme import commands, normalize, same_output


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
    for calque in ("今日も動く", "約束", "あなたの", "横で", "上から下へ", "通信こそ", "時間帯", "偽物", "安全網",
                   "名前 1 つ", "名前を証明", "オーダーの名前", "CSR の名前"):
        assert calque not in japanese, calque
    assert not re.search(r"本番(?!環境)", japanese), "本番環境, not 本番 alone"
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


def test_a_poll_repeated_while_the_ca_works_is_no_difference():
    """ The CA finishes an order or an authorization when it finishes: the README's run may have polled
    it once, another run twice. The same URL called again is no difference; a URL not called is """
    block = ("Calling endpoint: http://localhost:14000/my-order/AbCdEfGhIj\n"
             "Calling endpoint: http://localhost:14000/authZ/KlMnOpQrSt\n"
             "Status of the order: processing\n")
    polled_again = block + "Calling endpoint: http://localhost:14000/my-order/AbCdEfGhIj\n"
    assert normalize(polled_again) == normalize(block)
    another = block + "Calling endpoint: http://localhost:14000/my-order/UvWxYzAbCd\n"
    assert normalize(another) != normalize(block)


def test_an_authorization_pebble_reused_is_no_difference_but_nothing_else_is():
    """ Pebble reuses a valid authorization one time in a hundred whatever PEBBLE_AUTHZREUSE says: the
    renewal then prints "already valid" instead of the challenge. That, and only that, is no difference """
    shown = next(body for command, _why, body in commands(read("README.md"))
                 if command == "python renew_certificate.py --config pebble.ini --force")
    lines = shown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Serving http-01"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Stopped the challenge web server"))
    reused = "\n".join(lines[:start] + ["Authorization for shop.example.test: already valid, nothing to do"]
                       + lines[end + 1:]) + "\n"
    assert normalize(reused) != normalize(shown)
    assert same_output(reused, shown) and same_output(shown, reused)
    assert not same_output(reused.replace("Renewed: example.test.chain.pem\n", ""), shown)
    assert not same_output(reused.replace("shop.example.test: already", "www.example.test: already"), shown)
    # tls-alpn-01 for two names validated before: Pebble reused one of them
    shown = next(body for command, _why, body in commands(read("README.md"))
                 if command == "python tlsalpn01_challenge.py --config pebble.ini")
    reused = re.sub(r"Identifier: +example\.test\n(.*\n)*?Checked: [^\n]*\n", "", shown)
    reused = re.sub(r"Calling endpoint: \S+/chalZ/\S+\n", "", reused, count=1)
    reused = reused.replace("Authorization for example.test: valid",
                            "Authorization for example.test: already valid, nothing to do")
    assert reused.count("\nIdentifier:") == 1 and same_output(reused, shown)
    assert not same_output(reused.replace("All authorizations are valid.", "Some are not."), shown)


# -- issue 19: from the Qiita page to a working script --------------------------------------------

PART3_HEADINGS = ["APIエンドポイントを暗号化しよう", "ACMEディレクトリ", "ACMEディレクトリを取得するためのコード例",
                  "新規アカウントを作成するためのコード例", "アカウント情報を取得するためのコード例", "概要"]
DIRECTORY_FIELDS = ["newNonce", "newAccount", "newOrder", "revokeCert", "keyChange", "renewalInfo", "meta"]
SNIPPET = re.compile(r"<!-- snippet: account -->\n<!-- not run: [^>]*-->\n```python\n(.*?)```", re.S)
DIAGRAM = re.compile(r"<!-- sequence diagram -->\n<!-- not run: [^>]*-->\n```mermaid\n(.*?)```", re.S)


def table_after(text, marker):
    """ The rows of the table that follows <!-- marker -->, each a list of its cells, without the header """
    lines = text[text.index("<!-- {0} -->".format(marker)):].splitlines()[1:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    assert len(rows) > 2, "no table after <!-- {0} -->".format(marker)
    return rows[2:]


def list_after(text, marker):
    """ The items of the list that follows <!-- marker -->, each joined into one line """
    block = text[text.index("<!-- {0} -->".format(marker)):].split("\n\n")[0]
    return [" ".join(item.split()) for item in re.split(r"\n- ", "\n" + block.split("\n", 1)[1])[1:]]


def scripts_named(text):
    return re.findall(r"\b([a-z0-9_]+\.py)\b", text)


def snippet(text):
    """ The Python snippet of a README, exactly as it prints it """
    found = SNIPPET.findall(text)
    assert len(found) == 1, "the README must show one snippet marked <!-- snippet: account -->"
    return found[0]


def diagram(text):
    found = DIAGRAM.findall(text)
    assert len(found) == 1, "the README must show one sequence diagram marked <!-- sequence diagram -->"
    return found[0]


def without_comments(code):
    return [line.split("  #")[0].rstrip() for line in code.splitlines() if not line.lstrip().startswith("#")]


def test_the_staging_route_starts_from_nothing_and_reads_the_terms_before_agreeing(both):
    for text in both:
        found = [command for command, _why, _out in commands(text)]
        assert found[0].startswith("git clone ") and found[1].startswith("cd "), "clone and cd come first"
        assert found[2] == "python3 -m venv .venv", found[:3]
        agree = next(i for i, command in enumerate(found) if "--agree-tos" in command)
        assert any("get_terms_of_service.py" in command for command in found[:agree]), (
            "get_terms_of_service.py comes before the first --agree-tos")
        after_venv = text[text.index("python3 -m venv .venv"):]
        after_venv = after_venv[:after_venv.index("python make_account_key.py")]
        for note in ("sudo apt install python3-venv", "NotOpenSSLWarning", "urllib3<2", "WSL", "fcntl"):
            assert note in after_venv, "the venv step says " + note
    english, japanese = both
    assert "no root" not in english.lower() and "root 権限も要りません" not in japanese


def test_every_heading_of_part_3_is_mapped(both):
    for text in both:
        rows = table_after(text, "article map")
        firsts = [row[0] for row in rows]
        positions = [next(i for i, cell in enumerate(firsts) if "「{0}」".format(h) in cell) for h in PART3_HEADINGS]
        assert positions == sorted(positions), "the map follows the article's order"
        assert "ACMEを暗号化" in firsts[0], "the title comes first"
        for script in scripts_named(" ".join(row[1] for row in rows)):
            assert os.path.exists(os.path.join(ROOT, script)), script
        note = text[text.index("<!-- article map -->"):]
        note = note[:note.index("\n\n", note.index("\n|---"))+200]
        assert "「暗号化しよう」" in note and "「ACMEを暗号化」" in note and "Let's Encrypt" in note
    english, japanese = (table_after(text, "article map") for text in both)
    assert len(english) == len(japanese)


def test_the_directory_table_names_every_field_the_scripts_that_use_it_and_both_urls(both):
    tables = []
    for text in both:
        rows = table_after(text, "directory fields")
        assert [row[0].strip("`") for row in rows] == DIRECTORY_FIELDS
        pebble_directory = next(out for command, _why, out in commands(text)
                                if command == "python get_directory.py --config pebble.ini")
        summary = []
        for field, _for, users, staging, pebble in rows:
            field = field.strip("`")
            scripts = scripts_named(re.sub(r"\([^)]*\)|（[^）]*）", "", users))
            assert scripts, field
            for script in scripts:
                source = read(script)
                for module in re.findall(r"^(?:from|import)\s+(\w+)", source, re.M):
                    if os.path.exists(os.path.join(ROOT, module + ".py")):
                        source += read(module + ".py")
                assert field in source, "{0}: {1} does not use it".format(field, script)
            urls = re.findall(r"`(https://[^`]+)`", staging)
            assert urls and all(u.startswith(("https://acme-staging-v02.api.letsencrypt.org/",
                                               "https://letsencrypt.org/")) for u in urls), field
            for url in re.findall(r"`((?:https|data):[^`]+)`", pebble):
                assert url in pebble_directory, "{0}: {1} is not in the get_directory.py output".format(field, url)
            summary.append((field, scripts_named(users), urls, re.findall(r"`((?:https|data):[^`]+)`", pebble)))
        tables.append(summary)
    assert tables[0] == tables[1], "README.md and README.ja.md map the directory differently"


def test_the_errata_are_complete(both):
    english, japanese = (list_after(text, "part 3 errata") for text in both)
    assert len(english) == len(japanese) >= 7
    for text in both:
        items = " ".join(list_after(text, "part 3 errata"))
        for slip in ("newNonce", "HTMLヘッダ", "HTMLボディ", "HTML本体", "base64url", "メールアドレスを確認しません",
                     "eexample.com", "mailto:example.com", "get_acount_info.py"):
            assert slip in items, slip
    english, japanese = (errata_rows(text) for text in both)
    assert len(english) == len(japanese) and len([r for r in english if r.startswith("Part 3")]) >= 7


def errata_rows(text):
    table = text[text.index("| Where |" if "| Where |" in text else "| 場所 |"):]
    return [line.split("|")[1].strip() for line in table.split("\n\n")[0].splitlines()[2:]]


def test_the_snippet_is_the_same_in_both_and_short_and_shows_its_timeouts(both):
    import ast
    english, japanese = (snippet(text) for text in both)
    assert without_comments(english) == without_comments(japanese)
    assert 10 <= len(english.splitlines()) <= 20
    tree = ast.parse(english)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert imported == {"requests", "myhelper"}
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and isinstance(node.func.value, ast.Name) and node.func.value.id == "requests"]
    assert len(calls) == 3
    for call in calls:
        assert {"timeout", "verify"} <= {keyword.arg for keyword in call.keywords}, ast.dump(call)
    for name in re.findall(r"myhelper\.(\w+)", english):
        assert hasattr(myhelper, name), name


def test_the_sequence_diagram_names_scripts_in_the_walkthrough_order_and_passes_each_nonce_on(both):
    import walkthrough
    order = []
    for _part, command in walkthrough.STORY:
        for script in scripts_named(command):
            if script not in order:
                order.append(script)
    english, japanese = (diagram(text) for text in both)
    arrows = [line.strip() for line in english.splitlines() if "->>" in line]
    assert arrows == [line.strip() for line in japanese.splitlines() if "->>" in line]
    assert english.lstrip().startswith("sequenceDiagram")
    requests_sent = [arrow for arrow in arrows if arrow.startswith("C->>S:")]
    assert len(requests_sent) == 10, "one issuance: the ten requests of issue_certificate.py"
    seen = []
    for arrow in requests_sent:
        scripts = scripts_named(arrow)
        assert len(scripts) == 1, arrow
        assert os.path.exists(os.path.join(ROOT, scripts[0])), scripts[0]
        assert scripts[0] in order, "{0} is not run by the walkthrough".format(scripts[0])
        seen.append(order.index(scripts[0]))
    assert seen == sorted(seen), "the diagram's scripts are not in the walkthrough's order"
    nonce = None
    for arrow in arrows:
        if arrow.startswith("C->>S:"):
            sent = re.findall(r"\bnonce (n\d+)", arrow)
            assert sent == ([nonce] if nonce else []), "{0} must carry {1}".format(arrow, nonce)
        elif arrow.startswith("S-->>C:"):
            given = re.findall(r"Replay-Nonce (n\d+)", arrow)
            if nonce or given:
                assert given == ["n{0}".format(int(nonce[1:]) + 1 if nonce else 1)], arrow
                nonce = given[0]
    for text in both:
        real_output = text.index("## Real output" if "## Real output" in text else "## 実行例")
        assert real_output < text.index("<!-- sequence diagram -->") < text.index("<!-- output: "), (
            "the diagram opens the walkthrough's output")


def test_each_readme_counts_the_modules_it_lists(both):
    english, japanese = both
    numbers = {"Two": 2, "Three": 3, "Four": 4, "Five": 5, "Six": 6}
    for text, said in ((english, r"^(\w+) modules sit under the scripts"),
                       (japanese, r"^スクリプトの下には (\d+) つのモジュール")):
        match = re.search(said, text, re.M)
        assert match, "say how many modules sit under the scripts"
        count = numbers.get(match.group(1)) or int(match.group(1))
        listed = text[match.end():].split("\n\n")[1]
        assert count == len(re.findall(r"^- ", listed, re.M)), match.group(0)


def test_the_replaces_exemption_is_said_as_lets_encrypt_grants_it(both):
    english, japanese = (" ".join(text.split()) for text in both)
    assert "only while it is made inside the renewal window ARI suggested" in english
    assert "ARI が示す 更新推奨期間の中で出されたときだけ" in japanese
    for text in (english, japanese):
        assert "is exempt from Let's Encrypt's rate limits" not in text
        assert "レート制限の対象外です" not in text
