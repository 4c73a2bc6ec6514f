""" What readers read and copy: the docstring examples run, every myhelper function works when
copied alone into an empty file, the article's own calls still work, and every --help tells its
story, its acme.ini keys and an example """

import ast
import doctest
import os
import re
import subprocess
import sys

import pytest
from Crypto.PublicKey import RSA

import helper
import myhelper
from conftest import ROOT, make_chain

MODULES = ("helper.py", "myhelper.py", "transport.py", "alibaba.py")        # imported by the scripts
SCRIPTS = sorted(f for f in os.listdir(ROOT) if f.endswith(".py") and f not in MODULES)


@pytest.fixture(scope="module")
def article_files(rsa_pem, cert_rsa_pem):
    """ A reader's files after Part 2, made once: acme.ini, account.key, example.com.key, .csr, .chain.pem """
    csr = myhelper.create_csr(RSA.import_key(cert_rsa_pem), ["example.com", "www.example.com"])
    return {"acme.ini": b"[acme-neoprime]\nUserAgent = neoprime.io-acme-client/1.0\nAccountKeyFile = account.key\n"
                        b"CSRFile = example.com.csr\n",
            "account.key": rsa_pem, "example.com.key": cert_rsa_pem, "example.com.csr": csr,
            "example.com.chain.pem": make_chain(["example.com", "www.example.com"], key_pem=cert_rsa_pem).encode()}


@pytest.fixture
def article_folder(tmp_path, monkeypatch, article_files):
    """ A reader's folder after Part 2, the current directory """
    monkeypatch.chdir(tmp_path)
    for name, data in article_files.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def test_docstring_examples(article_folder):
    for module in (helper, myhelper):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module


def public_functions():
    tree = ast.parse(open(os.path.join(ROOT, "myhelper.py"), encoding="utf8").read())
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)
            and not node.name.startswith("_")}


def copied_alone(name):
    """ The source a reader pastes into an empty file: the function, the helpers its docstring names
    after "Needs:", and the imports of myhelper that these use """
    source = open(os.path.join(ROOT, "myhelper.py"), encoding="utf8").read()
    tree = ast.parse(source)
    functions = public_functions()
    needs = re.search(r"Needs: ([\w, ]+)", ast.get_docstring(functions[name]) or "")
    helpers = [n.strip() for n in needs.group(1).split(",")] if needs else []
    assert len(helpers) <= 2, "{0} needs {1}: at most two helpers".format(name, helpers)
    parts = [functions[n] for n in [name] + helpers]
    used = {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)}
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
               and {(alias.asname or alias.name).split(".")[0] for alias in node.names} & used]
    return "\n".join(ast.get_source_segment(source, node) for node in imports + parts), helpers


@pytest.mark.parametrize("name", sorted(public_functions()))
def test_every_function_works_copied_alone_into_an_empty_file(article_folder, name):
    code, helpers = copied_alone(name)
    namespace = {"__name__": "readers_file"}
    exec(compile(code, "readers_file.py", "exec"), namespace)
    examples = doctest.DocTestParser().get_doctest(namespace[name].__doc__, namespace, name, None, 0)
    assert examples.examples, name + " has no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(examples)
    assert runner.failures == 0, "{0}, copied with {1}, fails its example".format(name, helpers or "nothing")
    assert len(code.splitlines()) <= 90, name + " is too long to copy"


def test_the_articles_own_calls_still_work(article_folder, capsys):
    config = myhelper.load_acme_config(filename='acme.ini')
    AccountKeyFile = config.get('acme-neoprime', 'accountkeyfile')
    assert AccountKeyFile == "account.key"
    body_top = {"alg": "RS256", "jwk": myhelper.get_jwk(AccountKeyFile), "url": "https://ca/new-acct", "nonce": "n"}
    body_top_b64 = myhelper.b64(__import__("json").dumps(body_top).encode("utf8"))
    signature = myhelper.sign("{0}.{1}".format(body_top_b64, "e30").encode("utf8"), AccountKeyFile)
    assert len(signature) == 256 and body_top["jwk"]["e"] == "AQAB"
    assert myhelper.get_domains_from_csr('example.com.csr') == ["example.com", "www.example.com"]
    myhelper.process_error_message('{"type": "urn:ietf:params:acme:error:badNonce", "detail": "x"}')
    assert capsys.readouterr().out == "Error Type: urn:ietf:params:acme:error:badNonce\nDetail: x\n"
    helper.print_dict({"a": {"b": 1}}, 0)
    assert capsys.readouterr().out == "a:\n    b: 1\n" and helper.get_indent(11) == " " * 40


def test_every_script_help_names_its_acme_ini_keys_and_an_example(capsys):
    import importlib
    for script in SCRIPTS:
        module = importlib.import_module(script[:-3])
        assert helper.run(module.main, ["--help"]) == 0, script
        out = capsys.readouterr().out
        assert "acme.ini keys read:" in out and "Example" in out, script
        assert "RFC" in out or "Alibaba" in out or "PKCS" in out, script
        assert "--config FILE" in out and "--debug" in out, script


def test_a_script_runs_as_python_script_py():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "get_directory.py"), "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: get_directory.py")


def test_no_script_imports_another():
    stems = {s[:-3] for s in SCRIPTS}
    for script in SCRIPTS + list(MODULES):
        tree = ast.parse(open(os.path.join(ROOT, script), encoding="utf8").read())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & stems, "{0} imports {1}".format(script, imported & stems)
