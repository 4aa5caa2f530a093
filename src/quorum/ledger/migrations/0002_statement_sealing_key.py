import django.db.models.deletion
from django.db import migrations, models


def name_the_keys(apps, schema_editor):
    """Statements taken in before keys had a history were sealed to their authority's one key."""
    AuthorityKey = apps.get_model("authorities", "AuthorityKey")
    Statement = apps.get_model("ledger", "Statement")
    for key in AuthorityKey.objects.select_related("authority"):
        Statement.objects.filter(
            initiative__scheme=key.authority.scheme,
            member_state=key.authority.member_state,
            sealing_key__isnull=True,
        ).update(sealing_key=key)


class Migration(migrations.Migration):

    dependencies = [
        ('authorities', '0002_key_certificates_and_key_log'),
        ('ledger', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='statement',
            name='sealing_key',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='authorities.authoritykey'),
        ),
        migrations.RunPython(name_the_keys, migrations.RunPython.noop),
    ]
