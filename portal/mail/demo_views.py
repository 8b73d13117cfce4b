from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.mail.demo_sink import demo_mailbox_read


@require_GET
def mailbox(request):
    # The URL is only routed when DEMO_MAILBOX is on; this guards a misconfigured include.
    if not (settings.DEBUG and settings.DEMO_MAILBOX):
        raise Http404
    return render(request, "demo/mailbox.html", {"mails": demo_mailbox_read()})
