from django.conf import settings

from portal.core.site import site_text


def site(request):
    return {"SITE_NAME": site_text("SITE_NAME"), "MAIL_SENDER": settings.MAIL_SENDER}
