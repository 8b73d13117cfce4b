"""Staff permission groups.

- 窓口職員 (counter staff): register and view job seekers, view the audit log.
- 管理者 (administrators): every permission that exists when this migration runs. A later
  migration that adds a model should add its permissions to 管理者 as well.

Staff accounts are separate from job seekers: a staff member is a User with is_staff set and
one of these groups."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

COUNTER_STAFF = "窓口職員"
ADMINISTRATORS = "管理者"
COUNTER_STAFF_PERMISSIONS = [
    ("jobseekers", "add_jobseeker"),
    ("jobseekers", "change_jobseeker"),
    ("jobseekers", "view_jobseeker"),
    ("audit", "view_auditevent"),
]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    counter, _ = Group.objects.get_or_create(name=COUNTER_STAFF)
    counter.permissions.add(
        *[
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in COUNTER_STAFF_PERMISSIONS
        ]
    )
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    administrators.permissions.add(*Permission.objects.all())


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=[COUNTER_STAFF, ADMINISTRATORS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("sessions", "0001_initial"),
        ("accounts", "0002_login_lockout_otp_sessions"),
        ("audit", "0001_initial"),
        ("jobseekers", "0002_alter_jobseeker_created_at_and_more"),
        ("mail", "0001_initial"),
        ("registration", "0001_initial"),
        ("ops", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
