"""A caller in the waiting bridge: announcements, music on hold, reminders, what a
reconnect finds of them, and moves to another unit.

What a waiting caller hears, in this order (``vcta.waiting_media``, read when each step is
decided): the home centre's crisis message if one is set, the unit's welcome, then the unit's
music on hold; every ``reminder_every`` seconds of music, the reminder and the music again.
One announcement at a time, the music stopped while it plays.
"""

from __future__ import annotations

from ari_app.calls import commands as c
from ari_app.calls import inputs as i
from ari_app.calls.journal import JournalKind
from ari_app.calls.step import S, Step, TimerKind
from ari_app.vcta import Move


def play_next(step: Step) -> None:
    """The next announcement, or the music when none is left."""
    call = step.call
    bridge = call.hold_bridge
    if bridge is None or call.state not in (S.WAITING, S.OFFERED):
        return
    if call.playlist:
        media, *rest = call.playlist
        if call.moh_playing:
            step.set(moh_playing=False)
            step.do(c.StopMusic(bridge))
        number = call.playbacks + 1
        playback_id = step.view.names.playback(call.call_id, number)
        step.set(playlist=tuple(rest), playbacks=number, playback_id=playback_id)
        step.do(c.Register(playback_id), c.Play(bridge, media, playback_id))
        return
    music(step)


def music(step: Step) -> None:
    bridge = step.call.hold_bridge
    if not step.call.moh_playing and bridge is not None:
        step.do(c.StartMusic(bridge, step.where.media.music_on_hold))
    else:
        step.arm(TimerKind.REMINDER, step.where.media.reminder_every)


def play_started(step: Step, item: i.Input) -> None:
    """Playing: guard its end. Refused: forget it, go on to the music."""
    assert isinstance(item, i.PlayStarted)
    if item.playback_id != step.call.playback_id:
        return  # no longer the one the caller hears
    if item.ok:
        step.arm(TimerKind.PLAYBACK_GUARD, step.view.settings.playback_guard_s)
        return
    step.do(c.Forget(item.playback_id))
    step.set(playback_id=None)
    music(step)


def music_started(step: Step, item: i.Input) -> None:
    """Music on (or refused: the reminder still comes): the reminder's timer starts."""
    assert isinstance(item, i.MusicStarted)
    step.set(moh_playing=item.ok)
    step.arm(TimerKind.REMINDER, step.where.media.reminder_every)


def playback_ended(step: Step, item: i.Input) -> None:
    """The announcement ended: the next one, or the music."""
    assert isinstance(item, i.PlaybackEnded)
    if item.playback_id != step.call.playback_id:
        return  # stopped by its guard already
    if item.failed:
        # Asterisk skips a missing file in silence: the log is where anyone learns of it.
        step.log(
            c.Severity.WARNING,
            "announcement could not be played: is the sound on Asterisk?",
            media=item.media_uri,
        )
    step.do(c.Forget(item.playback_id))
    step.set(playback_id=None)
    step.disarm(TimerKind.PLAYBACK_GUARD)
    play_next(step)


def reminder_due(step: Step, item: i.Input) -> None:
    """Time for the reminder (unless an announcement plays)."""
    assert isinstance(item, i.ReminderDue)
    if step.fired(TimerKind.REMINDER, item.token) and step.call.playback_id is None:
        step.set(playlist=(*step.call.playlist, step.where.media.reminder))
        play_next(step)


def playback_guard(step: Step, item: i.Input) -> None:
    """An announcement never ended (an unsupported URI gives no PlaybackFinished): stop it,
    go on."""
    assert isinstance(item, i.PlaybackGuardFired)
    playback_id = step.call.playback_id
    if not step.fired(TimerKind.PLAYBACK_GUARD, item.token) or playback_id is None:
        return
    step.set(playback_id=None)
    step.do(c.Forget(playback_id), c.StopPlayback(playback_id))
    step.log(c.Severity.WARNING, "announcement did not finish; going on", playback_id=playback_id)
    play_next(step)


def resume(step: Step, item: i.Input) -> None:
    """Events were lost: ask whether the announcement still plays, or restart the music."""
    assert isinstance(item, i.Resume)
    if step.call.state is S.WAITING:
        step.journal(JournalKind.RECOVERED, reason="waiting; rebuilt from Asterisk")
    resume_media(step)
    if step.call.state is S.WAITING:
        step.do(c.Distribute())


def resume_media(step: Step) -> None:
    # The announcement may have ended unseen: if so, the next one or the music starts now
    # rather than at the playback guard, tens of seconds of silence later.
    playback_id = step.call.playback_id
    if playback_id is not None:
        step.do(c.CheckPlayback(playback_id))
        return
    step.set(moh_playing=False)  # ask again: Asterisk may have lost it (a restart)
    play_next(step)


def playback_checked(step: Step, item: i.Input) -> None:
    """Still playing: its end comes on the new stream. Gone: the next step now."""
    assert isinstance(item, i.PlaybackChecked)
    if item.playback_id != step.call.playback_id or item.playing:
        return
    if item.playing is None:
        # Unknown: the playback guard still ends the wait for it.
        step.log(
            c.Severity.WARNING,
            "could not check an announcement after a reconnect",
            error=item.detail,
        )
        return
    step.do(c.Forget(item.playback_id))
    step.set(playback_id=None)
    step.disarm(TimerKind.PLAYBACK_GUARD)
    step.set(moh_playing=False)
    play_next(step)


def move(step: Step, item: i.Input) -> None:
    """Tell the policy (an overflow move while ringing it refuses: nothing is done), journal
    it, write the new unit on the caller's channel; same waiting bridge."""
    assert isinstance(item, i.MoveCall)
    step.do(c.PolicyMove(item.move))
    journal_move(step, item.move)
    step.do(c.MarkQueue())


def moved(step: Step, item: i.Input) -> None:
    """Moved by a new topology (the policy is rebuilt moved): journal it, write the new
    unit on the caller's channel; same waiting bridge."""
    assert isinstance(item, i.CallMoved)
    journal_move(step, item.move)
    step.do(c.MarkQueue())


def journal_move(step: Step, move: Move) -> None:
    step.journal(
        JournalKind.MOVED,
        reason=move.reason,
        unit=move.to_unit,
        details={"from_unit": move.from_unit, "kind": str(move.kind)},
    )
    step.log(c.Severity.INFO, "call moved", to_unit=move.to_unit, reason=move.reason)
