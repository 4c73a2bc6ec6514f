""" What readers read: the docstring examples run, and every --help tells its story, keys and example """

import doctest

import helper
import myhelper


def test_docstring_examples():
    for module in (helper, myhelper):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0


def test_every_script_help_names_its_acme_ini_keys_and_an_example():
    import os
    import subprocess
    import sys

    from conftest import ROOT
    scripts = sorted(f for f in os.listdir(ROOT) if f.endswith(".py") and f not in ("helper.py", "myhelper.py"))
    for script in scripts:
        result = subprocess.run([sys.executable, os.path.join(ROOT, script), "--help"], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, script
        assert "acme.ini keys read:" in result.stdout and "Example" in result.stdout, script
        assert "RFC" in result.stdout and "Part" in result.stdout or script == "account_key_change.py", script
        assert "--config FILE" in result.stdout and "--debug" in result.stdout, script
