"""The permissions of the job seekers' accounts list (the JobSeekerAccount proxy) for the staff
groups, as jobseekers.0003_staff_groups asks of a migration that adds a model: 管理者 gets all
of them, 窓口職員 may view."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

COUNTER_STAFF = "窓口職員"
ADMINISTRATORS = "管理者"


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="accounts", content_type__model="jobseekeraccount"
    )
    for group in Group.objects.filter(name=ADMINISTRATORS):
        group.permissions.add(*permissions)
    for group in Group.objects.filter(name=COUNTER_STAFF):
        group.permissions.add(*permissions.filter(codename="view_jobseekeraccount"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_staff_and_jobseeker_accounts_apart"),
        ("jobseekers", "0003_staff_groups"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
