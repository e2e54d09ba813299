"""Issue an API token for a system account (for example a hospital's ADT feed)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from knox.models import AuthToken

from organizations.models import User


class Command(BaseCommand):
    help = (
        "Create an API token for USERNAME and print it once; only its hash is stored. Send it as "
        "'Authorization: Token <token>'. Revoke tokens in the operations console (Knox auth tokens)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--expires-in-days", type=int, default=365, help="Default 365; 0 for no expiry.")

    def handle(self, *args, username: str, expires_in_days: int, **options) -> None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        if user.organization_id is None:
            raise CommandError(f"{username!r} belongs to no organization; its token would see nothing.")
        if expires_in_days < 0:
            raise CommandError("--expires-in-days must be 0 or more.")
        expiry = dt.timedelta(days=expires_in_days) if expires_in_days else None
        _, token = AuthToken.objects.create(user=user, expiry=expiry)
        self.stdout.write(token)
