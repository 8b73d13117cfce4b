import pytest
from django.db import connection

from portal.jobseekers import services

HEADER = "job_seeker_number,name,name_kana,email,birth_date,office"


@pytest.fixture(autouse=True)
def _copy_path_on_postgres(monkeypatch):
    """On PostgreSQL every batch, however small, takes the COPY path, so the same tests check
    the set-based SQL there and the ORM path on SQLite."""
    if connection.vendor == "postgresql":
        monkeypatch.setattr(services, "POSTGRES_COPY_MIN_ROWS", 1)


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(lines, encoding="utf-8", header=HEADER) -> path of a CSV file."""
    counter = iter(range(1, 1000))

    def write(lines, *, encoding="utf-8", header=HEADER, name=None):
        path = tmp_path / (name or f"jobseekers-{next(counter)}.csv")
        text = "\r\n".join([header, *lines]) + "\r\n" if header is not None else "\r\n".join(lines)
        path.write_bytes(text.encode(encoding))
        return path

    return write
