""" The examples in helper.py's and myhelper.py's docstrings run and print what they show """

import doctest

import helper
import myhelper


def test_docstring_examples():
    for module in (helper, myhelper):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0
