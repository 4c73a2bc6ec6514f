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
from lib import frame
import myhelper
from fake_ca import ROOT, make_chain

MODULES = ("helper.py", "myhelper.py")                                   # the article's, imported by the scripts
LIB = sorted(os.path.join("lib", f) for f in os.listdir(os.path.join(ROOT, "lib")) if f.endswith(".py"))
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


def needs(name):
    """ The helpers a function's docstring names after "Needs:" """
    found = re.search(r"Needs: ([\w, ]+)", ast.get_docstring(public_functions()[name]) or "")
    return [n.strip() for n in found.group(1).split(",")] if found else []


def test_every_function_lists_all_it_needs_transitively():
    functions = public_functions()
    for name, node in functions.items():
        called = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in functions and n.id != name}
        listed = set(needs(name))
        assert called <= listed, "{0} calls {1} but its Needs: does not list them".format(name, called - listed)
        for helper_name in listed:
            assert set(needs(helper_name)) - {name} <= listed, "{0} needs {1}, which needs {2}".format(
                name, helper_name, set(needs(helper_name)) - listed)


def copied_alone(name):
    """ The source a reader pastes into an empty file: the function, the helpers its docstring names
    after "Needs:", and the imports of myhelper that these use """
    source = open(os.path.join(ROOT, "myhelper.py"), encoding="utf8").read()
    tree = ast.parse(source)
    functions = public_functions()
    helpers = needs(name)
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
    assert len(code.splitlines()) <= 120, name + " is too long to copy"


KEY_CALLS = {      # what the article passes a key to, called as the article does (a file name) and with a key
    "get_jwk": lambda f, key: f(key),
    "get_alg": lambda f, key: f(key),
    "sign": lambda f, key: f(b"protected.payload", key),
    "jws": lambda f, key: f({"alg": "RS256", "kid": "https://ca/acct/1", "nonce": "n", "url": "https://ca/x"}, "", key),
}


@pytest.mark.parametrize("name", sorted(KEY_CALLS))
def test_a_copied_function_takes_a_key_object_or_a_file_name(article_folder, name):
    code, _helpers = copied_alone(name)
    namespace = {"__name__": "readers_file"}
    exec(compile(code, "readers_file.py", "exec"), namespace)
    with_file = KEY_CALLS[name](namespace[name], "account.key")
    with_object = KEY_CALLS[name](namespace[name], RSA.import_key(open("account.key", "rb").read()))
    assert with_file == with_object and with_file


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
        assert frame.run(module.main, ["--help"]) == 0, script
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
    for script in SCRIPTS + list(MODULES) + LIB:
        tree = ast.parse(open(os.path.join(ROOT, script), encoding="utf8").read())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not imported & stems, "{0} imports {1}".format(script, imported & stems)
