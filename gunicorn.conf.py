"""gunicorn's settings for `gunicorn 'app:create_app()'`, read from the folder it starts in.

Only a start-up check: the master reads the settings and the policy packs and reaches the
storage once, before any worker starts, so a bad setting, a broken pack or unreachable storage
ends start-up with one message on stderr and exit status 2. Without it each worker would fail
to boot with a traceback around the message.
"""

from __future__ import annotations

import asyncio


def on_starting(server: object) -> None:
    # Imported here: gunicorn reads this file for every command, and the app is only needed
    # once it starts.
    from bootstrap.build import load_packs, reach_storage
    from bootstrap.settings import app_settings
    from bot.settings import check_binds, exit_cannot_start

    try:
        settings = app_settings()
        # Without an app id the app is for this machine only, whichever way it is started.
        check_binds(settings, getattr(getattr(server, "cfg", None), "bind", None) or [])
        load_packs(settings.policies, settings.policy_dir)
        asyncio.run(reach_storage(settings.storage))
    except Exception as exc:  # a bad setting, a broken pack, no storage: one message, exit 2
        exit_cannot_start(exc)
