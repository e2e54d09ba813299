"""What the member roster tells the apps built on it (they connect in their AppConfig.ready)."""

from django.dispatch import Signal

# Sent inside a roster import's transaction after it changed attributions: `plan_id`, and
# `member_ids`, the members whose attribution rows were added or changed. A receiver's writes
# commit with the import or not at all.
attributions_changed = Signal()
