"""When a waiting visitor is sent a new queue frame."""

from chat_server.domain.queue_updates import QUEUE_REFRESH_MS, QueueView, queue_update_due

SHOWN = QueueView(position=3, waiting=10, estimate_s=600, overflow=False)


def test_the_first_view_is_always_sent() -> None:
    """A visitor who has seen nothing yet gets the queue at once."""
    assert queue_update_due(None, SHOWN, 0)


def test_an_unchanged_view_is_never_sent_again() -> None:
    """The same view is not repeated, however long ago it was sent."""
    assert not queue_update_due(SHOWN, SHOWN, 10 * QUEUE_REFRESH_MS)


def test_a_new_place_is_sent_at_once() -> None:
    """Moving up the queue is shown immediately."""
    moved = QueueView(position=2, waiting=9, estimate_s=600, overflow=False)
    assert queue_update_due(SHOWN, moved, 0)


def test_a_callback_offer_is_sent_at_once() -> None:
    """Overflow (offer a callback) flipping either way is shown immediately."""
    flooded = QueueView(position=3, waiting=10, estimate_s=600, overflow=True)
    assert queue_update_due(SHOWN, flooded, 0)
    assert queue_update_due(flooded, SHOWN, 0)


def test_a_longer_queue_behind_waits_for_the_refresh() -> None:
    """A join at the back changes only the total: held until the refresh interval."""
    longer = QueueView(position=3, waiting=11, estimate_s=600, overflow=False)
    assert not queue_update_due(SHOWN, longer, QUEUE_REFRESH_MS - 1)
    assert queue_update_due(SHOWN, longer, QUEUE_REFRESH_MS)


def test_a_new_estimate_alone_waits_for_the_refresh() -> None:
    """An estimate change without a move is batched like the total."""
    sooner = QueueView(position=3, waiting=10, estimate_s=300, overflow=False)
    assert not queue_update_due(SHOWN, sooner, 1_000)
    assert queue_update_due(SHOWN, sooner, QUEUE_REFRESH_MS + 1)
