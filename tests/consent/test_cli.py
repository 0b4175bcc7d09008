"""``gru purposes`` as an administrator runs it, on a real instance (subprocesses, embedded SQLite)."""

import json

import pytest

from tests.test_cli import assert_one_line_error, gru, initialised, initialised_template, instance  # noqa: F401


def ok(result):
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result.stdout


def test_declare_list_show_retire(initialised):  # noqa: F811
    out = ok(gru(initialised, "purposes", "declare", "sms_reminders", "--label", "Rappels de rendez-vous par SMS",
                 "--lawful-basis", "consent", "--data-category", "mobile_phone", "--data-category", "identity",
                 "--recipient", "service état civil", "--retention-days", "365"))
    assert out.strip() == "purpose sms_reminders: declared (consent, kept 365 days)"
    ok(gru(initialised, "purposes", "declare", "school_canteen", "--label", "Restauration scolaire",
           "--lawful-basis", "public_task", "--retention", "fin de l'année scolaire plus deux ans"))

    lines = ok(gru(initialised, "purposes", "list")).splitlines()
    assert lines == ["school_canteen\tpublic_task\tfin de l'année scolaire plus deux ans\tRestauration scolaire",
                     "sms_reminders\tconsent\t365 days\tRappels de rendez-vous par SMS"]
    shown = json.loads(ok(gru(initialised, "purposes", "show", "sms_reminders")))
    assert shown["data_categories"] == ["identity", "mobile_phone"] and shown["created_by"] == "cli"
    assert ok(gru(initialised, "purposes", "retire", "school_canteen")).strip() == "purpose school_canteen: retired"
    assert [line.split("\t")[0] for line in ok(gru(initialised, "purposes", "list")).splitlines()] == ["sms_reminders"]
    assert ok(gru(initialised, "purposes", "list", "--all")).splitlines()[0].endswith("\tretired")


@pytest.mark.parametrize("args, message", [
    (["declare", "Bad", "--label", "x", "--lawful-basis", "consent", "--retention-days", "3"], "code"),
    (["declare", "x", "--label", "x", "--lawful-basis", "whim", "--retention-days", "3"], "lawful_basis"),
    (["declare", "x", "--label", "x", "--lawful-basis", "consent"], "retention"),
    (["declare", "x", "--label", "x", "--lawful-basis", "consent", "--retention-days", "0"], "retention_days"),
    (["show", "nothing"], "No purpose"),
    (["retire", "nothing"], "No purpose"),
], ids=["code", "lawful-basis", "no-retention", "zero-days", "show-unknown", "retire-unknown"])
def test_bad_input_is_one_line(initialised, args, message):  # noqa: F811
    line = assert_one_line_error(gru(initialised, "purposes", *args))
    assert message in line


def test_declaring_twice_is_one_line(initialised):  # noqa: F811
    args = ["purposes", "declare", "newsletter", "--label", "Lettre", "--lawful-basis", "consent",
            "--retention-days", "30"]
    ok(gru(initialised, *args))
    assert "already has a purpose" in assert_one_line_error(gru(initialised, *args))
    ok(gru(initialised, "purposes", "retire", "newsletter"))
    assert "already retired" in assert_one_line_error(gru(initialised, "purposes", "retire", "newsletter"))
