"""`./dev manage`: the README's staff commands, run as written, on the embedded default's
settings (no SECRET_KEY in the environment), against a database of the test's own."""

import os
import re
import shlex
import subprocess

from tests.ops.procs import _DROP, ROOT

README = (ROOT / "README.md").read_text()
# Every `./dev manage …` line the README shows, in a code span or an indented code block.
README_COMMANDS = [
    command.strip()
    for command in re.findall(r"(?:`|^ {4})(\./dev manage [^`\n#]+)", README, flags=re.M)
]
INTERACTIVE = ("createsuperuser", "changepassword")


def _dev_manage(args: list[str], *, database_url: str, cwd=None, **extra_env: str):
    env = {key: value for key, value in os.environ.items() if key not in _DROP}
    env.update(DATABASE_URL=database_url, **extra_env)
    return subprocess.run(  # noqa: S603 - the project's own entry point
        [str(ROOT / "dev"), "manage", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_the_readme_shows_its_staff_commands_through_dev_manage():
    names = {shlex.split(command)[2] for command in README_COMMANDS}
    assert {"add_jobseeker", "import_jobseekers", "createsuperuser", "shell"} <= names
    assert "./.venv/bin/python manage.py" not in README


def test_every_readme_command_works_as_written_without_a_secret_key(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrate = _dev_manage(["migrate", "--noinput"], database_url=database_url)
    assert migrate.returncode == 0, migrate.stderr
    (tmp_path / "FILE.csv").write_text(
        "job_seeker_number,name,name_kana,email,birth_date,office\n"
        "13010-00000002,山田花子,ヤマダハナコ,hanako@example.jp,1991-05-02,ハローワーク飯田橋\n",
        encoding="utf-8",
    )
    ran = []
    for command in README_COMMANDS:
        args = shlex.split(command)[2:]
        if args[0] in INTERACTIVE:
            continue
        # Run from the folder that holds the clerk's FILE.csv.
        result = _dev_manage(args, database_url=database_url, cwd=tmp_path)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "SECRET_KEY" not in result.stderr
        ran.append(args[0])
    assert {"add_jobseeker", "import_jobseekers", "shell"} <= set(ran)

    # The interactive ones start on the same settings: createsuperuser asks for its fields,
    # changepassword finds the clerk the README's shell command created.
    created = _dev_manage(
        ["createsuperuser", "--noinput", "--email", "admin@example.jp"],
        database_url=database_url,
    )
    assert created.returncode == 0, created.stderr
    changed = _dev_manage(["changepassword", "clerk@example.jp"], database_url=database_url)
    assert "SECRET_KEY" not in changed.stderr
    assert "clerk@example.jp" in changed.stdout + changed.stderr


def test_an_operators_weak_secret_key_is_still_refused(tmp_path):
    """`./dev manage` gives DEBUG=1 only when no SECRET_KEY is set: an operator's own key is
    checked as production settings check it."""
    result = _dev_manage(
        ["check"], database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", SECRET_KEY="x" * 10
    )
    assert result.returncode != 0
    assert "SECRET_KEY is missing or weak" in result.stderr
