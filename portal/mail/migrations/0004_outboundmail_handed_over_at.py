from django.db import migrations, models
from django.db.models import F


def sent_mails_were_handed_over_when_sent(apps, schema_editor):
    OutboundMail = apps.get_model("mail", "OutboundMail")
    OutboundMail.objects.filter(sent_at__isnull=False).update(handed_over_at=F("sent_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0003_alter_outboundmail_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboundmail",
            name="handed_over_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="初回引き渡し日時"),
        ),
        migrations.RunPython(sent_mails_were_handed_over_when_sent, migrations.RunPython.noop),
    ]
