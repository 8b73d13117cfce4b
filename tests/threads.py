"""Calls run in threads released at the same moment, as concurrent requests or workers are."""

import threading

from django.db import connection


def run_at_once(calls, timeout: float = 60):
    """Runs each call in its own thread, all started together; each thread closes its own
    database connection when done. Returns the results in the order of `calls`, or raises
    the first exception a call raised."""
    start = threading.Barrier(len(calls), timeout=timeout)
    results = [None] * len(calls)
    errors = []

    def run(index, call):
        try:
            start.wait()
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    return results
