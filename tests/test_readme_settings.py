"""README's settings table names every setting config/settings.py reads from the environment,
and README describes the login's one-time password and the trusted-browser option."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _environment_names() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text(encoding="utf-8")
    # env.int("NAME", …), env("NAME"), and a call whose name is on the next line.
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", source))


def _table_names() -> set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_every_setting_read_from_the_environment_is_in_the_table():
    names = _environment_names()
    assert "MAILS_PER_ADDRESS_PER_DAY" in names and "TRUSTED_BROWSER_DAYS" in names
    missing = sorted(names - _table_names())
    assert not missing, f"README's settings table lacks {missing}"


def test_readme_describes_the_one_time_password_and_trusted_browsers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    login = readme.split("\n## Login\n", 1)[1].split("\n## ", 1)[0]
    assert "ワンタイムパスワード" in login and "LOGIN_OTP_LIFETIME_MINUTES" in login
    assert "次回から一定期間ワンタイムパスワードの入力を省略する" in login
    assert "TRUSTED_BROWSER_DAYS" in login


def test_readme_mail_cap_sentence_says_what_the_code_does():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "at most 5\nmails a day, whatever kind" not in readme
    assert "a budget of `MAILS_PER_ADDRESS_PER_DAY` (5) each" in readme
