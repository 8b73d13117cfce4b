"""The job seeker's own language (JobSeeker.language).

It is written only where the person is known: by a clerk (admin, CSV, command), by a
signed-in page and by a completed key. Pages anyone can use without an account (② and the
reset's first step) never write it: a stranger could set it there, and a write that happens
only for registered addresses would tell those addresses apart."""

from django.conf import settings

from portal.core.clock import clock
from portal.jobseekers.models import JobSeeker


def language_offered(language: str | None) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


def jobseeker_language_set(jobseeker: JobSeeker, language: str | None) -> bool:
    """Keeps `language` as the job seeker's own; True if it changed."""
    if not language_offered(language) or jobseeker.language == language:
        return False
    jobseeker.language = language
    jobseeker.updated_at = clock.now()
    JobSeeker.objects.filter(pk=jobseeker.pk).update(
        language=language, updated_at=jobseeker.updated_at
    )
    return True


def jobseeker_mail_language(jobseeker: JobSeeker | None, fallback: str | None = None) -> str:
    """The language of a mail to `jobseeker`: their own, or `fallback` (the page's) for an
    address the register does not hold."""
    if jobseeker is not None and language_offered(jobseeker.language):
        return jobseeker.language
    return fallback if language_offered(fallback) else settings.LANGUAGE_CODE
