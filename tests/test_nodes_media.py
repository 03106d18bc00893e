"""A crisis message is checked on every Asterisk node: each caller hears it on their own."""

from __future__ import annotations

import contextlib

from ari_app.media_check import NodesMedia
from ari_app.sim import Emulator
from ari_app.stasis import AriConfig

USER, PASSWORD = "ari-app", "secret"


async def test_a_sound_missing_on_one_node_is_refused_naming_that_node() -> None:
    paris = Emulator(users={USER: PASSWORD}, sounds={"crisis/flood": 4.0})
    lyon = Emulator(users={USER: PASSWORD}, sounds={})
    async with contextlib.AsyncExitStack() as stack:
        for emulator in (paris, lyon):
            await emulator.start()
            stack.push_async_callback(emulator.stop)
        media = NodesMedia(
            [
                ("paris", AriConfig(paris.base_url, USER, PASSWORD)),
                ("lyon", AriConfig(lyon.base_url, USER, PASSWORD)),
            ]
        )
        problem = await media.problem("sound:crisis/flood")
        assert problem is not None
        assert problem.startswith("on node lyon: Asterisk has no sound 'crisis/flood'")
        alone = NodesMedia([("paris", AriConfig(paris.base_url, USER, PASSWORD))])
        assert await alone.problem("sound:crisis/flood") is None
        assert await alone.problem("sound:crisis/other") == (
            "Asterisk has no sound 'crisis/other' (GET /sounds lists those it has): "
            "install the file in its sounds directory, or name another"
        )
