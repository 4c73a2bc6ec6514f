""" The tools beside the scripts: the DNS hook for challtestsrv """

import json

import responses

import challtestsrv_hook


@responses.activate
def test_hook_passes_values_that_begin_with_a_dash():
    # found by the soak: a TXT value is base64url and one in 64 begins with "-"
    responses.add(responses.POST, "http://127.0.0.1:9/set-txt", json={})
    responses.add(responses.POST, "http://127.0.0.1:9/clear-txt", json={})
    assert challtestsrv_hook.main(["--url", "http://127.0.0.1:9", "set", "_acme-challenge.a.test", "-fO86Vd"]) == 0
    assert challtestsrv_hook.main(["--url", "http://127.0.0.1:9", "clear", "_acme-challenge.a.test", "-fO86Vd"]) == 0
    assert json.loads(responses.calls[0].request.body) == {"host": "_acme-challenge.a.test.", "value": "-fO86Vd"}
    assert json.loads(responses.calls[1].request.body) == {"host": "_acme-challenge.a.test."}


def test_hook_usage(capsys):
    assert challtestsrv_hook.main(["set", "name"]) == 2
    assert "usage" in capsys.readouterr().err


@responses.activate
def test_hook_reports_a_failed_call(capsys):
    responses.add(responses.POST, "http://127.0.0.1:9/set-txt", status=500)
    assert challtestsrv_hook.main(["--url", "http://127.0.0.1:9", "set", "n", "v"]) == 1
    assert "failed" in capsys.readouterr().err


def test_every_mutation_of_tools_mutate_still_finds_its_snippet_once():
    """ tools/mutate.py breaks the safety checks one by one; a snippet that no longer matches the source
    would test nothing. When a check is rewritten, update its mutation (and run the tool) """
    import mutate
    problems = []
    for mutation in mutate.MUTATIONS:
        try:
            mutate.check(mutation)
        except ValueError as error:
            problems.append(str(error))
    names = [m[0] for m in mutate.MUTATIONS]
    assert not problems and len(set(names)) == len(names) >= 30, problems
