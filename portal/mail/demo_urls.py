from django.urls import path

from portal.mail import demo_views

app_name = "demo"

urlpatterns = [path("mailbox/", demo_views.mailbox, name="mailbox")]
